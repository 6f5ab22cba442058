output "cluster_name" {
  description = "EKS cluster name."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint of the cluster."
  value       = module.eks.cluster_endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the cluster API, for the kubernetes and helm providers."
  value       = module.eks.cluster_certificate_authority_data
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${module.eks.cluster_name}"
}

output "batch_bucket" {
  description = "S3 bucket of batch files (prefix files/) and models (prefix models/)."
  value       = aws_s3_bucket.batch_files.bucket
}

output "redis_primary_endpoint" {
  description = "Primary endpoint of the ElastiCache replication group (TLS, port 6379)."
  value       = aws_elasticache_replication_group.redis.primary_endpoint_address
}

output "pod_role_arn" {
  description = "IAM role of the fleet's pods (IRSA), for the headkv service account."
  value       = module.pod_role.iam_role_arn
}

output "kustomize_env" {
  description = "Contents of deploy/k8s/overlays/aws/cloud.env for this deployment."
  value = join("\n", [
    "HEADKV_S3_BUCKET=${aws_s3_bucket.batch_files.bucket}",
    "HEADKV_S3_PREFIX=files",
    "HEADKV_S3_REGION=${var.region}",
    "HEADKV_MODEL_SOURCE=s3://${aws_s3_bucket.batch_files.bucket}/models/${var.model_name}",
    "HEADKV_MODEL_ID=${var.model_name}",
    "HEADKV_POD_ROLE_ARN=${module.pod_role.iam_role_arn}",
    "",
  ])
}
