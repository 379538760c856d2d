# Who may talk to whom: internet -> ALB (443, 80); ALB -> tasks (5000);
# tasks -> database (5432), cache (6379) and HTTPS out (registry, AWS APIs).

resource "aws_security_group" "load_balancer" {
  name        = "${var.name}-alb"
  description = "${var.name} load balancer: HTTPS and redirecting HTTP from the internet"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-alb" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "load_balancer_https" {
  for_each = toset(var.ingress_cidr_blocks)

  security_group_id = aws_security_group.load_balancer.id
  description       = "HTTPS from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
  tags              = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "load_balancer_http" {
  #checkov:skip=CKV_AWS_260:Port 80 on the public load balancer only answers a 301 redirect to HTTPS.
  for_each = toset(var.ingress_cidr_blocks)

  security_group_id = aws_security_group.load_balancer.id
  description       = "HTTP from ${each.value}, redirected to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value
  tags              = var.tags
}

resource "aws_vpc_security_group_egress_rule" "load_balancer_to_tasks" {
  security_group_id            = aws_security_group.load_balancer.id
  description                  = "To the API tasks"
  ip_protocol                  = "tcp"
  from_port                    = local.container_port
  to_port                      = local.container_port
  referenced_security_group_id = aws_security_group.tasks.id
  tags                         = var.tags
}

resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "${var.name} API and migrate tasks: ingress only from the load balancer"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-tasks" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_load_balancer" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "API port from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = local.container_port
  to_port                      = local.container_port
  referenced_security_group_id = aws_security_group.load_balancer.id
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "tasks_to_database" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "PostgreSQL"
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = var.database_security_group_id
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "tasks_to_cache" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "Redis"
  ip_protocol                  = "tcp"
  from_port                    = var.cache_port
  to_port                      = var.cache_port
  referenced_security_group_id = var.cache_security_group_id
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "tasks_https_out" {
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS through NAT: image registry, Secrets Manager, CloudWatch Logs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
  tags              = var.tags
}

# The database and cache modules own their groups; the tasks are granted access
# there from this side, so those modules need not know the service exists.
resource "aws_vpc_security_group_ingress_rule" "database_from_tasks" {
  security_group_id            = var.database_security_group_id
  description                  = "PostgreSQL from ${var.name} tasks"
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = aws_security_group.tasks.id
  tags                         = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "cache_from_tasks" {
  security_group_id            = var.cache_security_group_id
  description                  = "Redis from ${var.name} tasks"
  ip_protocol                  = "tcp"
  from_port                    = var.cache_port
  to_port                      = var.cache_port
  referenced_security_group_id = aws_security_group.tasks.id
  tags                         = var.tags
}
