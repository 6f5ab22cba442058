# Example root for terraform/aws: one HeadKV fleet in us-east-1.
#   terraform init && terraform apply
# Then follow docs/deploy.md from "Deploy the fleet".
terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.35"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 2.17"
    }
  }
}

variable "region" {
  description = "AWS region of the fleet."
  type        = string
  default     = "us-east-1"
}

provider "aws" {
  region = var.region
}

# The kubernetes and helm providers reach the new cluster with a token from the AWS CLI.
provider "kubernetes" {
  host                   = module.fleet.cluster_endpoint
  cluster_ca_certificate = base64decode(module.fleet.cluster_certificate_authority_data)

  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.fleet.cluster_name, "--region", var.region]
  }
}

provider "helm" {
  kubernetes {
    host                   = module.fleet.cluster_endpoint
    cluster_ca_certificate = base64decode(module.fleet.cluster_certificate_authority_data)

    exec {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.fleet.cluster_name, "--region", var.region]
    }
  }
}

module "fleet" {
  source = "../../aws"

  name               = "headkv"
  region             = var.region
  gpu_instance_types = ["g6.2xlarge"]
  gpu_max_nodes      = 8

  tags = {
    project = "headkv-fleet"
  }
}

output "kubeconfig_command" {
  description = "Run this to point kubectl at the cluster."
  value       = module.fleet.kubeconfig_command
}

output "batch_bucket" {
  description = "Upload the model folder to s3://<bucket>/models/<model_name>/."
  value       = module.fleet.batch_bucket
}

output "kustomize_env" {
  description = "Write to deploy/k8s/overlays/aws/cloud.env."
  value       = module.fleet.kustomize_env
}
