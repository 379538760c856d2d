# Every module wired together the way the Terragrunt units wire them, in one root
# module: `terraform test` plans it against a mocked provider to prove that each
# output fits the input it feeds (names and types). Also a starting point for
# anyone deploying without Terragrunt (add a backend and a provider block); it
# keeps the modules' production-safe defaults (Multi-AZ, deletion protection).

variable "name" {
  description = "Name prefix for every resource."
  type        = string
  default     = "findata-example"
}

variable "image_tag" {
  description = "Image tag to deploy (tools/release_tags.py --format first)."
  type        = string
  default     = "0.1.0"
}

variable "certificate_arn" {
  description = "Issued ACM certificate for the API's DNS name."
  type        = string
  default     = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
}

locals {
  tags = { Project = "findata", Environment = "example" }
}

module "kms" {
  source = "../../modules/kms"

  name = var.name
  tags = local.tags
}

module "network" {
  source = "../../modules/network"

  name               = var.name
  availability_zones = ["eu-west-1a", "eu-west-1b"]
  kms_key_arn        = module.kms.key_arn
  single_nat_gateway = true
  tags               = local.tags
}

module "database" {
  source = "../../modules/database"

  name        = var.name
  vpc_id      = module.network.vpc_id
  subnet_ids  = module.network.private_subnet_ids
  kms_key_arn = module.kms.key_arn
  tags        = local.tags
}

module "cache" {
  source = "../../modules/cache"

  name        = var.name
  vpc_id      = module.network.vpc_id
  subnet_ids  = module.network.private_subnet_ids
  kms_key_arn = module.kms.key_arn
  node_count  = 1
  tags        = local.tags
}

module "service" {
  source = "../../modules/service"

  name               = var.name
  vpc_id             = module.network.vpc_id
  public_subnet_ids  = module.network.public_subnet_ids
  private_subnet_ids = module.network.private_subnet_ids
  kms_key_arn        = module.kms.key_arn
  certificate_arn    = var.certificate_arn
  image_tag          = var.image_tag

  database_address             = module.database.address
  database_port                = module.database.port
  database_name                = module.database.database_name
  database_username            = module.database.username
  database_password_secret_arn = module.database.master_user_secret_arn
  database_security_group_id   = module.database.security_group_id

  redis_url_secret_arn    = module.cache.url_secret_arn
  cache_security_group_id = module.cache.security_group_id
  cache_port              = module.cache.port
  tags                    = local.tags
}

output "load_balancer_dns_name" {
  description = "Point the API's DNS name here."
  value       = module.service.load_balancer_dns_name
}

output "migrate_task_definition_arn" {
  description = "Run once per release before the service update."
  value       = module.service.migrate_task_definition_arn
}
