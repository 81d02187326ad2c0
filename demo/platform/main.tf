# The demo platform: no provider downloads needed (the sandbox has no network),
# so it is outputs plus a `terraform_remote_state` data source, which is built
# into Terraform. Every apply with new variables writes a new state version.
terraform {
  # Completed by local.s3.tfbackend: `terraform init -backend-config=local.s3.tfbackend`
  backend "s3" {}
}

variable "cluster_version" {
  type    = string
  default = "1.29"
}

variable "node_count" {
  type    = number
  default = 2
}

variable "db_password" {
  type      = string
  default   = "demo-password-do-not-print"
  sensitive = true
}

data "terraform_remote_state" "network" {
  backend = "local"
  config = {
    path = "${path.module}/network.tfstate"
  }
  defaults = {
    cluster_name    = "mlops-platform-dev"
    cluster_version = var.cluster_version
    node_count      = var.node_count
  }
}

output "cluster_version" {
  value = var.cluster_version
}

output "node_count" {
  value = var.node_count
}

output "db_password" {
  value     = var.db_password
  sensitive = true
}

output "vpc_id" {
  value = data.terraform_remote_state.network.outputs.vpc_id
}
