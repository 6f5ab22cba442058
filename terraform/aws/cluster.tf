locals {
  gpu_labels = {
    "headkv.dev/pool" = "gpu"
  }
  gpu_taint = {
    key    = "nvidia.com/gpu"
    value  = "true"
    effect = "NO_SCHEDULE"
  }
}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 20.31"

  cluster_name    = var.name
  cluster_version = var.kubernetes_version

  cluster_endpoint_public_access           = true
  enable_cluster_creator_admin_permissions = true
  enable_irsa                              = true

  vpc_id     = module.vpc.vpc_id
  subnet_ids = module.vpc.private_subnets

  eks_managed_node_groups = {
    system = {
      ami_type       = "AL2023_x86_64_STANDARD"
      instance_types = [var.system_instance_type]
      min_size       = var.system_node_count
      max_size       = var.system_node_count + 1
      desired_size   = var.system_node_count
      labels = {
        "headkv.dev/pool" = "system"
      }
    }

    # Scales between zero and gpu_max_nodes: Cluster Autoscaler adds a node when a worker pod is
    # pending and removes it once the node has been empty for scale-down-unneeded-time.
    gpu = {
      ami_type       = "AL2023_x86_64_NVIDIA"
      instance_types = var.gpu_instance_types
      capacity_type  = var.gpu_capacity_type
      min_size       = 0
      max_size       = var.gpu_max_nodes
      desired_size   = 0
      labels         = local.gpu_labels
      taints = {
        gpu = local.gpu_taint
      }
      block_device_mappings = {
        root = {
          device_name = "/dev/xvda"
          ebs = {
            volume_size           = var.gpu_disk_size_gb
            volume_type           = "gp3"
            delete_on_termination = true
          }
        }
      }
    }
  }

  tags = var.tags
}

# From zero nodes there is no node to read labels, taints or GPUs from: Cluster Autoscaler reads
# them from these tags on the node group's Auto Scaling group to know that a new node fits a worker.
locals {
  gpu_node_template_tags = merge(
    { for key, value in local.gpu_labels : "k8s.io/cluster-autoscaler/node-template/label/${key}" => value },
    {
      "k8s.io/cluster-autoscaler/node-template/taint/${local.gpu_taint.key}" = "${local.gpu_taint.value}:NoSchedule"
      "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"     = "1"
    },
  )
}

resource "aws_autoscaling_group_tag" "gpu_node_template" {
  for_each = local.gpu_node_template_tags

  autoscaling_group_name = one(module.eks.eks_managed_node_groups["gpu"].node_group_autoscaling_group_names)

  tag {
    key                 = each.key
    value               = each.value
    propagate_at_launch = false
  }
}
