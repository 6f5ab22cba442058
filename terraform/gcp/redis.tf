# The queue's Redis: Memorystore with AUTH, TLS in transit (server authentication with Google's
# per-instance CA, handed to the pods as REDIS_CA_PEM), hourly RDB snapshots, and noeviction,
# which BullMQ requires (an evicted key is a lost job).
resource "google_redis_instance" "queue" {
  project        = var.project_id
  name           = "${var.name}-queue"
  region         = var.region
  tier           = var.redis_tier
  memory_size_gb = var.redis_memory_gb
  redis_version  = "REDIS_7_2"

  authorized_network      = google_compute_network.fleet.id
  auth_enabled            = true
  transit_encryption_mode = "SERVER_AUTHENTICATION"

  redis_configs = {
    "maxmemory-policy" = "noeviction"
  }

  persistence_config {
    persistence_mode    = "RDB"
    rdb_snapshot_period = "ONE_HOUR"
  }

  labels = var.labels

  depends_on = [google_project_service.required]
}
