output "alb_security_group_id" {
  description = "ID of the load balancer's security group."
  value       = aws_security_group.alb.id
}

output "services_security_group_id" {
  description = "ID of the group for the Fargate tasks and the EC2 container instances."
  value       = aws_security_group.services.id
}
