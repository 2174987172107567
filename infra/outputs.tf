output "region" {
  description = "AWS region everything is in (deployer's --region or AWS_REGION)."
  value       = var.region
}

output "cluster_name" {
  description = "ECS cluster name (deployer's ECS_CLUSTER)."
  value       = module.ecs.cluster_name
}

output "cluster_arn" {
  description = "ECS cluster ARN."
  value       = module.ecs.cluster_arn
}

output "service_names" {
  description = "ECS service name of each app, keyed by app name."
  value       = module.ecs.service_names
}

output "ecr_repository_urls" {
  description = "ECR repository URL of each app, keyed by app name; the registry host before the first / is deployer's registry."
  value       = { for name, app in local.apps : name => module.ecr.repository_urls[app.repository] }
}

output "deployer_repository_url" {
  description = "ECR repository URL of deployer's own image; the deployer Jenkins job pushes it, and DEPLOYER_IMAGE pins it by digest."
  value       = module.ecr_deployer.repository_urls[var.deployer_repository_name]
}

output "alb_dns_name" {
  description = "DNS name of the load balancer."
  value       = module.alb.dns_name
}

output "alb_url" {
  description = "Base URL the apps are served at: the domain when one is set, else the load balancer's DNS name."
  value       = var.domain_name == null ? module.alb.url : "${local.https_enabled ? "https" : "http"}://${var.domain_name}"
}

output "target_group_arns" {
  description = "Target group ARN of each app, keyed by app name."
  value       = module.alb.target_group_arns
}

output "log_group_names" {
  description = "CloudWatch log group of each app, keyed by app name."
  value       = module.ecs.log_group_names
}

output "execution_role_arn" {
  description = "ARN of the task execution role."
  value       = module.iam.execution_role_arn
}

output "task_role_arns" {
  description = "ARN of each app's task role, keyed by app name."
  value       = module.iam.task_role_arns
}

output "instance_role_arn" {
  description = "ARN of the EC2 container instance role, or null when no app runs on EC2."
  value       = module.iam.instance_role_arn
}

output "deployer_policy_arn" {
  description = "ARN of the least-privilege policy for deployer; attach it to the pipeline's identity."
  value       = module.iam.deployer_policy_arn
}

output "jenkins_role_arn" {
  description = "ARN of the Jenkins agents' Pod Identity role, or null when it is off."
  value       = module.iam.jenkins_role_arn
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.network.vpc_id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets."
  value       = module.network.private_subnet_ids
}

output "nat_public_ips" {
  description = "Public IPs the tasks reach the internet from (for allow-lists elsewhere)."
  value       = module.network.nat_public_ips
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic every alarm notifies."
  value       = module.observability.topic_arn
}

output "alarm_names" {
  description = "Names of each app's CloudWatch alarms, keyed by app name (what `deployer status` reads)."
  value       = module.observability.alarm_names
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = module.observability.dashboard_name
}
