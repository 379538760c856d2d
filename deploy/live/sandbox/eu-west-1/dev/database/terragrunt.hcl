include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/database.hcl"
}

# dev: smallest instance, no standby, no Enhanced Monitoring, deletable.
inputs = {
  instance_class              = "db.t4g.micro"
  multi_az                    = false
  backup_retention_days       = 7
  monitoring_interval_seconds = 0
  log_retention_days          = 30
  deletion_protection         = false
  skip_final_snapshot         = true
}
