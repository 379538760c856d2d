# The API on ECS Fargate. Units override: sizes, autoscaling bounds, deletion
# protection, and (prod) the image tag.
locals {
  env       = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
  repo_root = get_repo_root()

  # The image tag comes from the same rule the image build uses
  # (tools/release_tags.py): X.Y.Z on main, X.Y.Z-<branch>.dev.<sha> elsewhere,
  # for the commit checked out here. Override the branch with FINDATA_DEPLOY_BRANCH
  # on a detached checkout (CI).
  git_sha    = run_cmd("--terragrunt-quiet", "git", "-C", local.repo_root, "rev-parse", "HEAD")
  git_branch = get_env("FINDATA_DEPLOY_BRANCH", run_cmd("--terragrunt-quiet", "git", "-C", local.repo_root, "rev-parse", "--abbrev-ref", "HEAD"))
  image_tag  = run_cmd("--terragrunt-quiet", "python3", "${local.repo_root}/tools/release_tags.py", "--branch", local.git_branch, "--sha", local.git_sha, "--format", "first")
}

terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//service"
}

dependency "kms" {
  config_path                             = "${get_terragrunt_dir()}/../kms"
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
  mock_outputs = {
    key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  }
}

dependency "network" {
  config_path                             = "${get_terragrunt_dir()}/../network"
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
  mock_outputs = {
    vpc_id             = "vpc-00000000000000000"
    public_subnet_ids  = ["subnet-0000000000000000a", "subnet-0000000000000000b"]
    private_subnet_ids = ["subnet-00000000000000001", "subnet-00000000000000002"]
  }
}

dependency "database" {
  config_path                             = "${get_terragrunt_dir()}/../database"
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
  mock_outputs = {
    address                = "findata.mock.eu-west-1.rds.amazonaws.com"
    port                   = 5432
    database_name          = "findata"
    username               = "findata"
    master_user_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-mock"
    security_group_id      = "sg-0000000000000000d"
  }
}

dependency "cache" {
  config_path                             = "${get_terragrunt_dir()}/../cache"
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
  mock_outputs = {
    port              = 6379
    url_secret_arn    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:findata/redis-url-mock"
    security_group_id = "sg-0000000000000000c"
  }
}

inputs = {
  vpc_id             = dependency.network.outputs.vpc_id
  public_subnet_ids  = dependency.network.outputs.public_subnet_ids
  private_subnet_ids = dependency.network.outputs.private_subnet_ids
  kms_key_arn        = dependency.kms.outputs.key_arn

  certificate_arn = local.env.certificate_arn
  dns_zone_id     = local.env.dns_zone_id
  dns_name        = local.env.dns_name

  image_repository = "docker.io/findata"
  image_tag        = local.image_tag

  database_address             = dependency.database.outputs.address
  database_port                = dependency.database.outputs.port
  database_name                = dependency.database.outputs.database_name
  database_username            = dependency.database.outputs.username
  database_password_secret_arn = dependency.database.outputs.master_user_secret_arn
  database_security_group_id   = dependency.database.outputs.security_group_id

  redis_url_secret_arn    = dependency.cache.outputs.url_secret_arn
  cache_security_group_id = dependency.cache.outputs.security_group_id
  cache_port              = dependency.cache.outputs.port

  environment = {
    FINDATA_RATE_LIMIT = "600/minute"
  }
}
