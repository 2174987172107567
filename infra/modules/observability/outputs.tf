output "topic_arn" {
  description = "ARN of the SNS topic every alarm notifies (subscribe more endpoints to it)."
  value       = aws_sns_topic.alarms.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the topic."
  value       = aws_kms_key.alarms.arn
}

output "alarm_names" {
  description = "Names of each app's alarms, keyed by app name (empty for an app whose JSON turns alarms off)."
  value = {
    for app in keys(var.apps) : app => compact([
      try(aws_cloudwatch_metric_alarm.error_rate[app].alarm_name, ""),
      try(aws_cloudwatch_metric_alarm.latency[app].alarm_name, ""),
      try(aws_cloudwatch_metric_alarm.unhealthy[app].alarm_name, ""),
      try(aws_cloudwatch_metric_alarm.tasks[app].alarm_name, ""),
      try(aws_cloudwatch_metric_alarm.cpu[app].alarm_name, ""),
      try(aws_cloudwatch_metric_alarm.memory[app].alarm_name, ""),
    ])
  }
}

output "deployment_alarms" {
  description = "Each alarmed app's deployment alarms for its ECS service's alarms block, keyed by app name: the 5xx-rate and p99-latency alarm names, and whether ECS rolls back on them."
  value = {
    for app, cfg in local.alarmed : app => {
      names    = [aws_cloudwatch_metric_alarm.error_rate[app].alarm_name, aws_cloudwatch_metric_alarm.latency[app].alarm_name]
      rollback = cfg.rollback
    }
  }
}

output "alb_5xx_alarm_name" {
  description = "Name of the alarm on the load balancer's own 5xx."
  value       = aws_cloudwatch_metric_alarm.alb_5xx.alarm_name
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}
