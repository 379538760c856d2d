include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/network.hcl"
}

# dev: one NAT gateway for both zones, a month of flow logs.
inputs = {
  single_nat_gateway      = true
  flow_log_retention_days = 30
}
