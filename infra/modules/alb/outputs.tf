output "arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "arn_suffix" {
  description = "ARN suffix of the load balancer (app/<name>/<id>), the LoadBalancer dimension of its CloudWatch metrics."
  value       = aws_lb.this.arn_suffix
}

output "dns_name" {
  description = "DNS name of the load balancer."
  value       = aws_lb.this.dns_name
}

output "zone_id" {
  description = "Route 53 hosted zone ID of the load balancer, for alias records."
  value       = aws_lb.this.zone_id
}

output "url" {
  description = "Base URL of the load balancer (its DNS name; https when a certificate is in use)."
  value       = "${var.https_enabled ? "https" : "http"}://${aws_lb.this.dns_name}"
}

output "target_group_arns" {
  description = "ARN of each app's target group, keyed by app name. Available once the listener rules exist, since ECS refuses a target group that no listener uses."
  value       = { for app, tg in aws_lb_target_group.this : app => tg.arn }
  depends_on  = [aws_lb_listener_rule.this]
}

output "target_group_arn_suffixes" {
  description = "ARN suffix of each app's target group, keyed by app name, for CloudWatch metrics."
  value       = { for app, tg in aws_lb_target_group.this : app => tg.arn_suffix }
}

output "listener_arn" {
  description = "ARN of the listener the apps are served on (HTTPS when a certificate is in use, else HTTP)."
  value       = local.serving_listener_arn
}

output "access_logs_bucket" {
  description = "S3 bucket holding the access logs, or null when they are off."
  value       = one(aws_s3_bucket.access_logs[*].id)
}
