include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/service.hcl"
}

locals {
  repo_root = get_repo_root()
  git_sha   = run_cmd("--terragrunt-quiet", "git", "-C", local.repo_root, "rev-parse", "HEAD")
  # prod runs released images only: the tag the rule gives this version on main
  # (X.Y.Z), whatever branch is checked out. Apply prod from main (docs/deploy.md).
  release_tag = run_cmd("--terragrunt-quiet", "python3", "${local.repo_root}/tools/release_tags.py", "--branch", "main", "--sha", local.git_sha, "--format", "first")
}

# prod: two tasks at least (one per zone), room to scale to ten, protected.
inputs = {
  image_tag                         = local.release_tag
  task_cpu                          = 1024
  task_memory                       = 2048
  workers                           = 2
  min_capacity                      = 2
  max_capacity                      = 10
  load_balancer_deletion_protection = true
}
