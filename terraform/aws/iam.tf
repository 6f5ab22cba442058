# What the fleet's pods may do in AWS: read and write the bucket, nothing else. Bound to the
# Kubernetes service account headkv/headkv through IRSA.
data "aws_iam_policy_document" "batch_files" {
  statement {
    sid       = "ListBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.batch_files.arn]
  }

  statement {
    sid       = "ReadWriteObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.batch_files.arn}/*"]
  }
}

resource "aws_iam_policy" "batch_files" {
  name   = "${var.name}-batch-files"
  policy = data.aws_iam_policy_document.batch_files.json
  tags   = var.tags
}

module "pod_role" {
  source  = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"
  version = "~> 5.48"

  role_name = "${var.name}-pods"
  role_policy_arns = {
    batch_files = aws_iam_policy.batch_files.arn
  }

  oidc_providers = {
    cluster = {
      provider_arn               = module.eks.oidc_provider_arn
      namespace_service_accounts = ["${var.namespace}:headkv"]
    }
  }

  tags = var.tags
}

module "cluster_autoscaler_role" {
  source  = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"
  version = "~> 5.48"

  role_name                        = "${var.name}-cluster-autoscaler"
  attach_cluster_autoscaler_policy = true
  cluster_autoscaler_cluster_names = [module.eks.cluster_name]

  oidc_providers = {
    cluster = {
      provider_arn               = module.eks.oidc_provider_arn
      namespace_service_accounts = ["kube-system:cluster-autoscaler"]
    }
  }

  tags = var.tags
}
