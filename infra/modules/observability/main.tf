data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  # Apps whose JSON leaves alarms on (`alarms.enabled`, true by default).
  alarmed = { for app, cfg in var.apps : app => cfg if cfg.enabled }
  # Running tasks are only known with Container Insights, and "below 0" can
  # never happen.
  task_alarmed = { for app, cfg in local.alarmed : app => cfg if var.container_insights && cfg.min > 0 }

  tg_dimensions = {
    for app, cfg in var.apps : app => {
      TargetGroup  = cfg.target_group_arn_suffix
      LoadBalancer = var.load_balancer_arn_suffix
    }
  }
  service_dimensions = {
    for app, cfg in var.apps : app => {
      ClusterName = var.cluster_name
      ServiceName = cfg.service
    }
  }
  alarm_name = {
    for app in keys(var.apps) : app => {
      error_rate = "${var.name}-${app}-5xx-rate"
      latency    = "${var.name}-${app}-latency-p99"
      unhealthy  = "${var.name}-${app}-unhealthy-hosts"
      tasks      = "${var.name}-${app}-running-tasks"
      cpu        = "${var.name}-${app}-cpu-ceiling"
      memory     = "${var.name}-${app}-memory-ceiling"
    }
  }
  actions = [aws_sns_topic.alarms.arn]
}

# ---------------------------------------------------------------------------
# Notifications: one topic, encrypted with a key CloudWatch may use (an
# AWS-managed SNS key would not let CloudWatch publish), and a topic policy
# that lets this account's alarms publish to it.

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:A KMS key policy's Resource is always "*", meaning this key; the account root keeps administration so the key never becomes unmanageable.
  #checkov:skip=CKV_AWS_111:A KMS key policy's Resource is always "*", meaning this key; write access is limited to the account root and CloudWatch's data-key use.
  #checkov:skip=CKV_AWS_356:A KMS key policy's Resource is always "*", meaning this key alone.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsEncrypt"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "alarms" {
  description             = "Encrypts the ${var.name} alarm topic"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.key.json

  tags = var.tags
}

resource "aws_kms_alias" "alarms" {
  name          = "alias/${var.name}-alarms"
  target_key_id = aws_kms_key.alarms.key_id
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.alarms.arn

  tags = var.tags
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name}-*"]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# ---------------------------------------------------------------------------
# Per-app alarms. Missing data is decided per alarm: the load balancer
# reports request metrics only while requests flow, so a quiet period is
# healthy for the rate and latency alarms; Container Insights reports the
# running tasks every minute, so a missing count means nothing runs (or
# nothing reports) and breaches.

# Target 5xx as a share of requests. The 5xx count is absent in a minute
# without any, hence FILL; a minute without requests is 0 %.
resource "aws_cloudwatch_metric_alarm" "error_rate" {
  for_each = local.alarmed

  alarm_name          = local.alarm_name[each.key].error_rate
  alarm_description   = "${each.key}: target 5xx above ${each.value.error_rate_percent}% of requests. A deployment alarm: ECS rolls a deploy back on it."
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.error_rate_percent
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.evaluation_periods
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.actions
  ok_actions          = local.actions

  metric_query {
    id          = "rate"
    expression  = "IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)"
    label       = "5xx rate (%)"
    return_data = true
  }

  metric_query {
    id = "errors"

    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = local.tg_dimensions[each.key]
      period      = each.value.period
      stat        = "Sum"
    }
  }

  metric_query {
    id = "requests"

    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = local.tg_dimensions[each.key]
      period      = each.value.period
      stat        = "Sum"
    }
  }

  tags = merge(var.tags, { App = each.key })
}

resource "aws_cloudwatch_metric_alarm" "latency" {
  for_each = local.alarmed

  alarm_name          = local.alarm_name[each.key].latency
  alarm_description   = "${each.key}: p99 target response time above ${each.value.latency_p99_ms} ms. A deployment alarm: ECS rolls a deploy back on it."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = local.tg_dimensions[each.key]
  extended_statistic  = "p99"
  period              = each.value.period
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.latency_p99_ms / 1000
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.evaluation_periods
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = merge(var.tags, { App = each.key })
}

