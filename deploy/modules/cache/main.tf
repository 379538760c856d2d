# Redis for the API's shared rate-limit counters: TLS and AUTH on, encrypted at
# rest, in private subnets, reachable only from granted security groups. Clients
# get the whole connection URL (token included) from a Secrets Manager secret.

locals {
  port     = 6379
  failover = var.node_count > 1
}

resource "aws_elasticache_subnet_group" "this" {
  name        = var.name
  description = "${var.name}: private subnets only"
  subnet_ids  = var.subnet_ids
  tags        = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-cache"
  description = "${var.name} Redis: ingress only from granted security groups, no egress"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-cache" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "redis" {
  for_each = toset(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "Redis from ${each.value}"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = each.value
  tags                         = var.tags
}

# Secrets Manager generates the AUTH token. A data source is read on every plan,
# so the token is fixed at creation by ignore_changes below; rotate it by hand
# (docs/deploy.md). It is stored in state, which is why state is encrypted.
data "aws_secretsmanager_random_password" "auth_token" {
  password_length     = 64
  exclude_punctuation = true
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = var.name
  description          = "${var.name}: API rate-limit counters"
  engine               = "redis"
  engine_version       = var.engine_version
  node_type            = var.node_type
  port                 = local.port
  num_cache_clusters   = var.node_count

  automatic_failover_enabled = local.failover
  multi_az_enabled           = local.failover

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [aws_security_group.this.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  auth_token                 = data.aws_secretsmanager_random_password.auth_token.random_password

  auto_minor_version_upgrade = true
  maintenance_window         = "sun:04:30-sun:05:30"
  # Counters are rebuilt within one rate-limit window, so no snapshots.
  snapshot_retention_limit = 0
  apply_immediately        = false

  tags = merge(var.tags, { Name = var.name })

  lifecycle {
    ignore_changes = [auth_token]
  }
}

resource "aws_secretsmanager_secret" "url" {
  #checkov:skip=CKV2_AWS_57:ElastiCache AUTH tokens have no managed rotation; rotating is a documented manual step (docs/deploy.md).
  name                    = "${var.name}/redis-url"
  description             = "${var.name}: rediss:// URL with the AUTH token, injected into the API as FINDATA_REDIS_URL"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "url" {
  secret_id     = aws_secretsmanager_secret.url.id
  secret_string = "rediss://:${data.aws_secretsmanager_random_password.auth_token.random_password}@${aws_elasticache_replication_group.this.primary_endpoint_address}:${local.port}/0"

  lifecycle {
    ignore_changes = [secret_string]
  }
}
