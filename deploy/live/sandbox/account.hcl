# The AWS account these environments live in. Replace the ID with your sandbox
# account's (docs/deploy.md): the provider refuses to run against any other.
locals {
  account_name = "sandbox"
  account_id   = "123456789012"
}
