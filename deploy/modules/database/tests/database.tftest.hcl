# Plans the module against a mocked AWS provider: no account, no credentials.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
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

run "not_reachable_from_the_internet" {
  command = plan

  assert {
    condition     = aws_db_instance.this.publicly_accessible == false
    error_message = "The database must not be publicly accessible."
  }

  assert {
    condition     = aws_db_subnet_group.this.subnet_ids == toset(var.subnet_ids)
    error_message = "The database must live in the private subnets it was given and no others."
  }

  assert {
    condition = alltrue([
      for r in aws_vpc_security_group_ingress_rule.postgres :
      r.cidr_ipv4 == null && r.cidr_ipv6 == null && r.prefix_list_id == null && r.referenced_security_group_id != null
    ])
    error_message = "Ingress must come from security groups only, never from an address range such as 0.0.0.0/0."
  }

  assert {
    condition = alltrue([
      for r in aws_vpc_security_group_ingress_rule.postgres : r.from_port == 5432 && r.to_port == 5432 && r.ip_protocol == "tcp"
    ])
    error_message = "Ingress must open the PostgreSQL port only."
  }

  assert {
    condition     = toset([for r in aws_vpc_security_group_ingress_rule.postgres : r.referenced_security_group_id]) == toset(var.allowed_security_group_ids)
    error_message = "Exactly the granted security groups may connect."
  }
}

run "encrypted_at_rest_and_in_transit" {
  command = plan

  assert {
    condition     = aws_db_instance.this.storage_encrypted && aws_db_instance.this.kms_key_id == var.kms_key_arn
    error_message = "Storage must be encrypted with the environment key."
  }

  assert {
    condition     = anytrue([for p in aws_db_parameter_group.this.parameter : p.name == "rds.force_ssl" && p.value == "1"])
    error_message = "Connections must be forced to use TLS."
  }

  assert {
    condition = (
      aws_db_instance.this.performance_insights_kms_key_id == var.kms_key_arn
      && alltrue([for g in aws_cloudwatch_log_group.exports : g.kms_key_id == var.kms_key_arn])
      && toset(keys(aws_cloudwatch_log_group.exports)) == toset(aws_db_instance.this.enabled_cloudwatch_logs_exports)
    )
    error_message = "Performance Insights and exported logs must be encrypted with the environment key."
  }
}

run "password_generated_by_rds_and_kept_in_secrets_manager" {
  command = plan

  assert {
    condition     = aws_db_instance.this.manage_master_user_password && aws_db_instance.this.master_user_secret_kms_key_id == var.kms_key_arn
    error_message = "RDS must generate the master password and keep it in Secrets Manager, encrypted with the environment key."
  }

  assert {
    condition     = aws_db_instance.this.password == null
    error_message = "No password may be set in configuration (it would land in state)."
  }
}

run "backups_and_safe_deletion_by_default" {
  command = plan

  assert {
    condition     = aws_db_instance.this.backup_retention_period >= 7
    error_message = "Automated backups must be kept at least a week."
  }

  assert {
    condition     = aws_db_instance.this.deletion_protection && !aws_db_instance.this.skip_final_snapshot
    error_message = "By default the instance is deletion-protected and leaves a final snapshot."
  }

  assert {
    condition     = aws_db_instance.this.multi_az
    error_message = "By default the instance keeps a standby in a second zone."
  }
}

run "everything_is_tagged" {
  command = plan

  assert {
    condition = alltrue([
      for t in [aws_db_instance.this.tags, aws_security_group.this.tags, aws_db_subnet_group.this.tags, aws_db_parameter_group.this.tags, aws_cloudwatch_log_group.exports["postgresql"].tags] :
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

run "backups_cannot_be_switched_off" {
  command = plan

  variables {
    backup_retention_days = 0
  }

  expect_failures = [var.backup_retention_days]
}

run "storage_ceiling_below_floor_is_rejected" {
  command = plan

  variables {
    allocated_storage_gb     = 50
    max_allocated_storage_gb = 30
  }

  expect_failures = [aws_db_instance.this]
}
