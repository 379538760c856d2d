include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/database.hcl"
}

# prod: a standby in the second zone, a month of point-in-time recovery, protected.
inputs = {
  instance_class           = "db.m7g.large"
  multi_az                 = true
  allocated_storage_gb     = 50
  max_allocated_storage_gb = 500
  backup_retention_days    = 30
  deletion_protection      = true
  skip_final_snapshot      = false
}
