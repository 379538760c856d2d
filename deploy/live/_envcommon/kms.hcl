# The environment's customer-managed key. Units override: deletion_window_in_days.
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//kms"
}
