# In-cluster pieces the fleet needs: the NVIDIA device plugin (nvidia.com/gpu), Cluster Autoscaler
# (GPU nodes from and to zero), KEDA (worker pods from and to zero), the namespace and the Secret
# with the Redis connection.
resource "helm_release" "nvidia_device_plugin" {
  name       = "nvidia-device-plugin"
  repository = "https://nvidia.github.io/k8s-device-plugin"
  chart      = "nvidia-device-plugin"
  version    = var.nvidia_device_plugin_chart_version
  namespace  = "kube-system"

  values = [yamlencode({
    nodeSelector = local.gpu_labels
    tolerations = [{
      key      = local.gpu_taint.key
      operator = "Exists"
      effect   = "NoSchedule"
    }]
  })]

  depends_on = [module.eks]
}

resource "helm_release" "cluster_autoscaler" {
  name       = "cluster-autoscaler"
  repository = "https://kubernetes.github.io/autoscaler"
  chart      = "cluster-autoscaler"
  version    = var.cluster_autoscaler_chart_version
  namespace  = "kube-system"

  values = [yamlencode({
    awsRegion = var.region
    autoDiscovery = {
      clusterName = module.eks.cluster_name
    }
    rbac = {
      serviceAccount = {
        name = "cluster-autoscaler"
        annotations = {
          "eks.amazonaws.com/role-arn" = module.cluster_autoscaler_role.iam_role_arn
        }
      }
    }
    nodeSelector = {
      "headkv.dev/pool" = "system"
    }
    extraArgs = {
      # Workers keep their model in an emptyDir; without this a GPU node would never be removed.
      "skip-nodes-with-local-storage" = "false"
      "scale-down-unneeded-time"      = "5m"
      "scale-down-delay-after-add"    = "5m"
      "expander"                      = "least-waste"
    }
  })]

  depends_on = [module.eks]
}

resource "helm_release" "keda" {
  name             = "keda"
  repository       = "https://kedacore.github.io/charts"
  chart            = "keda"
  version          = var.keda_chart_version
  namespace        = "keda"
  create_namespace = true

  values = [yamlencode({
    nodeSelector = {
      "headkv.dev/pool" = "system"
    }
  })]

  depends_on = [module.eks]
}

resource "kubernetes_namespace" "fleet" {
  metadata {
    name = var.namespace
  }

  depends_on = [module.eks]
}

# REDIS_URL for the coordinator, the workers and the queue-metrics exporter (rediss: TLS). The API
# keys are the operator's, in the Secret headkv-api-keys (docs/deploy.md).
resource "kubernetes_secret" "fleet" {
  metadata {
    name      = "headkv-secrets"
    namespace = kubernetes_namespace.fleet.metadata[0].name
  }

  data = {
    REDIS_URL = "rediss://:${random_password.redis_auth.result}@${aws_elasticache_replication_group.redis.primary_endpoint_address}:6379"
  }
}
