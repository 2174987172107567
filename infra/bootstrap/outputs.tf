output "state_bucket" {
  description = "Name of the state bucket: the `bucket` of infra/backend.hcl."
  value       = aws_s3_bucket.state.id
}

output "state_bucket_arn" {
  description = "ARN of the state bucket, for the policies of whoever runs Terraform."
  value       = aws_s3_bucket.state.arn
}

output "backend_config" {
  description = "The contents of infra/backend.hcl for this bucket."
  value       = "bucket = \"${aws_s3_bucket.state.id}\"\nregion = \"${data.aws_region.current.region}\"\n"
}
