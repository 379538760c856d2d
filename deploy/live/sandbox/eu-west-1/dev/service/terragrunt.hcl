include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/service.hcl"
}

# dev: runs the image built from the checked-out branch (the tag _envcommon
# computes), one small task, deletable load balancer.
inputs = {
  task_cpu                          = 256
  task_memory                       = 512
  min_capacity                      = 1
  max_capacity                      = 2
  log_retention_days                = 30
  load_balancer_deletion_protection = false
}
