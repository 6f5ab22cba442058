# The fleet's pods act as this service account: through Workload Identity (model downloads with
# gcloud) and through its HMAC key (the S3 client of the coordinator and workers).
resource "google_service_account" "pods" {
  project      = var.project_id
  account_id   = "${var.name}-pods"
  display_name = "HeadKV fleet pods"
}

resource "google_storage_bucket_iam_member" "pods" {
  bucket = google_storage_bucket.batch_files.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.pods.email}"
}

resource "google_service_account_iam_member" "workload_identity" {
  service_account_id = google_service_account.pods.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.namespace}/headkv]"

  depends_on = [google_container_cluster.fleet]
}

resource "google_storage_hmac_key" "pods" {
  project               = var.project_id
  service_account_email = google_service_account.pods.email
}
