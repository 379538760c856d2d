include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/kms.hcl"
}

# prod: the module's defaults (30-day deletion window).
inputs = {}
