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
