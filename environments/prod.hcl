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

# Recovery objectives (`stateward drill` measures recovery against the RTO).
objectives {
  rpo                       = "15m"
  rto                       = "1h"
  min_backup_retention_days = 7
  noncurrent_retention_days = 90
}
