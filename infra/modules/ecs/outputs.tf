output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "service_names" {
  description = "ECS service name of each app, keyed by app name."
  value       = { for app, svc in aws_ecs_service.app : app => svc.name }
}

output "task_definition_families" {
  description = "Task definition family of each app, keyed by app name."
  value       = { for app, td in aws_ecs_task_definition.app : app => td.family }
}

output "log_group_names" {
  description = "CloudWatch log group of each app, keyed by app name."
  value       = { for app, group in aws_cloudwatch_log_group.app : app => group.name }
}

output "capacity_provider_name" {
  description = "Name of the EC2 capacity provider, or null when no app runs on EC2."
  value       = one(aws_ecs_capacity_provider.ec2[*].name)
}

output "autoscaling_group_name" {
  description = "Name of the EC2 container instances' Auto Scaling group, or null when no app runs on EC2."
  value       = one(aws_autoscaling_group.ec2[*].name)
}
