# No output carries the AUTH token: consumers get the secret's ARN.

output "primary_endpoint_address" {
  description = "Host name of the primary node (TLS only)."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "port" {
  description = "Redis port."
  value       = aws_elasticache_replication_group.this.port
}

output "url_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the full rediss:// URL with the AUTH token."
  value       = aws_secretsmanager_secret.url.arn
}

output "security_group_id" {
  description = "Security group of the cache; grant a client with an ingress rule that references the client's group."
  value       = aws_security_group.this.id
}
