# VPC over the region's two zones. Units override: single_nat_gateway, flow_log_retention_days.
locals {
  region = read_terragrunt_config(find_in_parent_folders("region.hcl")).locals
  env    = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
}

terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//network"
}

dependency "kms" {
  config_path                             = "${get_terragrunt_dir()}/../kms"
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
  mock_outputs = {
    key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  }
}

inputs = {
  cidr_block         = local.env.vpc_cidr
  availability_zones = local.region.availability_zones
  kms_key_arn        = dependency.kms.outputs.key_arn
}