# An unhealthy target for unhealthy_periods periods in a row. A missing
# count is no evidence of an unhealthy target; losing every target shows in
# the running-tasks and load balancer 5xx alarms.
resource "aws_cloudwatch_metric_alarm" "unhealthy" {
  for_each = local.alarmed

  alarm_name          = local.alarm_name[each.key].unhealthy
  alarm_description   = "${each.key}: an unhealthy target for ${each.value.unhealthy_periods} periods in a row."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = local.tg_dimensions[each.key]
  statistic           = "Maximum"
  period              = each.value.period
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = each.value.unhealthy_periods
  datapoints_to_alarm = each.value.unhealthy_periods
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = merge(var.tags, { App = each.key })
}

resource "aws_cloudwatch_metric_alarm" "tasks" {
  for_each = local.task_alarmed

  alarm_name          = local.alarm_name[each.key].tasks
  alarm_description   = "${each.key}: fewer running tasks than replicas.min (${each.value.min})."
  namespace           = "ECS/ContainerInsights"
  metric_name         = "RunningTaskCount"
  dimensions          = local.service_dimensions[each.key]
  statistic           = "Minimum"
  period              = max(each.value.period, 60)
  comparison_operator = "LessThanThreshold"
  threshold           = each.value.min
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.evaluation_periods
  treat_missing_data  = "breaching"
  actions_enabled     = true
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = merge(var.tags, { App = each.key })
}

# Near the ceiling: with auto scaling at replicas.max these stay high. A
# service without tasks reports nothing and is not under pressure.
resource "aws_cloudwatch_metric_alarm" "cpu" {
  for_each = local.alarmed

  alarm_name          = local.alarm_name[each.key].cpu
  alarm_description   = "${each.key}: average CPU above ${each.value.cpu_percent}% (auto scaling stops at replicas.max = ${each.value.max})."
  namespace           = "AWS/ECS"
  metric_name         = "CPUUtilization"
  dimensions          = local.service_dimensions[each.key]
  statistic           = "Average"
  period              = max(each.value.period, 60)
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.cpu_percent
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.evaluation_periods
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = merge(var.tags, { App = each.key })
}

resource "aws_cloudwatch_metric_alarm" "memory" {
  for_each = local.alarmed

  alarm_name          = local.alarm_name[each.key].memory
  alarm_description   = "${each.key}: average memory above ${each.value.memory_percent}% (auto scaling stops at replicas.max = ${each.value.max})."
  namespace           = "AWS/ECS"
  metric_name         = "MemoryUtilization"
  dimensions          = local.service_dimensions[each.key]
  statistic           = "Average"
  period              = max(each.value.period, 60)
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.memory_percent
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.evaluation_periods
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = merge(var.tags, { App = each.key })
}

# The load balancer's own 5xx (no healthy target, target timeouts). The
# metric has no target group dimension, so this alarm covers every app; it
# is reported only when non-zero, so a missing minute is a good one.
resource "aws_cloudwatch_metric_alarm" "alb_5xx" {
  alarm_name          = "${var.name}-alb-5xx"
  alarm_description   = "The load balancer itself answered 5xx more than ${var.alb_5xx_threshold} times a minute for 3 minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_ELB_5XX_Count"
  dimensions          = { LoadBalancer = var.load_balancer_arn_suffix }
  statistic           = "Sum"
  period              = 60
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alb_5xx_threshold
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = var.tags
}

# ---------------------------------------------------------------------------
# The dashboard: a band per app, in the apps' name order.

