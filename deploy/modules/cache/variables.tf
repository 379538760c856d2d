variable "name" {
  description = "Name prefix for every resource, e.g. \"findata-dev\"; also the replication group ID."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC the cache's security group belongs to (the network module's vpc_id)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets the cache nodes may be placed in (the network module's private_subnet_ids)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must hold at least two subnets in different zones."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups whose members may connect on the Redis port. The service module also grants its own tasks; never a CIDR."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.allowed_security_group_ids : startswith(id, "sg-")])
    error_message = "allowed_security_group_ids must be security group IDs (sg-...)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key for data at rest and the connection-URL secret."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "node_type" {
  description = "ElastiCache node type; the API keeps only rate-limit counters here, so a small node goes far."
  type        = string
  default     = "cache.t4g.micro"

  validation {
    condition     = startswith(var.node_type, "cache.")
    error_message = "node_type must be an ElastiCache node type such as cache.t4g.micro."
  }
}

variable "node_count" {
  description = "Nodes in the replication group: 1 (no failover, for dev) or 2-6 (a primary plus replicas in other zones, automatic failover)."
  type        = number
  default     = 2

  validation {
    condition     = var.node_count >= 1 && var.node_count <= 6 && floor(var.node_count) == var.node_count
    error_message = "node_count must be a whole number between 1 and 6."
  }
}

variable "engine_version" {
  description = "Redis engine version."
  type        = string
  default     = "7.1"
}

variable "tags" {
  description = "Tags added to every resource (the provider's default tags apply as well)."
  type        = map(string)
  default     = {}
}
