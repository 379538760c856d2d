# The API on ECS Fargate behind an HTTPS load balancer, scaled on CPU, plus a
# one-off task definition that runs the database migrations before a release.

data "aws_region" "current" {}

locals {
  # Load balancer and orchestrator probe the liveness endpoint: it never touches
  # the store, so a database outage does not make ECS kill healthy tasks.
  health_check_path = "/_healthcheck"
  container_port    = 5000

  api_image     = "${var.image_repository}/findata-api:${var.image_tag}"
  migrate_image = "${var.image_repository}/findata-migrate:${var.image_tag}"

  # No password in the URL: it comes from FINDATA_DATABASE_PASSWORD (a secret). The
  # database refuses plain connections (rds.force_ssl); sslmode=require makes the
  # client insist on TLS too.
  database_url = "postgresql://${var.database_username}@${var.database_address}:${var.database_port}/${var.database_name}?sslmode=require"

  common_environment = {
    FINDATA_ENV          = "production"
    FINDATA_DATABASE_URL = local.database_url
  }

  api_environment = merge(var.environment, local.common_environment, {
    FINDATA_HOST    = "0.0.0.0"
    FINDATA_PORT    = tostring(local.container_port)
    FINDATA_WORKERS = tostring(var.workers)
  })

  database_password_secret = {
    name = "FINDATA_DATABASE_PASSWORD"
    # The RDS-managed secret is JSON; ECS extracts the "password" key.
    valueFrom = "${var.database_password_secret_arn}:password::"
  }

  redis_url_secret = {
    name      = "FINDATA_REDIS_URL"
    valueFrom = var.redis_url_secret_arn
  }

  repository_credentials = var.registry_credentials_secret_arn == null ? {} : {
    repositoryCredentials = { credentialsParameter = var.registry_credentials_secret_arn }
  }

  # Shared by both containers: read-only root with task-scoped scratch space at
  # /tmp (HOME) and /data (the image's working directory), an init process as PID 1
  # so signals reach Hypercorn, and logs to the encrypted group.
  hardened_container = {
    essential              = true
    readonlyRootFilesystem = true
    mountPoints = [
      { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
      { sourceVolume = "data", containerPath = "/data", readOnly = false },
    ]
    linuxParameters = { initProcessEnabled = true }
  }

  log_configuration = {
    logDriver = "awslogs"
    options = {
      awslogs-group         = aws_cloudwatch_log_group.this.name
      awslogs-region        = data.aws_region.current.name
      awslogs-stream-prefix = "ecs"
    }
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  tags = var.tags

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_task_definition" "api" {
  family                   = "${var.name}-api"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  tags                     = var.tags

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  volume {
    name = "data"
  }

  container_definitions = jsonencode([merge(local.hardened_container, local.repository_credentials, {
    name         = "api"
    image        = local.api_image
    portMappings = [{ containerPort = local.container_port, protocol = "tcp" }]
    environment  = [for k in sort(keys(local.api_environment)) : { name = k, value = local.api_environment[k] }]
    secrets      = [local.database_password_secret, local.redis_url_secret]
    # Longer than the API's graceful_timeout (20 s in production) so in-flight requests finish.
    stopTimeout      = 30
    logConfiguration = local.log_configuration
  })])
}

# Run once per release before the service update (docs/deploy.md, step "migrate").
resource "aws_ecs_task_definition" "migrate" {
  family                   = "${var.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  tags                     = var.tags

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  volume {
    name = "data"
  }

  container_definitions = jsonencode([merge(local.hardened_container, local.repository_credentials, {
    name             = "migrate"
    image            = local.migrate_image
    environment      = [for k in sort(keys(local.common_environment)) : { name = k, value = local.common_environment[k] }]
    secrets          = [local.database_password_secret]
    logConfiguration = local.log_configuration
  })])
}

resource "aws_ecs_service" "api" {
  name                               = "api"
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.api.arn
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  desired_count                      = var.min_capacity
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 30
  enable_execute_command             = false
  propagate_tags                     = "SERVICE"
  tags                               = var.tags

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.api.arn
    container_name   = "api"
    container_port   = local.container_port
  }

  # Autoscaling owns the task count after the first deploy.
  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_lb_listener.https, aws_iam_role_policy.execution]
}

resource "aws_appautoscaling_target" "api" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.api.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_capacity
  max_capacity       = var.max_capacity
  tags               = var.tags

  lifecycle {
    precondition {
      condition     = var.max_capacity >= var.min_capacity
      error_message = "max_capacity must be at least min_capacity."
    }
  }
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-api-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.api.service_namespace
  resource_id        = aws_appautoscaling_target.api.resource_id
  scalable_dimension = aws_appautoscaling_target.api.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
