# Plans the module against a mocked AWS provider: no account, no credentials.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name                         = "findata-test"
  vpc_id                       = "vpc-0123456789abcdef0"
  public_subnet_ids            = ["subnet-0public0000000000a", "subnet-0public0000000000b"]
  private_subnet_ids           = ["subnet-0private000000000a", "subnet-0private000000000b"]
  certificate_arn              = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  image_tag                    = "1.2.3"
  kms_key_arn                  = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  database_address             = "findata-test.abc123.eu-west-1.rds.amazonaws.com"
  database_name                = "findata"
  database_username            = "findata"
  database_password_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0000-AbCdEf"
  database_security_group_id   = "sg-0database00000000"
  redis_url_secret_arn         = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:findata-test/redis-url-AbCdEf"
  cache_security_group_id      = "sg-0cache0000000000"
  min_capacity                 = 2
  max_capacity                 = 5
  tags                         = { Project = "findata", Environment = "test" }
}

run "load_balancer_health_check_probes_the_liveness_endpoint" {
  command = plan

  assert {
    condition     = aws_lb_target_group.api.health_check[0].path == "/_healthcheck" && aws_lb_target_group.api.health_check[0].matcher == "200"
    error_message = "The target group must expect 200 from /_healthcheck."
  }

  assert {
    condition     = aws_lb_target_group.api.port == 5000 && aws_lb_target_group.api.target_type == "ip"
    error_message = "Fargate tasks are registered by IP on the API port 5000."
  }
}

run "https_with_modern_tls_and_http_only_redirects" {
  command = plan

  assert {
    condition     = aws_lb_listener.https.port == 443 && aws_lb_listener.https.protocol == "HTTPS" && aws_lb_listener.https.certificate_arn == var.certificate_arn
    error_message = "The HTTPS listener must serve the given certificate on 443."
  }

  assert {
    condition     = startswith(aws_lb_listener.https.ssl_policy, "ELBSecurityPolicy-TLS13-")
    error_message = "The HTTPS listener must allow TLS 1.2/1.3 only."
  }

  assert {
    condition = (
      aws_lb_listener.http_redirect.port == 80
      && aws_lb_listener.http_redirect.default_action[0].type == "redirect"
      && aws_lb_listener.http_redirect.default_action[0].redirect[0].protocol == "HTTPS"
      && aws_lb_listener.http_redirect.default_action[0].redirect[0].status_code == "HTTP_301"
    )
    error_message = "Port 80 must only redirect to HTTPS."
  }

  assert {
    condition     = aws_lb.this.drop_invalid_header_fields && aws_lb.this.enable_deletion_protection && !aws_lb.this.internal
    error_message = "The ALB is internet-facing, drops malformed headers and is deletion-protected by default."
  }
}

run "security_groups_chain_internet_to_alb_to_tasks_to_data" {
  command = plan

  assert {
    condition = (
      toset([for r in aws_vpc_security_group_ingress_rule.load_balancer_https : r.from_port]) == toset([443])
      && toset([for r in aws_vpc_security_group_ingress_rule.load_balancer_http : r.from_port]) == toset([80])
    )
    error_message = "The internet may reach the load balancer on 443 and 80 only."
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.tasks_from_load_balancer.from_port == 5000
      && aws_vpc_security_group_ingress_rule.tasks_from_load_balancer.to_port == 5000
      && aws_vpc_security_group_ingress_rule.tasks_from_load_balancer.cidr_ipv4 == null
    )
    error_message = "Tasks accept only the API port, and only from the load balancer's group."
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.database_from_tasks.security_group_id == var.database_security_group_id
      && aws_vpc_security_group_ingress_rule.database_from_tasks.from_port == 5432
      && aws_vpc_security_group_ingress_rule.database_from_tasks.to_port == 5432
      && aws_vpc_security_group_ingress_rule.database_from_tasks.cidr_ipv4 == null
    )
    error_message = "The database must be opened on 5432 to the tasks' group only, never to an address range."
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.cache_from_tasks.security_group_id == var.cache_security_group_id
      && aws_vpc_security_group_ingress_rule.cache_from_tasks.from_port == 6379
      && aws_vpc_security_group_ingress_rule.cache_from_tasks.cidr_ipv4 == null
    )
    error_message = "The cache must be opened on 6379 to the tasks' group only."
  }

  assert {
    condition = (
      aws_ecs_service.api.network_configuration[0].assign_public_ip == false
      && aws_ecs_service.api.network_configuration[0].subnets == toset(var.private_subnet_ids)
    )
    error_message = "Tasks must run in the private subnets without public IPs."
  }

  assert {
    condition     = toset(aws_lb.this.subnets) == toset(var.public_subnet_ids)
    error_message = "Only the load balancer lives in the public subnets."
  }
}

run "autoscaling_on_cpu_between_the_bounds" {
  command = plan

  assert {
    condition     = aws_appautoscaling_target.api.min_capacity == 2 && aws_appautoscaling_target.api.max_capacity == 5
    error_message = "Autoscaling must use the configured bounds."
  }

  assert {
    condition = (
      aws_appautoscaling_policy.cpu.target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].predefined_metric_type == "ECSServiceAverageCPUUtilization"
      && aws_appautoscaling_policy.cpu.target_tracking_scaling_policy_configuration[0].target_value == 60
    )
    error_message = "Autoscaling must track average CPU at the target."
  }

  assert {
    condition     = aws_ecs_service.api.desired_count == 2
    error_message = "The service starts at the lower bound."
  }
}

run "inverted_autoscaling_bounds_are_rejected" {
  command = plan

  variables {
    min_capacity = 4
    max_capacity = 2
  }

  expect_failures = [aws_appautoscaling_target.api]
}

