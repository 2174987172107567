variable "region" {
  description = "AWS region of the state bucket (use the same one as infra/)."
  type        = string
}

variable "bucket_name" {
  description = "Name of the state bucket; null derives a unique one: ecs-pipeline-tfstate-<account>-<region>."
  type        = string
  default     = null
}

variable "noncurrent_version_days" {
  description = "Days an old state version is kept after a newer one replaces it."
  type        = number
  default     = 90
}

variable "tags" {
  description = "Extra default tags for every resource."
  type        = map(string)
  default     = {}
}
