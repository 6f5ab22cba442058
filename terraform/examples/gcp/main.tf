# Example root for terraform/gcp: one HeadKV fleet in us-central1.
#   terraform init && terraform apply -var project_id=YOUR_PROJECT
# Then follow docs/deploy.md from "Deploy the fleet".
terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.14"
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

variable "project_id" {
  description = "Google Cloud project of the fleet."
  type        = string
}

variable "region" {
  description = "Region of the fleet."
  type        = string
  default     = "us-central1"
}

provider "google" {
  project = var.project_id
  region  = var.region
}

data "google_client_config" "current" {}

# The kubernetes and helm providers reach the new cluster with the caller's access token.
provider "kubernetes" {
  host                   = module.fleet.cluster_endpoint
  cluster_ca_certificate = base64decode(module.fleet.cluster_ca_certificate)
  token                  = data.google_client_config.current.access_token
}

provider "helm" {
  kubernetes {
    host                   = module.fleet.cluster_endpoint
    cluster_ca_certificate = base64decode(module.fleet.cluster_ca_certificate)
    token                  = data.google_client_config.current.access_token
  }
}

module "fleet" {
  source = "../../gcp"

  project_id       = var.project_id
  region           = var.region
  zones            = ["us-central1-a", "us-central1-b"]
  gpu_machine_type = "g2-standard-8"
  gpu_type         = "nvidia-l4"
  gpu_max_nodes    = 8

  labels = {
    project = "headkv-fleet"
  }
}

output "kubeconfig_command" {
  description = "Run this to point kubectl at the cluster."
  value       = module.fleet.kubeconfig_command
}

output "batch_bucket" {
  description = "Upload the model folder to gs://<bucket>/models/<model_name>/."
  value       = module.fleet.batch_bucket
}

output "kustomize_env" {
  description = "Write to deploy/k8s/overlays/gcp/cloud.env."
  value       = module.fleet.kustomize_env
}
