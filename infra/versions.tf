terraform {
  # 1.11: the S3 backend's own lock file (use_lockfile) is generally available.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.25"
    }
  }

  # Partial configuration: bucket and region come from `-backend-config`
  # (see backend.hcl.example), so that no account or region is written here.
  # The lock is a file beside the state in the bucket; no DynamoDB table.
  backend "s3" {
    key          = "ecs-pipeline/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
