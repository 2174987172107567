variable "name" {
  description = "Name of the ECS cluster, also the prefix of everything else here."
  type        = string
}

variable "apps" {
  description = "The apps, keyed by app name, with every value their JSON gives or derives (names, launch type, size, scaling, environment) plus the first image, the task role and the target group."
  type = map(object({
    service            = string
    family             = string
    container          = string
    port               = number
    host_port          = number
    launch_type        = string
    cpu_architecture   = string
    network_mode       = string
    cpu                = number
    memory             = number
    desired            = number
    min                = number
    max                = number
    cpu_target         = number
    memory_target      = number
    scale_in_cooldown  = number
    scale_out_cooldown = number
    environment        = map(string)
    log_group          = string
    image              = string
    task_role_arn      = string
    target_group_arn   = string
  }))

  validation {
    condition     = alltrue([for app in values(var.apps) : contains(["EC2", "FARGATE"], app.launch_type)])
    error_message = "Each app's launch_type must be EC2 or FARGATE."
  }

  validation {
    condition     = alltrue([for app in values(var.apps) : contains(["X86_64", "ARM64"], app.cpu_architecture)])
    error_message = "Each app's cpu_architecture must be X86_64 or ARM64."
  }

  validation {
    # CloudWatch Logs: 1 to 512 characters of letters, digits and _-./#
    condition     = alltrue([for app in values(var.apps) : can(regex("^[A-Za-z0-9_./#-]{1,512}$", app.log_group))])
    error_message = "Each app's log_group must be 1 to 512 characters of letters, digits and _-./# (CloudWatch Logs' rule)."
  }
}

variable "deployment_alarms" {
  description = "Per app, keyed by app name: the CloudWatch alarms whose ALARM state fails a deployment of its service, and whether ECS then rolls back. An app left out has no deployment alarms."
  type = map(object({
    names    = list(string)
    rollback = bool
  }))
  default = {}

  validation {
    condition     = alltrue([for alarms in values(var.deployment_alarms) : length(alarms.names) > 0])
    error_message = "Each entry of deployment_alarms must name at least one alarm."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets for the Fargate tasks and the EC2 container instances."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the Fargate tasks and the EC2 container instances."
  type        = string
}

variable "execution_role_arn" {
  description = "Task execution role (image pulls and logs) every task definition uses."
  type        = string
}

variable "instance_profile_arn" {
  description = "Instance profile of the EC2 container instances; required when an app runs on EC2."
  type        = string
  default     = null
}

variable "container_insights" {
  description = "CloudWatch Container Insights on the cluster: enabled, enhanced or disabled."
  type        = string
  default     = "enabled"

  validation {
    condition     = contains(["enabled", "enhanced", "disabled"], var.container_insights)
    error_message = "container_insights must be enabled, enhanced or disabled."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps each service's logs."
  type        = number
  default     = 30
}

variable "health_check_grace_period" {
  description = "Seconds a new task has before failed load balancer health checks count against it."
  type        = number
  default     = 30
}

variable "instance_type" {
  description = "EC2 instance type of the container instances; null takes default_instance_types for the EC2 apps' cpu_architecture."
  type        = string
  default     = null
}

variable "default_instance_types" {
  description = "Instance type per CPU architecture (X86_64, ARM64) when instance_type is null."
  type        = map(string)
  default = {
    X86_64 = "t3.small"
    ARM64  = "t4g.small"
  }

  validation {
    condition     = alltrue([for arch in ["X86_64", "ARM64"] : contains(keys(var.default_instance_types), arch)])
    error_message = "default_instance_types must name an instance type for X86_64 and for ARM64."
  }
}

variable "ami_ssm_parameters" {
  description = "Public SSM parameter holding the ECS-optimised AMI ID, per CPU architecture (X86_64, ARM64), so that no AMI is pinned here."
  type        = map(string)
  default = {
    X86_64 = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
    ARM64  = "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id"
  }

  validation {
    condition     = alltrue([for arch in ["X86_64", "ARM64"] : contains(keys(var.ami_ssm_parameters), arch)])
    error_message = "ami_ssm_parameters must name a parameter for X86_64 and for ARM64."
  }
}

variable "instance_warmup" {
  description = "Seconds an instance launched by an instance refresh has before it counts as healthy."
  type        = number
  default     = 120
}

variable "root_volume_size" {
  description = "Size in GiB of each container instance's encrypted root volume."
  type        = number
  default     = 30
}

variable "ec2_min_size" {
  description = "Fewest container instances the Auto Scaling group keeps."
  type        = number
  default     = 1
}

variable "ec2_max_size" {
  description = "Most container instances the Auto Scaling group may run."
  type        = number
  default     = 4
}

variable "ec2_target_capacity" {
  description = "Managed scaling's target: the percentage of the instances' capacity the tasks should use (100 packs them fully)."
  type        = number
  default     = 100
}

variable "fargate_base" {
  description = "Tasks of each Fargate service that always run on regular (on-demand) Fargate."
  type        = number
  default     = 1
}

variable "fargate_weight" {
  description = "Relative share of regular Fargate for the tasks beyond the base."
  type        = number
  default     = 1
}

variable "fargate_spot_weight" {
  description = "Relative share of Fargate Spot (up to 70% cheaper, can be interrupted) for the tasks beyond the base; 0 never uses Spot."
  type        = number
  default     = 0
}

variable "tags" {
  description = "Tags for every resource, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}
