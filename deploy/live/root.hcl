# Configuration every unit includes: where its state lives, how its AWS provider
# is configured, and the inputs every module takes (name, tags).
#
# Layout: <account>/account.hcl, <account>/<region>/region.hcl,
# <account>/<region>/<env>/env.hcl (locals only), one unit per component below
# that, each including _envcommon/<component>.hcl for what all environments share.

locals {
  account = read_terragrunt_config(find_in_parent_folders("account.hcl")).locals
  region  = read_terragrunt_config(find_in_parent_folders("region.hcl")).locals
  env     = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals

  name = "findata-${local.env.environment}"
  tags = {
    Project     = "findata"
    Environment = local.env.environment
    ManagedBy   = "terragrunt"
    Source      = "deploy/live/${path_relative_to_include()}"
  }
}

# State: one object per unit in a versioned, encrypted, private bucket per account
# and region, with a DynamoDB lock table. Terragrunt creates both on first use
# with the settings below (docs/deploy.md, "Bootstrap").
remote_state {
  backend = "s3"

  generate = {
    path      = "backend.tf"
    if_exists = "overwrite_terragrunt"
  }

  config = {
    bucket         = "findata-tfstate-${local.account.account_id}-${local.region.aws_region}"
    key            = "${path_relative_to_include()}/terraform.tfstate"
    region         = local.region.aws_region
    encrypt        = true
    dynamodb_table = "findata-tfstate-lock"

    # Only used when Terragrunt creates the bucket and table.
    skip_bucket_versioning             = false
    skip_bucket_ssencryption           = false
    skip_bucket_root_access            = false
    skip_bucket_enforced_tls           = false
    skip_bucket_public_access_blocking = false
    enable_lock_table_ssencryption     = true
    s3_bucket_tags                     = { Project = "findata", ManagedBy = "terragrunt" }
    dynamodb_table_tags                = { Project = "findata", ManagedBy = "terragrunt" }
  }
}

# The provider refuses to touch any account but this one, and tags everything.
generate "provider" {
  path      = "provider.tf"
  if_exists = "overwrite_terragrunt"
  contents  = <<-EOF
    provider "aws" {
      region              = "${local.region.aws_region}"
      allowed_account_ids = ["${local.account.account_id}"]

      default_tags {
        tags = ${jsonencode(local.tags)}
      }
    }
  EOF
}

inputs = {
  name = local.name
  tags = local.tags
}
