output "load_balancer_dns_name" {
  description = "DNS name of the load balancer: point the API's DNS name at it (CNAME, or alias with load_balancer_zone_id)."
  value       = aws_lb.this.dns_name
}

output "load_balancer_zone_id" {
  description = "Route 53 zone ID of the load balancer, for alias records."
  value       = aws_lb.this.zone_id
}

output "cluster_name" {
  description = "ECS cluster name (for aws ecs run-task / update-service)."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "ECS service name of the API."
  value       = aws_ecs_service.api.name
}

output "api_task_definition_arn" {
  description = "Task definition revision the API service runs."
  value       = aws_ecs_task_definition.api.arn
}

output "migrate_task_definition_arn" {
  description = "Task definition to run once per release: findata db migrate."
  value       = aws_ecs_task_definition.migrate.arn
}

output "task_security_group_id" {
  description = "Security group of the tasks; pass it to run-task for the migrate task."
  value       = aws_security_group.tasks.id
}

output "task_subnet_ids" {
  description = "Private subnets the tasks run in; pass them to run-task for the migrate task."
  value       = var.private_subnet_ids
}

output "log_group_name" {
  description = "CloudWatch log group of both containers."
  value       = aws_cloudwatch_log_group.this.name
}

output "api_image" {
  description = "Image reference the API runs."
  value       = local.api_image
}