run "container_gets_its_password_from_secrets_manager_never_plain_env" {
  command = plan

  assert {
    condition = (
      length([for c in jsondecode(aws_ecs_task_definition.api.container_definitions) : c if c.name == "api"]) == 1
    )
    error_message = "The API task must define the api container."
  }

  assert {
    condition = alltrue([
      for e in jsondecode(aws_ecs_task_definition.api.container_definitions)[0].environment :
      !can(regex("PASSWORD|REDIS_URL", e.name)) && !can(regex("://[^/@]*:[^/@]*@", e.value))
    ])
    error_message = "No password, token or credential-bearing URL may be in plain environment variables."
  }

  assert {
    condition = contains(
      [for s in jsondecode(aws_ecs_task_definition.api.container_definitions)[0].secrets : "${s.name}=${s.valueFrom}"],
      "FINDATA_DATABASE_PASSWORD=${var.database_password_secret_arn}:password::"
    )
    error_message = "FINDATA_DATABASE_PASSWORD must come from the password key of the RDS-managed secret."
  }

  assert {
    condition = contains(
      [for s in jsondecode(aws_ecs_task_definition.api.container_definitions)[0].secrets : "${s.name}=${s.valueFrom}"],
      "FINDATA_REDIS_URL=${var.redis_url_secret_arn}"
    )
    error_message = "FINDATA_REDIS_URL must come from the cache's secret."
  }

  assert {
    condition = (
      { for e in jsondecode(aws_ecs_task_definition.api.container_definitions)[0].environment : e.name => e.value }["FINDATA_ENV"] == "production"
      && { for e in jsondecode(aws_ecs_task_definition.api.container_definitions)[0].environment : e.name => e.value }["FINDATA_DATABASE_URL"] == "postgresql://findata@findata-test.abc123.eu-west-1.rds.amazonaws.com:5432/findata?sslmode=require"
    )
    error_message = "The API runs the production settings against the password-less database URL."
  }
}

run "containers_run_the_tagged_images_hardened" {
  command = plan

  assert {
    condition = (
      jsondecode(aws_ecs_task_definition.api.container_definitions)[0].image == "docker.io/findata/findata-api:1.2.3"
      && jsondecode(aws_ecs_task_definition.migrate.container_definitions)[0].image == "docker.io/findata/findata-migrate:1.2.3"
    )
    error_message = "The service runs findata-api and the one-off task findata-migrate, both at image_tag."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.api.container_definitions)[0].portMappings[0].containerPort == 5000
    error_message = "The API listens on 5000."
  }

  assert {
    condition = alltrue([
      for d in [aws_ecs_task_definition.api.container_definitions, aws_ecs_task_definition.migrate.container_definitions] :
      jsondecode(d)[0].readonlyRootFilesystem && jsondecode(d)[0].logConfiguration.logDriver == "awslogs"
    ])
    error_message = "Both containers run with a read-only root and ship logs to CloudWatch."
  }

  assert {
    condition     = !can(jsondecode(aws_ecs_task_definition.api.container_definitions)[0].repositoryCredentials)
    error_message = "Public images need no registry credentials."
  }
}

run "private_registry_credentials_are_read_from_a_secret" {
  command = plan

  variables {
    registry_credentials_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dockerhub-AbCdEf"
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.api.container_definitions)[0].repositoryCredentials.credentialsParameter == var.registry_credentials_secret_arn
    error_message = "The registry secret must be handed to ECS as repositoryCredentials."
  }

  assert {
    condition     = contains(flatten([for s in data.aws_iam_policy_document.execution.statement : s.resources]), var.registry_credentials_secret_arn)
    error_message = "The execution role must be allowed to read the registry secret."
  }
}

run "execution_role_names_every_resource" {
  command = plan

  # Make the log group's ARN known at plan time, as it is in a real apply.
  override_resource {
    target          = aws_cloudwatch_log_group.this
    override_during = plan
    values          = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/findata-test" }
  }

  assert {
    condition     = !contains(flatten([for s in data.aws_iam_policy_document.execution.statement : s.resources]), "*")
    error_message = "The execution role must not grant on \"*\"."
  }

  assert {
    condition     = toset(flatten([for s in data.aws_iam_policy_document.execution.statement : s.actions if s.sid == "ReadOwnSecrets"])) == toset(["secretsmanager:GetSecretValue"])
    error_message = "The execution role may only read secrets, not change them."
  }
}

run "logs_are_encrypted_and_everything_is_tagged" {
  command = plan

  assert {
    condition     = aws_cloudwatch_log_group.this.kms_key_id == var.kms_key_arn && aws_cloudwatch_log_group.this.retention_in_days == 365
    error_message = "Container logs must be encrypted with the environment key and kept a year by default."
  }

  assert {
    condition = alltrue([
      for t in [aws_ecs_cluster.this.tags, aws_ecs_service.api.tags, aws_ecs_task_definition.api.tags, aws_lb.this.tags, aws_lb_target_group.api.tags, aws_security_group.tasks.tags, aws_iam_role.execution.tags, aws_cloudwatch_log_group.this.tags] :
      t["Project"] == "findata" && t["Environment"] == "test"
    ])
    error_message = "Resources must carry the caller's tags."
  }
}

run "moving_tags_are_rejected" {
  command = plan

  variables {
    image_tag = "latest"
  }

  expect_failures = [var.image_tag]
}

run "secrets_cannot_be_passed_as_plain_environment" {
  command = plan

  variables {
    environment = { FINDATA_DATABASE_PASSWORD = "hunter2" }
  }

  expect_failures = [var.environment]
}
