# No output carries the password: consumers get the secret's ARN and read it at run time.

output "address" {
  description = "Host name of the instance (private DNS)."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Name of the service's database."
  value       = aws_db_instance.this.db_name
}

output "username" {
  description = "Master user name (its password is in the secret named by master_user_secret_arn)."
  value       = aws_db_instance.this.username
}

output "master_user_secret_arn" {
  description = "ARN of the RDS-managed Secrets Manager secret holding the master password (JSON keys username and password)."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "security_group_id" {
  description = "Security group of the instance; grant a client with an ingress rule that references the client's group."
  value       = aws_security_group.this.id
}

output "instance_identifier" {
  description = "RDS instance identifier (for snapshots, console, CLI)."
  value       = aws_db_instance.this.identifier
}
