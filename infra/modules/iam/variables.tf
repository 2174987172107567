variable "name" {
  description = "Name prefix for every role and policy (the ECS cluster's name); the region follows it, since IAM names are account-global."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,32}$", var.name))
    error_message = "name must be 1 to 32 of the characters IAM allows in a role name (letters, digits, +=,.@_-)."
  }
}

variable "cluster_name" {
  description = "Name of the ECS cluster the services run in; the deployer policy is scoped to it."
  type        = string
}

variable "apps" {
  description = "The apps, keyed by app name: the ECS service and task definition family each one deploys."
  type = map(object({
    service   = string
    family    = string
    log_group = string
  }))

  validation {
    condition     = alltrue([for app in keys(var.apps) : can(regex("^[A-Za-z0-9+=,.@_-]+$", app))])
    error_message = "Each app name in apps must use only the characters IAM allows in a role name (letters, digits, +=,.@_-)."
  }
}

variable "repository_arns" {
  description = "ARNs of the ECR repositories the deployer pushes to."
  type        = list(string)
}

variable "image_repository_arns" {
  description = "Extra ECR repository ARNs (other accounts or regions) whose images deployer may look up before a deploy; the apps' own repositories are always included."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.image_repository_arns : can(regex("^arn:[^:]+:ecr:[^:]+:[0-9]{12}:repository/.+$", arn))])
    error_message = "image_repository_arns must hold ECR repository ARNs (arn:<partition>:ecr:<region>:<account>:repository/<name>)."
  }
}

variable "ec2_instance_role_enabled" {
  description = "Create the EC2 instance role and instance profile that ECS container instances use (needed when an app runs on EC2)."
  type        = bool
  default     = true
}

variable "jenkins_role_enabled" {
  description = "Create an EKS Pod Identity role for the Jenkins agents' service account, with the deployer policy attached."
  type        = bool
  default     = false
}

variable "jenkins_eks_cluster_name" {
  description = "EKS cluster the Jenkins agents run in. When set (and jenkins_role_enabled), the Pod Identity association is created too."
  type        = string
  default     = null
}

variable "jenkins_namespace" {
  description = "Kubernetes namespace of the Jenkins agents' service account."
  type        = string
  default     = "jenkins"
}

variable "jenkins_service_account" {
  description = "Kubernetes service account the Jenkins agent pods run as."
  type        = string
  default     = "ecs-pipeline-deployer"
}

variable "tags" {
  description = "Tags for every resource, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}
