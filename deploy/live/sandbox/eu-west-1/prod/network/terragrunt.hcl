include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/network.hcl"
}

# prod: the module's defaults (a NAT gateway per zone, a year of flow logs).
inputs = {}
