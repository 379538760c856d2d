# Plans the module against a mocked AWS provider: no account, no credentials.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name               = "findata-test"
  availability_zones = ["eu-west-1a", "eu-west-1b"]
  kms_key_arn        = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  tags               = { Project = "findata", Environment = "test" }
}

run "two_zones_with_a_public_and_a_private_subnet_each" {
  command = plan

  assert {
    condition     = length(aws_subnet.public) == 2 && length(aws_subnet.private) == 2
    error_message = "Expected one public and one private subnet per zone."
  }

  assert {
    condition     = toset([for s in aws_subnet.private : s.availability_zone]) == toset(["eu-west-1a", "eu-west-1b"])
    error_message = "Private subnets must span both zones."
  }

  assert {
    condition     = length(setintersection(toset([for s in aws_subnet.public : s.cidr_block]), toset([for s in aws_subnet.private : s.cidr_block]))) == 0
    error_message = "Public and private subnets must not overlap."
  }

  assert {
    condition     = alltrue([for s in concat(aws_subnet.public, aws_subnet.private) : s.map_public_ip_on_launch == false])
    error_message = "No subnet may hand out public IPs automatically."
  }
}

run "private_subnets_leave_through_nat_not_the_internet_gateway" {
  command = plan

  assert {
    condition     = alltrue([for r in aws_route.private_nat : r.destination_cidr_block == "0.0.0.0/0" && r.gateway_id == null])
    error_message = "Private route tables must not route to the internet gateway."
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 2
    error_message = "By default each zone gets its own NAT gateway (survives a zone outage)."
  }
}

run "single_nat_gateway_for_cheap_environments" {
  command = plan

  variables {
    single_nat_gateway = true
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_eip.nat) == 1
    error_message = "single_nat_gateway must create exactly one NAT gateway and one EIP."
  }
}

run "flow_logs_capture_all_traffic_encrypted" {
  command = plan

  assert {
    condition     = aws_flow_log.this.traffic_type == "ALL"
    error_message = "Flow logs must capture accepted and rejected traffic."
  }

  assert {
    condition     = aws_cloudwatch_log_group.flow_logs.kms_key_id == var.kms_key_arn && aws_cloudwatch_log_group.flow_logs.retention_in_days == 365
    error_message = "The flow-log group must be encrypted with the environment key and kept a year by default."
  }
}

run "default_security_group_has_no_rules" {
  command = plan

  assert {
    condition     = length(aws_default_security_group.this.ingress) == 0 && length(aws_default_security_group.this.egress) == 0
    error_message = "The default security group must allow nothing."
  }
}

run "everything_is_tagged" {
  command = plan

  assert {
    condition = alltrue([
      for t in [aws_vpc.this.tags, aws_subnet.private[0].tags, aws_nat_gateway.this[0].tags, aws_cloudwatch_log_group.flow_logs.tags, aws_iam_role.flow_logs.tags] :
      t["Project"] == "findata" && t["Environment"] == "test"
    ])
    error_message = "Resources must carry the caller's tags."
  }
}

run "one_zone_is_rejected" {
  command = plan

  variables {
    availability_zones = ["eu-west-1a"]
  }

  expect_failures = [var.availability_zones]
}
