data "aws_region" "current" {}

# The provider's default tags, for what they do not reach by themselves:
# the instances and volumes an Auto Scaling group launches.
data "aws_default_tags" "current" {}

locals {
  ec2_enabled = anytrue([for app in values(var.apps) : app.launch_type == "EC2"])
  # A capacity provider's name may not start with "aws", "ecs" or "fargate",
  # and the cluster's name may well start with "ecs".
  ec2_capacity_provider = "ec2-${var.name}"
  fargate_strategy = merge(
    { FARGATE = { base = var.fargate_base, weight = var.fargate_weight } },
    var.fargate_spot_weight > 0 ? { FARGATE_SPOT = { base = 0, weight = var.fargate_spot_weight } } : {},
  )
  ec2_strategy = { (local.ec2_capacity_provider) = { base = 0, weight = 1 } }
  # Every EC2 app shares one Auto Scaling group, so they share one CPU
  # architecture; the AMI parameter and the default instance type follow it.
  ec2_architectures = distinct([for app in values(var.apps) : app.cpu_architecture if app.launch_type == "EC2"])
  ec2_architecture  = local.ec2_enabled ? local.ec2_architectures[0] : "X86_64"
  instance_type     = coalesce(var.instance_type, var.default_instance_types[local.ec2_architecture])
  instance_tags     = merge(data.aws_default_tags.current.tags, var.tags)
  # Placement for EC2 tasks, in the order ECS applies it: spread over the
  # AZs first, then pack each AZ's instances by memory. A list, not a map:
  # a map would iterate in key order (binpack before spread).
  ec2_placement = [
    { type = "spread", field = "attribute:ecs.availability-zone" },
    { type = "binpack", field = "memory" },
  ]
  # Each app's container, as deployer renders it from the JSON (see
  # deployer/src/taskdef.rs): name, port mapping (host port 0 in bridge
  # mode, the container port in awsvpc), environment. The image and the log
  # configuration are added in the task definition.
  containers = {
    for app, cfg in var.apps : app => {
      name                   = cfg.container
      essential              = true
      readonlyRootFilesystem = true
      portMappings = [{
        containerPort = cfg.port
        hostPort      = cfg.host_port
        protocol      = "tcp"
      }]
      environment = [for key, value in cfg.environment : { name = key, value = value }]
    }
  }
  # Target tracking, two policies per app: one on CPU, one on memory.
  scaling_policies = merge([
    for app, cfg in var.apps : {
      "${app}/cpu"    = { app = app, metric = "ECSServiceAverageCPUUtilization", target = cfg.cpu_target }
      "${app}/memory" = { app = app, metric = "ECSServiceAverageMemoryUtilization", target = cfg.memory_target }
    }
  ]...)
}

