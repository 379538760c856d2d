include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/cache.hcl"
}

# prod: a primary and a replica in the other zone, with automatic failover.
inputs = {
  node_type  = "cache.t4g.small"
  node_count = 2
}
