variable "name" {
  description = "Name of the load balancer (the ECS cluster's name); at most 32 characters."
  type        = string

  validation {
    # ELB: 1 to 32 letters, digits and hyphens, no hyphen at either end, and
    # not starting with "internal-".
    condition     = can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$", var.name)) && !startswith(var.name, "internal-")
    error_message = "name must be 1 to 32 letters, digits or hyphens, neither starting nor ending with a hyphen nor starting with internal- (an ALB name's rule)."
  }
}

variable "vpc_id" {
  description = "VPC of the target groups."
  type        = string
}

variable "subnet_ids" {
  description = "Public subnets, in at least two AZs, the load balancer is placed in."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the load balancer."
  type        = string
}

variable "apps" {
  description = "The apps, keyed by app name: port, target type (instance or ip), deregistration delay, health check, and one listener rule per microservice."
  type = map(object({
    port                 = number
    target_type          = string
    deregistration_delay = number
    health_check = object({
      path                = string
      healthy_threshold   = number
      unhealthy_threshold = number
      timeout             = number
      interval            = number
      matcher             = string
    })
    rules = list(object({
      name          = string
      priority      = number
      path_patterns = list(string)
    }))
  }))

  validation {
    condition     = alltrue([for app in values(var.apps) : contains(["instance", "ip"], app.target_type)])
    error_message = "Each app's target_type in apps must be instance or ip."
  }

  validation {
    # The target group's name_prefix is made of the app name's first letters
    # and digits: it needs at least one.
    condition     = alltrue([for name in keys(var.apps) : can(regex("[A-Za-z0-9]", name))])
    error_message = "Each app name in apps must hold at least one letter or digit (it starts its target group's name)."
  }
}

variable "https_enabled" {
  description = "Serve HTTPS on 443 with certificate_arn and redirect HTTP to it. A plain bool, so that it is known at plan time even when the certificate is created in the same apply."
  type        = bool
  default     = false
}

variable "certificate_arn" {
  description = "ACM certificate for the HTTPS listener; required when https_enabled is true."
  type        = string
  default     = null
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "deletion_protection" {
  description = "Refuse to delete the load balancer until this is turned off."
  type        = bool
  default     = true
}

variable "idle_timeout" {
  description = "Seconds a connection may stay idle."
  type        = number
  default     = 60
}

variable "access_logs_enabled" {
  description = "Write the load balancer's access logs to a bucket this module creates, with the ELB log-delivery policy."
  type        = bool
  default     = false
}

variable "access_logs_retention_days" {
  description = "Days the access logs are kept."
  type        = number
  default     = 30

  validation {
    condition     = var.access_logs_retention_days >= 1
    error_message = "access_logs_retention_days must be at least 1."
  }
}

variable "access_logs_force_destroy" {
  description = "Let `terraform destroy` delete the access-log bucket while it still holds logs."
  type        = bool
  default     = false
}

variable "not_found_message" {
  description = "Body of the 404 the listener answers for a path no app serves."
  type        = string
  default     = "Not found: no service answers this path."
}

variable "tags" {
  description = "Tags for every resource, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}
