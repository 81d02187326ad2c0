# MLOps platform, production: EKS cluster mlops-platform-prod in eu-west-1.
# State bucket has versioning on; noncurrent versions are kept for 90 days
# (lifecycle rule on the bucket). Locking uses the DynamoDB table.
description = "MLOps platform, production (EKS mlops-platform-prod, eu-west-1)"

backend {
  bucket               = "mlops-platform-tfstate-123456789012"
  key                  = "mlops-platform/prod/terraform.tfstate"
  region               = "eu-west-1"
  dynamodb_table       = "mlops-platform-tfstate-lock"
  use_lockfile         = false
  workspace            = "default"
  workspace_key_prefix = "env:"
}

# Snapshots: copies of the state outside the state bucket's versioning, in a
# bucket in another region (stateward snapshot create / verify / prune).
snapshots {
  store  = "s3://mlops-platform-tfstate-snapshots-123456789012/mlops-platform/prod"
  region = "eu-central-1"
}

# What `stateward snapshot prune` keeps; the newest healthy snapshot is always kept.
retention {
  keep_last    = 48
  keep_daily   = 30
  keep_weekly  = 12
  keep_monthly = 12
  keep_within  = "7d"
}

# Recovery objectives (`stateward drill` measures recovery against the RTO).
objectives {
  rpo                       = "15m"
  rto                       = "1h"
  min_backup_retention_days = 7
  noncurrent_retention_days = 90
}
