provider "aws" {
  region = var.region

  # ManagedBy = terraform marks what Terraform owns; on the first task
  # definition revision it is what keeps deployer's prune away from it.
  default_tags {
    tags = merge(var.tags, {
      Project     = "ecs-pipeline"
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }

  # The contract with deployer: every tag key deployer writes on a resource
  # Terraform manages starts with "deployer:" (deployer/src/ecs/tags.rs),
  # such as the rollback history on each service. Terraform neither removes
  # nor reports them.
  ignore_tags {
    key_prefixes = ["deployer:"]
  }
}
