variable "name" {
  description = "Name prefix for every resource, e.g. \"findata-dev\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "cidr_block" {
  description = "IPv4 range of the VPC; each subnet gets a /20 carved from it (so a /16 leaves room for growth)."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) <= 18
    error_message = "cidr_block must be an IPv4 CIDR of /18 or larger, to hold four /20 subnets."
  }
}

variable "availability_zones" {
  description = "Exactly two availability zones of the region, e.g. [\"eu-west-1a\", \"eu-west-1b\"]: one public and one private subnet each."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 2 && length(distinct(var.availability_zones)) == 2
    error_message = "availability_zones must name two different zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for both zones (cheaper, for dev) instead of one per zone (survives a zone outage, for prod)."
  type        = bool
  default     = false
}

variable "flow_log_retention_days" {
  description = "Days CloudWatch keeps the VPC flow logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the flow-log group (the kms module's key_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "tags" {
  description = "Tags added to every resource (the provider's default tags apply as well)."
  type        = map(string)
  default     = {}
}
