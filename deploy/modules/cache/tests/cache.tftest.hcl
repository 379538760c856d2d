# Plans the module against a mocked AWS provider: no account, no credentials.

mock_provider "aws" {
  # Secrets Manager would return 64 letters and digits; the mock's default is too short for AUTH.
  mock_data "aws_secretsmanager_random_password" {
    defaults = { random_password = "MockToken0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR" }
  }
}

variables {
  name                       = "findata-test"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  allowed_security_group_ids = ["sg-0123456789abcdef0"]
  kms_key_arn                = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  tags                       = { Project = "findata", Environment = "test" }
}

run "encrypted_in_transit_and_at_rest_with_auth" {
  command = plan

  assert {
    condition     = aws_elasticache_replication_group.this.transit_encryption_enabled && aws_elasticache_replication_group.this.auth_token != null
    error_message = "Clients must use TLS and an AUTH token."
  }

  assert {
    condition     = aws_elasticache_replication_group.this.at_rest_encryption_enabled && aws_elasticache_replication_group.this.kms_key_id == var.kms_key_arn
    error_message = "Data at rest must be encrypted with the environment key."
  }

  assert {
    condition     = aws_secretsmanager_secret.url.kms_key_id == var.kms_key_arn
    error_message = "The URL secret must be encrypted with the environment key."
  }

  assert {
    condition     = startswith(nonsensitive(aws_secretsmanager_secret_version.url.secret_string), "rediss://:")
    error_message = "The URL handed to clients must use TLS (rediss://) and carry the token."
  }
}

run "reachable_only_from_granted_security_groups" {
  command = plan

  assert {
    condition     = aws_elasticache_subnet_group.this.subnet_ids == toset(var.subnet_ids)
    error_message = "The cache must live in the private subnets it was given."
  }

  assert {
    condition = alltrue([
      for r in aws_vpc_security_group_ingress_rule.redis :
      r.cidr_ipv4 == null && r.cidr_ipv6 == null && r.referenced_security_group_id != null && r.from_port == 6379 && r.to_port == 6379
    ])
    error_message = "Ingress must be the Redis port from security groups only, never from an address range."
  }

  assert {
    condition     = toset([for r in aws_vpc_security_group_ingress_rule.redis : r.referenced_security_group_id]) == toset(var.allowed_security_group_ids)
    error_message = "Exactly the granted security groups may connect."
  }
}

run "failover_with_more_than_one_node" {
  command = plan

  assert {
    condition     = aws_elasticache_replication_group.this.automatic_failover_enabled && aws_elasticache_replication_group.this.multi_az_enabled
    error_message = "With two nodes (the default) the primary must fail over to a replica in another zone."
  }
}

run "single_node_has_no_failover" {
  command = plan

  variables {
    node_count = 1
  }

  assert {
    condition     = !aws_elasticache_replication_group.this.automatic_failover_enabled && aws_elasticache_replication_group.this.num_cache_clusters == 1
    error_message = "One node cannot fail over; AWS rejects automatic failover without a replica."
  }
}

run "everything_is_tagged" {
  command = plan

  assert {
    condition = alltrue([
      for t in [aws_elasticache_replication_group.this.tags, aws_security_group.this.tags, aws_elasticache_subnet_group.this.tags, aws_secretsmanager_secret.url.tags] :
      t["Project"] == "findata" && t["Environment"] == "test"
    ])
    error_message = "Resources must carry the caller's tags."
  }
}

run "a_cidr_cannot_be_granted" {
  command = plan

  variables {
    allowed_security_group_ids = ["0.0.0.0/0"]
  }

  expect_failures = [var.allowed_security_group_ids]
}
