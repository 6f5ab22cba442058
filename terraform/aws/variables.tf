variable "name" {
  description = "Name of the fleet: prefix of the cluster, node groups, Redis, bucket and IAM roles."
  type        = string
  default     = "headkv"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "region" {
  description = "AWS region of every resource."
  type        = string
  default     = "us-east-1"
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.31"
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC created for the cluster."
  type        = string
  default     = "10.42.0.0/16"
}

variable "system_instance_type" {
  description = "Instance type of the always-on system node group (coordinators, KEDA, autoscaler, exporter)."
  type        = string
  default     = "m6i.large"
}

variable "system_node_count" {
  description = "Number of system nodes; two keep the coordinator up through a node replacement."
  type        = number
  default     = 2
}

variable "gpu_instance_types" {
  description = "Instance types of the GPU node group, one GPU each (the worker requests one nvidia.com/gpu)."
  type        = list(string)
  default     = ["g6.2xlarge"]
}

variable "gpu_capacity_type" {
  description = "ON_DEMAND or SPOT for the GPU node group. Spot is cheaper; a reclaimed node's jobs go back to the queue."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.gpu_capacity_type)
    error_message = "gpu_capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "gpu_max_nodes" {
  description = "Upper bound of the GPU node group; keep it at or above the ScaledObject's maxReplicaCount."
  type        = number
  default     = 8
}

variable "gpu_disk_size_gb" {
  description = "Root volume of a GPU node: images plus the model volume of its worker."
  type        = number
  default     = 200
}

variable "redis_node_type" {
  description = "ElastiCache node type of the queue's Redis (primary and one replica)."
  type        = string
  default     = "cache.t4g.medium"
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

variable "nvidia_device_plugin_chart_version" {
  description = "Version of the NVIDIA device plugin Helm chart, which advertises nvidia.com/gpu on GPU nodes."
  type        = string
  default     = "0.17.0"
}

variable "cluster_autoscaler_chart_version" {
  description = "Version of the Cluster Autoscaler Helm chart, which adds and removes GPU nodes."
  type        = string
  default     = "9.43.2"
}

variable "tags" {
  description = "Tags added to every AWS resource."
  type        = map(string)
  default     = {}
}
