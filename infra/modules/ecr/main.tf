resource "aws_ecr_repository" "this" {
  for_each = var.repositories

  #checkov:skip=CKV_AWS_136:Cost trade-off: images are encrypted at rest with AES-256 (ECR's default); a customer-managed KMS key adds a monthly key fee and per-request charges.
  name         = each.value
  force_delete = var.force_delete
  # deployer tags each image with its git commit, so a tag never moves.
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }

  tags = merge(var.tags, { App = each.value })
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = aws_ecr_repository.this

  repository = each.value.name
  # Rule 1, where protected_tags names any, selects the tags Terraform's task
  # definition revision runs (the initial image) and keeps them: an image a higher-priority rule selects
  # is never expired by a lower one. Rule 2 keeps the newest keep_images of
  # the rest.
  policy = jsonencode({
    rules = concat(
      length(var.protected_tags) == 0 ? [] : [
        {
          rulePriority = 1
          description  = "Keep the images Terraform's task definitions run: ${join(", ", var.protected_tags)}"
          selection = {
            tagStatus      = "tagged"
            tagPatternList = var.protected_tags
            countType      = "imageCountMoreThan"
            countNumber    = 9999
          }
          action = { type = "expire" }
        },
      ],
      [
        {
          rulePriority = 2
          description  = "Keep the newest ${var.keep_images} images"
          selection = {
            tagStatus   = "any"
            countType   = "imageCountMoreThan"
            countNumber = var.keep_images
          }
          action = { type = "expire" }
        },
      ],
    )
  })
}
