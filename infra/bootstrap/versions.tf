terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.25"
    }
  }

  # Local state on purpose: this root creates the bucket every other state
  # lives in. Keep its terraform.tfstate safe (or import the bucket again).
}
