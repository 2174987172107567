variable "name" {
  description = "Name prefix for the groups (the ECS cluster's name)."
  type        = string
}

variable "vpc_id" {
  description = "VPC the groups belong to."
  type        = string
}

variable "apps" {
  description = "The apps, keyed by app name: the port each listens on and its launch type (EC2 or FARGATE)."
  type = map(object({
    port        = number
    launch_type = string
  }))

  validation {
    condition     = alltrue([for app in values(var.apps) : contains(["EC2", "FARGATE"], app.launch_type)])
    error_message = "Each app's launch_type must be EC2 or FARGATE."
  }
}

variable "https_enabled" {
  description = "Open 443 on the load balancer (a certificate is in use)."
  type        = bool
  default     = false
}

variable "ingress_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach the load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "egress_cidrs" {
  description = "IPv4 CIDR blocks the tasks and instances may reach over HTTPS (ECR, CloudWatch Logs, the ECS and SSM endpoints, through the NAT gateway)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "tags" {
  description = "Tags for every resource, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}
