output "fqdn" {
  description = "Name the load balancer is reached at."
  value       = aws_route53_record.alb.fqdn
}

output "zone_id" {
  description = "ID of the hosted zone the records are in."
  value       = data.aws_route53_zone.this.zone_id
}

output "certificate_arn" {
  description = "ARN of the validated ACM certificate, or null when none is created. Known once validation completes, so that the HTTPS listener never gets a pending certificate."
  value       = one(aws_acm_certificate_validation.this[*].certificate_arn)
}
