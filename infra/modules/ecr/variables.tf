variable "repositories" {
  description = "Names of the private repositories to create, one per app."
  type        = set(string)
}

variable "keep_images" {
  description = "How many of the newest images each repository keeps; older ones expire."
  type        = number
  default     = 30

  validation {
    condition     = var.keep_images >= 1
    error_message = "keep_images must be at least 1."
  }
}

variable "force_delete" {
  description = "Let `terraform destroy` delete a repository that still holds images."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}

variable "protected_tags" {
  description = "Image tags the lifecycle policy never expires: the tag Terraform's first task definition revisions run (initial_image_tag); empty for a repository no task definition of Terraform's uses."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.protected_tags) <= 100 && alltrue([for tag in var.protected_tags : can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", tag))])
    error_message = "protected_tags must hold at most 100 image tags (letters, digits, _.-, at most 128 characters, no wildcard)."
  }
}