resource "aws_ecs_cluster" "this" {
  #checkov:skip=CKV_AWS_65:Container Insights follow var.container_insights, "enabled" by default; "disabled" is a deliberate cost choice. checkov 3.3.30 leaves that module input unresolved in the whole stack (it resolves it when the module is scanned on its own), so it cannot see the value.
  name = var.name

  setting {
    name  = "containerInsights"
    value = var.container_insights
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "app" {
  for_each = var.apps

  #checkov:skip=CKV_AWS_158:Cost trade-off: CloudWatch Logs encrypts with an AWS-owned key already; a customer-managed KMS key adds a monthly key fee and per-request charges.
  #checkov:skip=CKV_AWS_338:Cost trade-off: app logs are kept for log_retention_days (30 by default), not a year; raise the variable where compliance asks for it.
  name              = each.value.log_group
  retention_in_days = var.log_retention_days

  tags = merge(var.tags, { App = each.key })
}

# EC2 capacity, only when an app runs on EC2: a launch template with the
# ECS-optimised AMI, an Auto Scaling group across the private subnets, and a
# capacity provider that scales the group to what the tasks need.
data "aws_ssm_parameter" "ecs_ami" {
  count = local.ec2_enabled ? 1 : 0

  name = var.ami_ssm_parameters[local.ec2_architecture]

  lifecycle {
    precondition {
      condition     = length(local.ec2_architectures) <= 1
      error_message = "The EC2 apps in var.apps share one Auto Scaling group and so one cpu_architecture, but ask for ${join(" and ", local.ec2_architectures)}: set the same cpu_architecture in their JSON, or run one of them on Fargate."
    }
  }
}

resource "aws_launch_template" "ec2" {
  count = local.ec2_enabled ? 1 : 0

  name_prefix            = "${var.name}-ecs-"
  description            = "ECS container instances of ${var.name}"
  image_id               = data.aws_ssm_parameter.ecs_ami[0].insecure_value
  instance_type          = local.instance_type
  vpc_security_group_ids = [var.security_group_id]
  update_default_version = true
  user_data = base64encode(<<-EOT
    #!/bin/bash
    cat >>/etc/ecs/ecs.config <<'CONFIG'
    ECS_CLUSTER=${var.name}
    ECS_ENABLE_TASK_IAM_ROLE=true
    ECS_CONTAINER_STOP_TIMEOUT=30s
    CONFIG
  EOT
  )

  iam_instance_profile {
    arn = var.instance_profile_arn
  }

  # IMDSv2 only, and one hop: the ECS agent reaches the instance metadata,
  # containers in bridge mode do not (they get their task role's
  # credentials from the agent).
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  monitoring {
    enabled = true
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = var.root_volume_size
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  # Launched resources get no provider default tags by themselves: copy
  # them here, so that instances and volumes show up in cost allocation.
  tag_specifications {
    resource_type = "instance"
    tags          = merge(local.instance_tags, { Name = "${var.name}-ecs" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(local.instance_tags, { Name = "${var.name}-ecs" })
  }

  tags = var.tags
}

resource "aws_autoscaling_group" "ec2" {
  count = local.ec2_enabled ? 1 : 0

  name_prefix         = "${var.name}-ecs-"
  vpc_zone_identifier = var.private_subnet_ids
  min_size            = var.ec2_min_size
  max_size            = var.ec2_max_size
  health_check_type   = "EC2"
  # Managed termination protection: ECS decides which instances are free to
  # go, so the group itself must never pick one.
  protect_from_scale_in = true

  launch_template {
    id      = aws_launch_template.ec2[0].id
    version = aws_launch_template.ec2[0].latest_version
  }

  tag {
    key                 = "AmazonECSManaged"
    value               = "true"
    propagate_at_launch = true
  }

  # The provider's default tags as well: the group propagates only the tags
  # set on it (the launch template's tag_specifications cover the volumes,
  # which the group does not tag).
  dynamic "tag" {
    for_each = local.instance_tags
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  # A new launch template version (a new ECS-optimised AMI, an instance
  # type) replaces the running instances, launching before terminating.
  # The instances are scale-in protected (managed termination protection),
  # so the refresh must include them; ECS managed draining moves their tasks
  # off first.
  instance_refresh {
    strategy = "Rolling"

    preferences {
      min_healthy_percentage       = 100
      max_healthy_percentage       = 200
      instance_warmup              = var.instance_warmup
      scale_in_protected_instances = "Refresh"
      skip_matching                = true
    }
  }

  lifecycle {
    # Managed scaling owns the desired capacity.
    ignore_changes = [desired_capacity]
  }
}

resource "aws_ecs_capacity_provider" "ec2" {
  count = local.ec2_enabled ? 1 : 0

  name = local.ec2_capacity_provider

  auto_scaling_group_provider {
    auto_scaling_group_arn         = aws_autoscaling_group.ec2[0].arn
    managed_termination_protection = "ENABLED"
    managed_draining               = "ENABLED"

    managed_scaling {
      status                    = "ENABLED"
      target_capacity           = var.ec2_target_capacity
      minimum_scaling_step_size = 1
      maximum_scaling_step_size = 2
    }
  }

  tags = var.tags
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = concat(["FARGATE", "FARGATE_SPOT"], aws_ecs_capacity_provider.ec2[*].name)

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    base              = 0
    weight            = 1
  }
}

# The first revision of each task definition. Every later one is registered
# by deployer from the JSON, on top of this one (it keeps the roles and the
# log configuration and replaces image, environment, port and size).
resource "aws_ecs_task_definition" "app" {
  for_each = var.apps

  family                   = each.value.family
  requires_compatibilities = [each.value.launch_type]
  network_mode             = each.value.network_mode
  cpu                      = tostring(each.value.cpu)
  memory                   = tostring(each.value.memory)
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = each.value.task_role_arn

  container_definitions = jsonencode([merge(local.containers[each.key], {
    image = each.value.image
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.app[each.key].name
        awslogs-region        = data.aws_region.current.region
        awslogs-stream-prefix = "ecs"
      }
    }
  })])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = each.value.cpu_architecture
  }

  # ManagedBy = terraform (provider default tags) marks this revision as
  # Terraform's: deployer never prunes it. When the JSON changes what this
  # revision holds, the old one stays registered (a service or a rollback
  # may still use it): deployer's prune leaves it, so does Terraform.
  skip_destroy = true

  tags = merge(var.tags, { App = each.key })
}

resource "aws_ecs_service" "app" {
  for_each = var.apps

  name                               = each.value.service
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.app[each.key].arn
  desired_count                      = each.value.desired
  platform_version                   = each.value.launch_type == "FARGATE" ? "LATEST" : null
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = var.health_check_grace_period
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"
  wait_for_steady_state              = false
  # Provider 6.x changes capacity_provider_strategy in place (launch type,
  # fargate_base, fargate_spot_weight) only with a forced new deployment;
  # without it the plan fails. The new deployment runs the service's
  # current revision.
  force_new_deployment = true

  dynamic "capacity_provider_strategy" {
    for_each = each.value.launch_type == "EC2" ? local.ec2_strategy : local.fargate_strategy
    content {
      capacity_provider = capacity_provider_strategy.key
      base              = capacity_provider_strategy.value.base
      weight            = capacity_provider_strategy.value.weight
    }
  }

  # Fargate: awsvpc, one ENI per task in the private subnets, no public IP.
  dynamic "network_configuration" {
    for_each = each.value.network_mode == "awsvpc" ? [1] : []
    content {
      subnets          = var.private_subnet_ids
      security_groups  = [var.security_group_id]
      assign_public_ip = false
    }
  }

  # EC2: spread the tasks over the AZs, then pack the instances.
  dynamic "ordered_placement_strategy" {
    for_each = each.value.launch_type == "EC2" ? local.ec2_placement : []
    content {
      type  = ordered_placement_strategy.value.type
      field = ordered_placement_strategy.value.field
    }
  }

  load_balancer {
    target_group_arn = each.value.target_group_arn
    container_name   = each.value.container
    container_port   = each.value.port
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # Deployment alarms (infra/modules/observability): ECS fails a deploy
  # whose new revision sets one off, even when its tasks are healthy.
  dynamic "alarms" {
    for_each = { for app, alarms in var.deployment_alarms : app => alarms if app == each.key }
    content {
      alarm_names = alarms.value.names
      enable      = true
      rollback    = alarms.value.rollback
    }
  }

  tags = merge(var.tags, { App = each.key })

  lifecycle {
    # The boundary with deployer: Terraform creates the first revision and
    # the initial count; deployer registers every later revision and
    # Application Auto Scaling moves the count. Without this, each apply
    # would roll the service back to the first revision and reset the count.
    ignore_changes = [task_definition, desired_count]
  }

  depends_on = [aws_ecs_cluster_capacity_providers.this]
}

resource "aws_appautoscaling_target" "app" {
  for_each = var.apps

  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.app[each.key].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = each.value.min
  max_capacity       = each.value.max

  tags = merge(var.tags, { App = each.key })
}

resource "aws_appautoscaling_policy" "app" {
  for_each = local.scaling_policies

  name               = replace(each.key, "/", "-")
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.app[each.value.app].service_namespace
  resource_id        = aws_appautoscaling_target.app[each.value.app].resource_id
  scalable_dimension = aws_appautoscaling_target.app[each.value.app].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = each.value.target
    scale_in_cooldown  = var.apps[each.value.app].scale_in_cooldown
    scale_out_cooldown = var.apps[each.value.app].scale_out_cooldown

    predefined_metric_specification {
      predefined_metric_type = each.value.metric
    }
  }
}
