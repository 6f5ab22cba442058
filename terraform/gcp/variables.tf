variable "project_id" {
  description = "Google Cloud project that holds every resource."
  type        = string
}

variable "name" {
  description = "Name of the fleet: prefix of the cluster, node pools, Redis, bucket and service accounts."
  type        = string
  default     = "headkv"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "region" {
  description = "Region of the cluster, Redis and bucket."
  type        = string
  default     = "us-central1"
}

variable "zones" {
  description = "Zones of the node pools; GPU types are zonal, so list zones that offer gpu_type."
  type        = list(string)
  default     = ["us-central1-a", "us-central1-b"]
}

variable "subnet_cidr" {
  description = "Primary range of the cluster subnet (nodes)."
  type        = string
  default     = "10.42.0.0/20"
}

variable "pods_cidr" {
  description = "Secondary range for pod IPs."
  type        = string
  default     = "10.44.0.0/14"
}

variable "services_cidr" {
  description = "Secondary range for Service IPs."
  type        = string
  default     = "10.48.0.0/20"
}

variable "master_cidr" {
  description = "/28 range of the private control plane endpoint."
  type        = string
  default     = "172.16.0.32/28"
}

variable "release_channel" {
  description = "GKE release channel."
  type        = string
  default     = "REGULAR"
}

variable "system_machine_type" {
  description = "Machine type of the always-on system pool (coordinators, KEDA, exporter)."
  type        = string
  default     = "e2-standard-4"
}

variable "gpu_machine_type" {
  description = "Machine type of the GPU pool; g2 machines come with L4 GPUs, a2 with A100, a3 with H100."
  type        = string
  default     = "g2-standard-8"
}

variable "gpu_type" {
  description = "Accelerator type attached to each GPU node (one per node: the worker requests one)."
  type        = string
  default     = "nvidia-l4"
}

variable "gpu_max_nodes" {
  description = "Upper bound of the GPU pool across its zones; keep it at or above the ScaledObject's maxReplicaCount."
  type        = number
  default     = 8
}

variable "gpu_spot" {
  description = "Use Spot VMs for the GPU pool. Cheaper; a reclaimed node's jobs go back to the queue."
  type        = bool
  default     = false
}

variable "gpu_disk_size_gb" {
  description = "Boot disk of a GPU node: images plus the model volume of its worker."
  type        = number
  default     = 200
}

variable "redis_tier" {
  description = "Memorystore tier: STANDARD_HA (replica with automatic failover) or BASIC."
  type        = string
  default     = "STANDARD_HA"

  validation {
    condition     = contains(["STANDARD_HA", "BASIC"], var.redis_tier)
    error_message = "redis_tier must be STANDARD_HA or BASIC."
  }
}

variable "redis_memory_gb" {
  description = "Memorystore capacity in GB."
  type        = number
  default     = 5
}

variable "batch_file_retention_days" {
  description = "Days before batch input, output and error files under files/ expire from the bucket."
  type        = number
  default     = 30
}

variable "model_name" {
  description = "Folder of the model under models/ in the bucket; workers copy models/<model_name>/ at start."
  type        = string
  default     = "qwen2.5-7b-instruct"
}

variable "namespace" {
  description = "Kubernetes namespace of the fleet; must match the Kustomize overlay (headkv)."
  type        = string
  default     = "headkv"
}

variable "keda_chart_version" {
  description = "Version of the KEDA Helm chart; the ScaledObject needs KEDA 2.16 or newer (metrics-api in Prometheus format)."
  type        = string
  default     = "2.16.1"
}

variable "deletion_protection" {
  description = "Refuse to destroy the cluster; set to false before `terraform destroy`."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels added to every resource that takes them."
  type        = map(string)
  default     = {}
}
