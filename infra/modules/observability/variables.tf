variable "name" {
  description = "Prefix of every alarm, the topic, the key alias and the dashboard (the cluster name)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,200}$", var.name))
    error_message = "name must be 1-200 letters, digits, `-` or `_` (it prefixes alarm, topic and dashboard names)."
  }
}

variable "cluster_name" {
  description = "ECS cluster the apps' services run in (the ClusterName dimension)."
  type        = string
}

variable "load_balancer_arn_suffix" {
  description = "ARN suffix of the load balancer (app/<name>/<id>), the LoadBalancer dimension."
  type        = string
}

variable "apps" {
  description = "The apps, keyed by app name: the ECS service, the target group's ARN suffix, replicas.min and replicas.max, and the JSON's alarms section (config/src/app.rs, struct Alarms)."
  type = map(object({
    service                 = string
    target_group_arn_suffix = string
    min                     = number
    max                     = number
    enabled                 = bool
    rollback                = bool
    period                  = number
    evaluation_periods      = number
    error_rate_percent      = number
    latency_p99_ms          = number
    unhealthy_periods       = number
    cpu_percent             = number
    memory_percent          = number
  }))

  validation {
    condition     = alltrue([for app in values(var.apps) : contains([10, 30], app.period) || (app.period >= 60 && app.period % 60 == 0)])
    error_message = "Each app's alarms.period_seconds must be 10, 30 or a multiple of 60."
  }

  validation {
    condition     = alltrue([for app in values(var.apps) : app.error_rate_percent > 0 && app.error_rate_percent <= 100 && app.cpu_percent > 0 && app.cpu_percent <= 100 && app.memory_percent > 0 && app.memory_percent <= 100])
    error_message = "Each app's alarms.error_rate_percent, cpu_percent and memory_percent must be percentages in (0, 100]."
  }

  validation {
    condition     = alltrue([for app in values(var.apps) : app.evaluation_periods >= 1 && app.evaluation_periods <= 10 && app.unhealthy_periods >= 1 && app.unhealthy_periods <= 10])
    error_message = "Each app's alarms.evaluation_periods and unhealthy_periods must be 1 to 10."
  }
}

variable "container_insights" {
  description = "Whether Container Insights is on for the cluster: the running-tasks alarm and the running/desired widget need its RunningTaskCount and DesiredTaskCount."
  type        = bool
  default     = true
}

variable "alb_5xx_threshold" {
  description = "5xx answers the load balancer itself gives (no healthy target, target timeouts) per minute, for 3 minutes, before its alarm fires."
  type        = number
  default     = 10

  validation {
    condition     = var.alb_5xx_threshold >= 1
    error_message = "alb_5xx_threshold must be at least 1."
  }
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (AWS sends a confirmation first); null subscribes nobody."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@[:space:]]+@[^@[:space:]]+\\.[^@[:space:]]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address, or null."
  }
}

variable "kms_deletion_window_days" {
  description = "Days the topic's KMS key waits before it is deleted once removed (7-30)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be 7 to 30."
  }
}

variable "tags" {
  description = "Tags for every resource, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}
