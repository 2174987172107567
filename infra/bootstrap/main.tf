provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project   = "ecs-pipeline"
      ManagedBy = "terraform"
    })
  }
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  bucket_name = coalesce(var.bucket_name, "ecs-pipeline-tfstate-${data.aws_caller_identity.current.account_id}-${data.aws_region.current.region}")
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_144:Cost trade-off: cross-region replication doubles storage and transfer for a state file that is already versioned; restore comes from old versions.
  #checkov:skip=CKV_AWS_18:Access logging needs a second bucket (and its own state); CloudTrail records who read or wrote the state.
  #checkov:skip=CKV2_AWS_62:Nothing consumes bucket events: Terraform alone reads and writes the state.
  #checkov:skip=CKV_AWS_145:Cost trade-off: SSE-S3 (AES-256) encrypts the state at rest; a customer-managed KMS key adds a monthly key fee and per-request charges.
  bucket = local.bucket_name

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket = aws_s3_bucket.state.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

# Old state versions are the way back from a bad apply; keep them a while,
# not forever. Also clears the lock files' old versions and failed uploads.
resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "expire-old-state-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}

data "aws_iam_policy_document" "tls_only" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.state.arn,
      "${aws_s3_bucket.state.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.tls_only.json

  depends_on = [aws_s3_bucket_public_access_block.state]
}
