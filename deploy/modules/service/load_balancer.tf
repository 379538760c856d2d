# Internet-facing ALB: HTTPS on 443 with TLS 1.2+, port 80 only redirects.

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_76:No web ACL is created here (see CKV2_AWS_28); a supplied one should include the AWS managed Known Bad Inputs rules.
  #checkov:skip=CKV2_AWS_28:A WAF web ACL is opt-in through var.web_acl_arn (associated below); its rules and cost are a per-deployment choice.
  #checkov:skip=CKV_AWS_91:Access logs are opt-in through var.access_logs_bucket: the bucket and its ELB policy live outside this module.
  name                       = "${var.name}-api"
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.load_balancer.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.load_balancer_deletion_protection
  idle_timeout               = 60
  tags                       = merge(var.tags, { Name = "${var.name}-api" })

  dynamic "access_logs" {
    for_each = var.access_logs_bucket == null ? [] : [var.access_logs_bucket]

    content {
      bucket  = access_logs.value
      prefix  = var.name
      enabled = true
    }
  }
}

resource "aws_lb_target_group" "api" {
  #checkov:skip=CKV_AWS_378:TLS terminates at the load balancer; the hop to the task stays inside the VPC, on a port only the ALB's security group may reach.
  name                 = "${var.name}-api"
  target_type          = "ip"
  protocol             = "HTTP"
  port                 = local.container_port
  vpc_id               = var.vpc_id
  deregistration_delay = 30
  tags                 = var.tags

  health_check {
    path                = local.health_check_path
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn
  tags              = var.tags

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}

resource "aws_lb_listener" "http_redirect" {
  #checkov:skip=CKV_AWS_2:This listener only answers 301 to HTTPS; no content is served over HTTP.
  #checkov:skip=CKV_AWS_103:This listener only answers 301 to HTTPS; TLS policy applies to the HTTPS listener.
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"
  tags              = var.tags

  default_action {
    type = "redirect"

    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_wafv2_web_acl_association" "this" {
  count = var.web_acl_arn == null ? 0 : 1

  resource_arn = aws_lb.this.arn
  web_acl_arn  = var.web_acl_arn
}

resource "aws_route53_record" "api" {
  count = var.dns_zone_id == null ? 0 : 1

  zone_id = var.dns_zone_id
  name    = var.dns_name
  type    = "A"

  alias {
    name                   = aws_lb.this.dns_name
    zone_id                = aws_lb.this.zone_id
    evaluate_target_health = true
  }

  lifecycle {
    precondition {
      condition     = var.dns_name != null
      error_message = "dns_name is required when dns_zone_id is set."
    }
  }
}
