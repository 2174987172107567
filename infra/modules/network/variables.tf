variable "name" {
  description = "Name prefix for every resource (the ECS cluster's name)."
  type        = string

  validation {
    # The flow-log group /vpc/<name>/flow-logs: CloudWatch Logs' characters.
    condition     = can(regex("^[A-Za-z0-9_.#-]{1,255}$", var.name))
    error_message = "name must be 1 to 255 letters, digits or _-.# (it names the flow-log group)."
  }
}

variable "cidr" {
  description = "IPv4 CIDR block of the VPC. Each subnet gets a /20 (a /16 holds both tiers in two to four AZs)."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr, 0))
    error_message = "cidr must be an IPv4 CIDR block such as 10.0.0.0/16."
  }
}

variable "az_count" {
  description = "Availability zones to span, with one public and one private subnet in each (ignored when availability_zones names them)."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 4
    error_message = "az_count must be between 2 (an ALB needs two AZs) and 4."
  }
}

variable "availability_zones" {
  description = "Zone names to use, such as [\"eu-west-1a\", \"eu-west-1b\"]; empty takes the first az_count available zones in name order."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || length(var.availability_zones) >= 2
    error_message = "availability_zones must be empty or name at least two zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all private subnets (cheaper), instead of one per AZ (survives the loss of an AZ)."
  type        = bool
  default     = true
}

variable "flow_logs_enabled" {
  description = "Send the VPC's flow logs (rejected traffic) to CloudWatch Logs."
  type        = bool
  default     = true
}

variable "flow_logs_retention_days" {
  description = "Days CloudWatch keeps the flow logs."
  type        = number
  default     = 30
}

variable "interface_endpoints_enabled" {
  description = "Interface VPC endpoints for ECR (api, dkr), CloudWatch Logs and STS in the private subnets. Each costs per hour and per AZ; they save NAT data processing. The S3 gateway endpoint is always created (free)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}
