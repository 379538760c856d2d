# Plans the module against a mocked AWS provider: no account, no credentials.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name = "findata-test"
  tags = { Project = "findata", Environment = "test" }
}

run "key_rotates_and_is_tagged" {
  command = plan

  assert {
    condition     = aws_kms_key.this.enable_key_rotation
    error_message = "The key must rotate yearly."
  }

  assert {
    condition     = aws_kms_key.this.deletion_window_in_days == 30
    error_message = "Scheduled deletion must wait the full 30 days by default."
  }

  assert {
    condition     = aws_kms_key.this.tags["Project"] == "findata" && aws_kms_key.this.tags["Name"] == "findata-test"
    error_message = "The key must carry the caller's tags and a Name."
  }

  assert {
    condition     = aws_kms_alias.this.name == "alias/findata-test"
    error_message = "The alias must be alias/<name>."
  }
}

run "logs_service_is_limited_to_this_accounts_log_groups" {
  command = plan

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.key.statement :
      anytrue([for p in s.principals : contains(p.identifiers, "logs.eu-west-1.amazonaws.com")])
      && anytrue([for c in s.condition : c.variable == "kms:EncryptionContext:aws:logs:arn" && alltrue([for v in c.values : startswith(v, "arn:aws:logs:eu-west-1:123456789012:")])])
    ])
    error_message = "CloudWatch Logs may use the key only for this account's log groups in this region."
  }
}

run "short_deletion_window_is_rejected" {
  command = plan

  variables {
    deletion_window_in_days = 3
  }

  expect_failures = [var.deletion_window_in_days]
}
