output "cluster_name" {
  description = "GKE cluster name."
  value       = google_container_cluster.fleet.name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint of the cluster."
  value       = "https://${google_container_cluster.fleet.endpoint}"
}

output "cluster_ca_certificate" {
  description = "Base64 CA certificate of the cluster API, for the kubernetes and helm providers."
  value       = google_container_cluster.fleet.master_auth[0].cluster_ca_certificate
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = "gcloud container clusters get-credentials ${google_container_cluster.fleet.name} --region ${var.region} --project ${var.project_id}"
}

output "batch_bucket" {
  description = "GCS bucket of batch files (prefix files/) and models (prefix models/)."
  value       = google_storage_bucket.batch_files.name
}

output "redis_host" {
  description = "Private address of the Memorystore instance (TLS)."
  value       = google_redis_instance.queue.host
}

output "pod_service_account_email" {
  description = "Google service account of the fleet's pods (Workload Identity)."
  value       = google_service_account.pods.email
}

output "kustomize_env" {
  description = "Contents of deploy/k8s/overlays/gcp/cloud.env for this deployment."
  value = join("\n", [
    "HEADKV_S3_BUCKET=${google_storage_bucket.batch_files.name}",
    "HEADKV_S3_PREFIX=files",
    "HEADKV_S3_ENDPOINT=https://storage.googleapis.com",
    "HEADKV_S3_REGION=auto",
    "AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED",
    "AWS_RESPONSE_CHECKSUM_VALIDATION=WHEN_REQUIRED",
    "HEADKV_MODEL_SOURCE=gs://${google_storage_bucket.batch_files.name}/models/${var.model_name}",
    "HEADKV_MODEL_ID=${var.model_name}",
    "HEADKV_GCP_SERVICE_ACCOUNT=${google_service_account.pods.email}",
    "",
  ])
}
