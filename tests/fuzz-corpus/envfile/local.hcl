# Local demo: a local S3 + DynamoDB emulator.
# `scripts/demo` starts the emulator on http://127.0.0.1:5055 and seeds it.
description = "Local demo state on the emulator (started by scripts/demo)"

backend {
  bucket         = "stateward-demo"
  key            = "platform/terraform.tfstate"
  region         = "eu-west-1"
  dynamodb_table = "stateward-demo-locks"

  # Applies to S3, DynamoDB and every other AWS service; implies
  # path-style S3 addressing.
  endpoint_url = "http://127.0.0.1:5055"
}

# Snapshots of the demo state go to a local directory (relative to the
# current directory); `--snapshot-store s3://...` sends them to a bucket instead.
snapshots {
  store = ".stateward/snapshots/local"
}

retention {
  keep_last   = 5
  keep_hourly = 24
  keep_daily  = 7
}

# Recovery objectives (`stateward drill` measures recovery against the RTO).
objectives {
  rpo                       = "1h"
  rto                       = "4h"
  min_backup_retention_days = 7
  noncurrent_retention_days = 90
}
