# PostgreSQL in the private subnets. Units override: sizes, multi_az, backups,
# deletion protection. The service unit grants its tasks access.
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//database"
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
    private_subnet_ids = ["subnet-00000000000000001", "subnet-00000000000000002"]
  }
}

inputs = {
  vpc_id      = dependency.network.outputs.vpc_id
  subnet_ids  = dependency.network.outputs.private_subnet_ids
  kms_key_arn = dependency.kms.outputs.key_arn
}
