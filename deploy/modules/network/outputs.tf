output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 range of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Public subnets, one per zone: for the internet-facing load balancer only."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnets, one per zone: for tasks, the database and the cache."
  value       = aws_subnet.private[*].id
}

output "nat_public_ips" {
  description = "Public IPs the private subnets reach the internet from (allow-list these at third parties)."
  value       = aws_eip.nat[*].public_ip
}
