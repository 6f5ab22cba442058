# Batch input, output and error files (prefix files/, expiring) and model folders (prefix models/,
# kept), private and encrypted.
resource "aws_s3_bucket" "batch_files" {
  bucket_prefix = "${var.name}-batch-files-"
  force_destroy = false
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "batch_files" {
  bucket                  = aws_s3_bucket.batch_files.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "batch_files" {
  bucket = aws_s3_bucket.batch_files.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "batch_files" {
  bucket = aws_s3_bucket.batch_files.id

  rule {
    id     = "expire-batch-files"
    status = "Enabled"

    filter {
      prefix = "files/"
    }

    expiration {
      days = var.batch_file_retention_days
    }
  }
}
