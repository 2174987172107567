provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project     = "ecs-pipeline"
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}
