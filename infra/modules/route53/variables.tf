variable "zone_name" {
  description = "Name of the existing public hosted zone, such as example.com."
  type        = string
}

variable "record_name" {
  description = "Fully qualified name the load balancer is reached at, such as api.example.com (inside zone_name)."
  type        = string
}

variable "alb_dns_name" {
  description = "DNS name of the load balancer the record aliases."
  type        = string
}

variable "alb_zone_id" {
  description = "Hosted zone ID of the load balancer the record aliases."
  type        = string
}

variable "create_certificate" {
  description = "Create an ACM certificate for record_name, validated through DNS in the zone."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}
