include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/cache.hcl"
}

# dev: one node; losing it only resets rate-limit counters.
inputs = {
  node_count = 1
}
