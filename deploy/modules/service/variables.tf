# --- Identity -----------------------------------------------------------------

variable "name" {
  description = "Name prefix for every resource, e.g. \"findata-dev\"."
  type        = string

  validation {
    # The ALB and target group names ("<name>-api") must fit in 32 characters.
    condition     = can(regex("^[a-z][a-z0-9-]{1,26}[a-z0-9]$", var.name))
    error_message = "name must be 3-28 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource (the provider's default tags apply as well)."
  type        = map(string)
  default     = {}
}

# --- Network -----------------------------------------------------------------

variable "vpc_id" {
  description = "VPC of the service (the network module's vpc_id)."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets for the internet-facing load balancer, in at least two zones."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "public_subnet_ids must hold at least two subnets (an ALB spans two zones)."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets for the tasks, in at least two zones."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "private_subnet_ids must hold at least two subnets."
  }
}

variable "ingress_cidr_blocks" {
  description = "IPv4 ranges allowed to reach the load balancer on 443 and 80 (80 only redirects to 443)."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.ingress_cidr_blocks) > 0 && alltrue([for c in var.ingress_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "ingress_cidr_blocks must be a non-empty list of IPv4 CIDRs."
  }
}

# --- TLS and DNS -------------------------------------------------------------

variable "certificate_arn" {
  description = "ARN of an issued ACM certificate, in the service's region, for the HTTPS listener (see docs/deploy.md, DNS and certificate)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "ssl_policy" {
  description = "ALB security policy of the HTTPS listener: TLS 1.3 and 1.2 only by default."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = startswith(var.ssl_policy, "ELBSecurityPolicy-TLS13-") || startswith(var.ssl_policy, "ELBSecurityPolicy-FS-1-2-")
    error_message = "ssl_policy must be a TLS 1.2+ policy (ELBSecurityPolicy-TLS13-* or ELBSecurityPolicy-FS-1-2-*)."
  }
}

variable "dns_zone_id" {
  description = "Route 53 hosted zone to create dns_name in as an alias of the load balancer; null to manage DNS elsewhere."
  type        = string
  default     = null
}

variable "dns_name" {
  description = "Fully qualified name of the API, e.g. api.dev.example.com; used only with dns_zone_id."
  type        = string
  default     = null
}

variable "web_acl_arn" {
  description = "ARN of a WAFv2 web ACL to associate with the load balancer; null for none."
  type        = string
  default     = null
}

variable "access_logs_bucket" {
  description = "S3 bucket for load-balancer access logs (its policy must allow the regional ELB account); null to skip."
  type        = string
  default     = null
}

variable "load_balancer_deletion_protection" {
  description = "Refuse to delete the load balancer until this is turned off. Leave on in production."
  type        = bool
  default     = true
}

# --- Images ------------------------------------------------------------------

variable "image_repository" {
  description = "Registry and namespace the images are pulled from: <image_repository>/findata-api:<image_tag> and .../findata-migrate:<image_tag>."
  type        = string
  default     = "docker.io/findata"

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+$", var.image_repository))
    error_message = "image_repository must look like registry/namespace, e.g. docker.io/findata."
  }
}

variable "image_tag" {
  description = "Image tag to run, as computed by tools/release_tags.py (X.Y.Z on main, X.Y.Z-<branch>.dev.<sha> elsewhere); never a moving tag."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+(-[a-z0-9][a-z0-9.-]*)?$", var.image_tag))
    error_message = "image_tag must be a SemVer tag from the release rule (e.g. 1.2.3 or 1.2.3-feature-x.dev.<sha>), not latest."
  }
}

variable "registry_credentials_secret_arn" {
  description = "Secrets Manager secret with {\"username\",\"password\"} for a private registry (Docker Hub token); null for public images."
  type        = string
  default     = null

  validation {
    condition     = var.registry_credentials_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:", var.registry_credentials_secret_arn))
    error_message = "registry_credentials_secret_arn must be a Secrets Manager secret ARN or null."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture the images are built for: X86_64 or ARM64 (Graviton, about 20% cheaper)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

# --- Sizing and autoscaling --------------------------------------------------

variable "task_cpu" {
  description = "CPU units per API task (1024 = one vCPU)."
  type        = number
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.task_cpu)
    error_message = "task_cpu must be a Fargate size: 256, 512, 1024, 2048 or 4096."
  }
}

variable "task_memory" {
  description = "Memory per API task in MiB; must be a size Fargate allows for task_cpu."
  type        = number
  default     = 1024

  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 30720 && var.task_memory % 512 == 0
    error_message = "task_memory must be a multiple of 512 MiB between 512 and 30720."
  }
}

variable "workers" {
  description = "Hypercorn worker processes per task (FINDATA_WORKERS); about one per vCPU."
  type        = number
  default     = 1

  validation {
    condition     = var.workers >= 1 && var.workers <= 16
    error_message = "workers must be between 1 and 16."
  }
}

variable "min_capacity" {
  description = "Fewest API tasks autoscaling may run (at least 2 spreads the service over both zones)."
  type        = number
  default     = 2

  validation {
    condition     = var.min_capacity >= 1
    error_message = "min_capacity must be at least 1."
  }
}

variable "max_capacity" {
  description = "Most API tasks autoscaling may run; must be at least min_capacity."
  type        = number
  default     = 6

  validation {
    condition     = var.max_capacity >= 1 && var.max_capacity <= 100
    error_message = "max_capacity must be between 1 and 100."
  }
}

variable "cpu_target_percent" {
  description = "Average CPU utilisation autoscaling keeps the tasks at."
  type        = number
  default     = 60

  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "cpu_target_percent must be between 10 and 90."
  }
}

# --- Application -------------------------------------------------------------

variable "environment" {
  description = "Extra FINDATA_* settings for the API container, e.g. { FINDATA_RATE_LIMIT = \"100/minute\" }. Secrets never go here."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for k in keys(var.environment) :
      startswith(k, "FINDATA_") && !can(regex("PASSWORD|SECRET|TOKEN|_KEY$|DATABASE_URL|REDIS_URL", k))
    ])
    error_message = "environment keys must be FINDATA_* settings other than the database/Redis URLs and anything secret (those come from Secrets Manager)."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the container logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the environment's customer-managed KMS key: encrypts the log group and the secrets the tasks read."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

# --- Database and cache (outputs of the database and cache modules) ---------

variable "database_address" {
  description = "Host name of the PostgreSQL instance."
  type        = string
}

variable "database_port" {
  description = "PostgreSQL port."
  type        = number
  default     = 5432
}

variable "database_name" {
  description = "Database the service uses."
  type        = string
}

variable "database_username" {
  description = "User the service connects as."
  type        = string
}

variable "database_password_secret_arn" {
  description = "Secrets Manager secret (RDS-managed, JSON with a \"password\" key) injected as FINDATA_DATABASE_PASSWORD."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:", var.database_password_secret_arn))
    error_message = "database_password_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "database_security_group_id" {
  description = "Security group of the database; the module grants its tasks the PostgreSQL port there."
  type        = string
}

variable "redis_url_secret_arn" {
  description = "Secrets Manager secret holding the rediss:// URL, injected as FINDATA_REDIS_URL."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:", var.redis_url_secret_arn))
    error_message = "redis_url_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "cache_security_group_id" {
  description = "Security group of the cache; the module grants its tasks the Redis port there."
  type        = string
}

variable "cache_port" {
  description = "Redis port."
  type        = number
  default     = 6379
}
