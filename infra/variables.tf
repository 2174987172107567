variable "region" {
  description = "AWS region to deploy to, such as eu-west-1."
  type        = string
}

variable "environment" {
  description = "Environment name: a default tag, and the apps' APP_ENV in the first task definition revision."
  type        = string
  default     = "production"
}

variable "config_dir" {
  description = "Directory holding the apps' JSON files; null means the repository's config/."
  type        = string
  default     = null
}

variable "cluster_name" {
  description = "ECS cluster name, also the prefix of every resource. null takes the apps' deploy.cluster (they must agree); set ECS_CLUSTER for deployer when this differs."
  type        = string
  default     = null

  validation {
    # It also names the load balancer: ELB's rule is the strictest.
    condition     = var.cluster_name == null || (can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$", coalesce(var.cluster_name, "x"))) && !startswith(coalesce(var.cluster_name, "x"), "internal-"))
    error_message = "cluster_name must be 1 to 32 letters, digits or hyphens, neither starting nor ending with a hyphen nor starting with internal- (it names the load balancer too)."
  }
}

variable "initial_image_tag" {
  description = "Image tag of the first task definition revision. Push it with deployer before the first apply (see the README); later revisions are deployer's."
  type        = string
  default     = "initial"
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
  default     = "10.0.0.0/16"
}

variable "az_count" {
  description = "Availability zones to span (2 to 4)."
  type        = number
  default     = 2
}

variable "availability_zones" {
  description = "Zone names to pin the subnets to; empty takes the first az_count available zones in name order."
  type        = list(string)
  default     = []
}

variable "single_nat_gateway" {
  description = "One NAT gateway for every private subnet (cheaper); false puts one in each AZ (survives the loss of an AZ)."
  type        = bool
  default     = true
}

variable "flow_logs_enabled" {
  description = "Log the VPC's rejected traffic to CloudWatch Logs."
  type        = bool
  default     = true
}

variable "ingress_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach the load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "domain_name" {
  description = "Name the load balancer is reached at, such as api.example.com. null: no DNS record and no certificate (the Route 53 module is off)."
  type        = string
  default     = null
}

variable "hosted_zone_name" {
  description = "Existing public hosted zone that holds domain_name, such as example.com; null means domain_name itself."
  type        = string
  default     = null
}

variable "create_certificate" {
  description = "With domain_name and no certificate_arn: create an ACM certificate, validated through DNS, and serve HTTPS."
  type        = bool
  default     = true
}

variable "certificate_arn" {
  description = "Existing ACM certificate to serve HTTPS with; null creates one (with domain_name) or serves HTTP only."
  type        = string
  default     = null
}

variable "alb_deletion_protection" {
  description = "Refuse to delete the load balancer until this is turned off."
  type        = bool
  default     = true
}

variable "alb_access_logs_enabled" {
  description = "Write the load balancer's access logs to an S3 bucket the stack creates (with the ELB log-delivery policy)."
  type        = bool
  default     = false
}

variable "alb_access_logs_retention_days" {
  description = "Days the load balancer's access logs are kept."
  type        = number
  default     = 30
}

variable "ecr_keep_images" {
  description = "How many of the newest images each repository keeps."
  type        = number
  default     = 30
}

variable "deployer_repository_name" {
  description = "ECR repository for deployer's own image (Dockerfile.deployer), which the deployer Jenkins job pushes."
  type        = string
  default     = "ecs-pipeline-deployer"

  validation {
    condition     = can(regex("^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$", var.deployer_repository_name)) && length(var.deployer_repository_name) >= 2 && length(var.deployer_repository_name) <= 256
    error_message = "deployer_repository_name must be an ECR repository name: 2 to 256 lower-case letters, digits and . _ - /, each component starting and ending with a letter or digit."
  }
}

variable "ecr_force_delete" {
  description = "Let `terraform destroy` delete repositories that still hold images."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps each service's logs."
  type        = number
  default     = 30
}

variable "container_insights" {
  description = "CloudWatch Container Insights on the cluster: enabled, enhanced or disabled."
  type        = string
  default     = "enabled"
}

variable "instance_type" {
  description = "EC2 instance type of the container instances (EC2 apps only); null follows the EC2 apps' cpu_architecture: t3.small for X86_64, t4g.small for ARM64."
  type        = string
  default     = null
}

variable "interface_endpoints_enabled" {
  description = "Interface VPC endpoints for ECR (api, dkr), CloudWatch Logs and STS: about 7 USD a month each per AZ plus 0.01 USD per GB, against NAT's 0.045 USD per GB. The S3 gateway endpoint is always there (free)."
  type        = bool
  default     = false
}

variable "image_repository_arns" {
  description = "ECR repositories in other accounts or regions whose images deployer may deploy (it reads their platform before a deploy); the apps' own repositories are always allowed."
  type        = list(string)
  default     = []
}

variable "ec2_min_size" {
  description = "Fewest EC2 container instances."
  type        = number
  default     = 1
}

variable "ec2_max_size" {
  description = "Most EC2 container instances."
  type        = number
  default     = 4
}

variable "fargate_base" {
  description = "Tasks of each Fargate service that always run on regular Fargate."
  type        = number
  default     = 1
}

variable "fargate_spot_weight" {
  description = "Share of Fargate Spot for the Fargate tasks beyond the base, against regular Fargate's 1; 0 never uses Spot."
  type        = number
  default     = 0
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (AWS asks it to confirm); null subscribes nobody."
  type        = string
  default     = null
}

variable "alb_5xx_threshold" {
  description = "5xx answers per minute the load balancer itself may give, for 3 minutes, before its alarm fires."
  type        = number
  default     = 10
}

variable "jenkins_role_enabled" {
  description = "Create an EKS Pod Identity role with the deployer policy for the Jenkins agents' service account."
  type        = bool
  default     = false
}

variable "jenkins_eks_cluster_name" {
  description = "EKS cluster of the Jenkins agents; when set with jenkins_role_enabled, the Pod Identity association is created too."
  type        = string
  default     = null
}

variable "jenkins_namespace" {
  description = "Namespace of the Jenkins agents' service account."
  type        = string
  default     = "jenkins"
}

variable "jenkins_service_account" {
  description = "Service account the Jenkins agent pods run as."
  type        = string
  default     = "ecs-pipeline-deployer"
}

variable "tags" {
  description = "Extra default tags for every resource."
  type        = map(string)
  default     = {}
}
