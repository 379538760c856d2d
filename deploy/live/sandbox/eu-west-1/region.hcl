locals {
  aws_region         = "eu-west-1"
  availability_zones = ["eu-west-1a", "eu-west-1b"]
}
