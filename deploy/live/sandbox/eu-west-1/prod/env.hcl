# Replace the certificate ARN (and DNS) with your own (docs/deploy.md, "DNS and certificate").
locals {
  environment     = "prod"
  vpc_cidr        = "10.41.0.0/16"
  certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-0000000prod0"
  dns_zone_id     = null
  dns_name        = null
}
