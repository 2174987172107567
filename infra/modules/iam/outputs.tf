output "execution_role_arn" {
  description = "ARN of the task execution role (image pulls and logs), shared by every task definition."
  value       = aws_iam_role.execution.arn
}

output "task_role_arns" {
  description = "ARN of each app's task role, keyed by app name."
  value       = { for app, role in aws_iam_role.task : app => role.arn }
}

output "task_role_names" {
  description = "Name of each app's task role, keyed by app name, to attach the app's own policies to."
  value       = { for app, role in aws_iam_role.task : app => role.name }
}

output "instance_profile_arn" {
  description = "ARN of the ECS container instance profile, or null when the instance role is off."
  value       = one(aws_iam_instance_profile.instance[*].arn)
}

output "instance_role_arn" {
  description = "ARN of the ECS container instance role, or null when it is off."
  value       = one(aws_iam_role.instance[*].arn)
}

output "deployer_policy_arn" {
  description = "ARN of the least-privilege policy the pipeline's deployer runs with."
  value       = aws_iam_policy.deployer.arn
}

output "jenkins_role_arn" {
  description = "ARN of the Jenkins agents' Pod Identity role, or null when it is off."
  value       = one(aws_iam_role.jenkins[*].arn)
}
