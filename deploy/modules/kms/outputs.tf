output "key_arn" {
  description = "ARN of the environment's customer-managed key, for kms_key_arn inputs of the other modules."
  value       = aws_kms_key.this.arn
}

output "alias_name" {
  description = "The key's alias (alias/<name>), for humans and the console."
  value       = aws_kms_alias.this.name
}
