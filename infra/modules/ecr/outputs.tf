output "repository_urls" {
  description = "Repository URL of each repository (registry/name, no tag), keyed by repository name."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.repository_url }
}

output "repository_arns" {
  description = "ARN of each repository, keyed by repository name."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.arn }
}

output "registry_id" {
  description = "The registry (account) ID the repositories belong to."
  value       = one(distinct([for repo in aws_ecr_repository.this : repo.registry_id]))
}
