# MLOps platform root module (Terraform 1.0 style, partial backend config).
# Initialise with:
#   terraform init -backend-config=prod.s3.tfbackend
terraform {
  required_version = ">= 1.0.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 4.67"
    }
  }

  # bucket, key and dynamodb_table come from the *.s3.tfbackend files.
  backend "s3" {
    region  = "eu-west-1"
    encrypt = true
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project     = "mlops-platform"
      environment = var.environment
    }
  }
}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "19.21.0"

  cluster_name    = "mlops-platform-${var.environment}"
  cluster_version = "1.27"
  vpc_id          = var.vpc_id
  subnet_ids      = var.private_subnet_ids
}
