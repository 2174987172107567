resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:Cost trade-off: AWS WAF adds a web ACL fee plus per-rule and per-request charges; the apps sit behind path-based routing and a 404 default, and a web ACL can be associated later without touching this module.
  #checkov:skip=CKV_AWS_91:Cost trade-off: access logs are optional (access_logs_enabled) because they need a dedicated S3 bucket and its storage; turn them on per environment.
  name                       = var.name
  internal                   = false
  load_balancer_type         = "application"
  subnets                    = var.subnet_ids
  security_groups            = [var.security_group_id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  idle_timeout               = var.idle_timeout

  dynamic "access_logs" {
    for_each = aws_s3_bucket.access_logs[*].id
    content {
      bucket  = access_logs.value
      prefix  = var.name
      enabled = true
    }
  }

  tags = var.tags

  # The load balancer checks that it may write to the bucket when access
  # logs are turned on: the policy must be there first.
  depends_on = [aws_s3_bucket_policy.access_logs]
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; behind it the apps serve plain HTTP inside the private subnets, reachable only from the load balancer's security group.
  for_each = var.apps

  # Port, protocol, target type and VPC force a new group. It must exist
  # before the old one goes (the listener rules and the service use it), so
  # the name is generated from a prefix: a fixed name would clash with the
  # group being replaced, and with a second stack in the same region.
  # name_prefix is at most 6 characters: the app name's first 5 letters and
  # digits, and a hyphen before the generated suffix.
  name_prefix          = "${substr(replace(each.key, "/[^A-Za-z0-9]/", ""), 0, 5)}-"
  port                 = each.value.port
  protocol             = "HTTP"
  target_type          = each.value.target_type
  vpc_id               = var.vpc_id
  deregistration_delay = each.value.deregistration_delay

  health_check {
    enabled             = true
    protocol            = "HTTP"
    port                = "traffic-port"
    path                = each.value.health_check.path
    matcher             = each.value.health_check.matcher
    healthy_threshold   = each.value.health_check.healthy_threshold
    unhealthy_threshold = each.value.health_check.unhealthy_threshold
    timeout             = each.value.health_check.timeout
    interval            = each.value.health_check.interval
  }

  tags = merge(var.tags, { App = each.key, Name = "${var.name}-${each.key}" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:Plain HTTP is served only when no certificate is configured (https_enabled = false); with one, this listener only redirects to HTTPS.
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = var.https_enabled ? "redirect" : "fixed-response"

    dynamic "redirect" {
      for_each = var.https_enabled ? [1] : []
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }

    dynamic "fixed_response" {
      for_each = var.https_enabled ? [] : [1]
      content {
        content_type = "text/plain"
        message_body = var.not_found_message
        status_code  = "404"
      }
    }
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  count = var.https_enabled ? 1 : 0

  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      message_body = var.not_found_message
      status_code  = "404"
    }
  }

  tags = var.tags
}

locals {
  # The listener the apps are served on: HTTPS when there is a certificate.
  serving_listener_arn = var.https_enabled ? aws_lb_listener.https[0].arn : aws_lb_listener.http.arn
  # One rule per microservice, keyed app/microservice, at the priority its
  # JSON fixes, so that adding a microservice never renumbers another.
  rules = merge([
    for app, cfg in var.apps : {
      for rule in cfg.rules : "${app}/${rule.name}" => merge(rule, { app = app })
    }
  ]...)
}

resource "aws_lb_listener_rule" "this" {
  for_each = local.rules

  listener_arn = local.serving_listener_arn
  priority     = each.value.priority

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this[each.value.app].arn
  }

  condition {
    path_pattern {
      values = each.value.path_patterns
    }
  }

  tags = merge(var.tags, { App = each.value.app, Microservice = each.value.name })
}

# Access logs, only with access_logs_enabled: a bucket of their own, which
# the load balancer's log delivery may write to. ELB writes access logs only
# with SSE-S3 encryption.
data "aws_caller_identity" "current" {}

resource "aws_s3_bucket" "access_logs" {
  count = var.access_logs_enabled ? 1 : 0

  #checkov:skip=CKV_AWS_145:Cost trade-off: no customer-managed KMS key, whose fees would buy nothing here: ELB delivers access logs only to SSE-S3 (AES-256) buckets.
  #checkov:skip=CKV_AWS_144:Cost trade-off: access logs are diagnostics kept access_logs_retention_days; replicating them to a second region doubles storage and transfer.
  #checkov:skip=CKV_AWS_18:Logging the access-log bucket's own access needs yet another bucket; CloudTrail records who reads it.
  #checkov:skip=CKV2_AWS_62:Nothing consumes the bucket's events: the logs are read on demand.
  bucket_prefix = "${lower(substr(var.name, 0, 27))}-alb-logs-"
  force_destroy = var.access_logs_force_destroy

  tags = var.tags
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  count = var.access_logs_enabled ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  count = var.access_logs_enabled ? 1 : 0

  bucket                  = aws_s3_bucket.access_logs[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "access_logs" {
  count = var.access_logs_enabled ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  count = var.access_logs_enabled ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  count = var.access_logs_enabled ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.access_logs_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.access_logs]
}

# The log delivery service principal, for this account's logs under the
# load balancer's prefix; and TLS only.
data "aws_iam_policy_document" "access_logs" {
  count = var.access_logs_enabled ? 1 : 0

  statement {
    sid       = "ElbLogDelivery"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs[0].arn}/${var.name}/AWSLogs/${data.aws_caller_identity.current.account_id}/*"]

    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.access_logs[0].arn,
      "${aws_s3_bucket.access_logs[0].arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  count = var.access_logs_enabled ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id
  policy = data.aws_iam_policy_document.access_logs[0].json

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}
