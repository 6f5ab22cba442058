# In-cluster pieces the fleet needs beyond what GKE manages (driver, device plugin, node
# autoscaling): KEDA (worker pods from and to zero), the namespace and the Secret with the Redis
# connection and the storage key.
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

  depends_on = [google_container_node_pool.system]
}

resource "kubernetes_namespace" "fleet" {
  metadata {
    name = var.namespace
  }

  depends_on = [google_container_node_pool.system]
}

# REDIS_URL (rediss: TLS) and its CA, and the HMAC key in the variables the AWS SDK reads. The API
# keys are the operator's, in the Secret headkv-api-keys (docs/deploy.md).
resource "kubernetes_secret" "fleet" {
  metadata {
    name      = "headkv-secrets"
    namespace = kubernetes_namespace.fleet.metadata[0].name
  }

  data = {
    REDIS_URL             = "rediss://:${google_redis_instance.queue.auth_string}@${google_redis_instance.queue.host}:${google_redis_instance.queue.port}"
    REDIS_CA_PEM          = google_redis_instance.queue.server_ca_certs[0].cert
    AWS_ACCESS_KEY_ID     = google_storage_hmac_key.pods.access_id
    AWS_SECRET_ACCESS_KEY = google_storage_hmac_key.pods.secret
  }
}