locals {
  band_height = 19
  app_order   = sort(keys(var.apps))
  app_alarm_arns = {
    for app in keys(local.alarmed) : app => concat(
      [
        aws_cloudwatch_metric_alarm.error_rate[app].arn,
        aws_cloudwatch_metric_alarm.latency[app].arn,
        aws_cloudwatch_metric_alarm.unhealthy[app].arn,
        aws_cloudwatch_metric_alarm.cpu[app].arn,
        aws_cloudwatch_metric_alarm.memory[app].arn,
      ],
      contains(keys(local.task_alarmed), app) ? [aws_cloudwatch_metric_alarm.tasks[app].arn] : [],
    )
  }
  # The widgets without their region (which only AWS knows at plan time),
  # so that tests/infra can read every app's panels from the evaluation.
  panels = {
    for app in local.app_order : app => [
      { x = 0, y = 0, width = 24, height = 1, type = "text", properties = { markdown = "## ${app}" } },
      {
        x = 0, y = 1, width = 8, height = 6, type = "metric",
        properties = {
          title   = "${app}: requests", view = "timeSeries", stat = "Sum", period = 60,
          metrics = [["AWS/ApplicationELB", "RequestCount", "TargetGroup", var.apps[app].target_group_arn_suffix, "LoadBalancer", var.load_balancer_arn_suffix, { label = "requests" }]]
        }
      },
      {
        x = 8, y = 1, width = 8, height = 6, type = "metric",
        properties = {
          title = "${app}: latency (s)", view = "timeSeries", period = 60,
          metrics = [
            ["AWS/ApplicationELB", "TargetResponseTime", "TargetGroup", var.apps[app].target_group_arn_suffix, "LoadBalancer", var.load_balancer_arn_suffix, { stat = "p50", label = "p50" }],
            ["AWS/ApplicationELB", "TargetResponseTime", "TargetGroup", var.apps[app].target_group_arn_suffix, "LoadBalancer", var.load_balancer_arn_suffix, { stat = "p99", label = "p99" }],
          ]
          annotations = { horizontal = [{ label = "p99 alarm", value = var.apps[app].latency_p99_ms / 1000 }] }
        }
      },
      {
        x = 16, y = 1, width = 8, height = 6, type = "metric",
        properties = {
          title = "${app}: 4xx and 5xx", view = "timeSeries", stat = "Sum", period = 60,
          metrics = [
            ["AWS/ApplicationELB", "HTTPCode_Target_4XX_Count", "TargetGroup", var.apps[app].target_group_arn_suffix, "LoadBalancer", var.load_balancer_arn_suffix, { label = "4xx" }],
            ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "TargetGroup", var.apps[app].target_group_arn_suffix, "LoadBalancer", var.load_balancer_arn_suffix, { label = "5xx" }],
          ]
        }
      },
      {
        x = 0, y = 7, width = 8, height = 6, type = "metric",
        properties = {
          title = "${app}: targets", view = "timeSeries", stat = "Maximum", period = 60,
          metrics = [
            ["AWS/ApplicationELB", "HealthyHostCount", "TargetGroup", var.apps[app].target_group_arn_suffix, "LoadBalancer", var.load_balancer_arn_suffix, { label = "healthy" }],
            ["AWS/ApplicationELB", "UnHealthyHostCount", "TargetGroup", var.apps[app].target_group_arn_suffix, "LoadBalancer", var.load_balancer_arn_suffix, { label = "unhealthy" }],
          ]
        }
      },
      {
        x = 8, y = 7, width = 8, height = 6, type = "metric",
        properties = {
          title = "${app}: running and desired tasks", view = "timeSeries", stat = "Average", period = 60,
          metrics = [
            ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", var.cluster_name, "ServiceName", var.apps[app].service, { label = "running" }],
            ["ECS/ContainerInsights", "DesiredTaskCount", "ClusterName", var.cluster_name, "ServiceName", var.apps[app].service, { label = "desired" }],
          ]
          annotations = { horizontal = [{ label = "replicas.min", value = var.apps[app].min }, { label = "replicas.max", value = var.apps[app].max }] }
        }
      },
      {
        x = 16, y = 7, width = 8, height = 6, type = "metric",
        properties = {
          title = "${app}: CPU and memory (%)", view = "timeSeries", stat = "Average", period = 60,
          metrics = [
            ["AWS/ECS", "CPUUtilization", "ClusterName", var.cluster_name, "ServiceName", var.apps[app].service, { label = "CPU" }],
            ["AWS/ECS", "MemoryUtilization", "ClusterName", var.cluster_name, "ServiceName", var.apps[app].service, { label = "memory" }],
          ]
          yAxis = { left = { min = 0, max = 100 } }
        }
      },
      {
        x = 0, y = 13, width = 8, height = 6, type = "metric",
        properties = {
          title   = "${app}: deploys (deployments in flight)", view = "timeSeries", stat = "Maximum", period = 60,
          metrics = [["ECS/ContainerInsights", "DeploymentCount", "ClusterName", var.cluster_name, "ServiceName", var.apps[app].service, { label = "deployments" }]]
        }
      },
      {
        x = 8, y = 13, width = 16, height = 6, type = "alarm",
        properties = {
          title  = "${app}: alarms"
          alarms = concat(lookup(local.app_alarm_arns, app, []), [aws_cloudwatch_metric_alarm.alb_5xx.arn])
        }
      },
    ]
  }
}

locals {
  widgets = flatten([
    for index, app in local.app_order : [
      for panel in local.panels[app] : merge(panel, {
        y          = panel.y + index * local.band_height
        properties = panel.type == "metric" ? merge(panel.properties, { region = local.region }) : panel.properties
      })
    ]
  ])
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.widgets })
}
