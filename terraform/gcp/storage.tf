# Batch input, output and error files (prefix files/, expiring) and model folders (prefix models/,
# kept). The fleet reaches GCS through its S3-compatible XML API with an HMAC key.
resource "google_storage_bucket" "batch_files" {
  project  = var.project_id
  name     = "${var.project_id}-${var.name}-batch-files"
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  lifecycle_rule {
    condition {
      age            = var.batch_file_retention_days
      matches_prefix = ["files/"]
    }
    action {
      type = "Delete"
    }
  }

  labels = var.labels
}
