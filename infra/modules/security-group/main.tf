locals {
  # What the load balancer sends to, by launch type: Fargate tasks get their
  # own ENI and listen on the container port; EC2 tasks in bridge mode get a
  # dynamic host port from the ephemeral range (32768-65535 covers both the
  # kernel's range and the one newer ECS agents use).
  fargate_ports = toset([for app in values(var.apps) : app.port if app.launch_type == "FARGATE"])
  ec2_enabled   = anytrue([for app in values(var.apps) : app.launch_type == "EC2"])
  target_ranges = merge(
    { for port in local.fargate_ports : "port-${port}" => { from = port, to = port } },
    local.ec2_enabled ? { ephemeral = { from = 32768, to = 65535 } } : {},
  )
  listener_ports = var.https_enabled ? [80, 443] : [80]

  # Every rule of both groups, keyed by a stable name. A rule admits (or
  # sends to) either a CIDR block or the other group.
  ingress_rules = merge(
    {
      for pair in setproduct(local.listener_ports, var.ingress_cidrs) : "alb/listener-${pair[0]}/${pair[1]}" => {
        group       = "alb", from = pair[0], to = pair[0], cidr = pair[1], peer = null
        description = "Listener port ${pair[0]}"
      }
    },
    {
      for name, range in local.target_ranges : "services/from-alb/${name}" => {
        group       = "services", from = range.from, to = range.to, cidr = null, peer = "alb"
        description = "From the load balancer (${name})"
      }
    },
  )
  egress_rules = merge(
    {
      for name, range in local.target_ranges : "alb/to-services/${name}" => {
        group       = "alb", from = range.from, to = range.to, cidr = null, peer = "services"
        description = "To the services (${name})"
      }
    },
    {
      for cidr in var.egress_cidrs : "services/https/${cidr}" => {
        group       = "services", from = 443, to = 443, cidr = cidr, peer = null
        description = "HTTPS out: ECR, CloudWatch Logs, ECS and SSM endpoints"
      }
    },
  )
  groups = {
    alb      = aws_security_group.alb.id
    services = aws_security_group.services.id
  }
}

resource "aws_security_group" "alb" {
  #checkov:skip=CKV2_AWS_5:Attached to the load balancer in the alb module, through this module's output; the check does not follow module outputs.
  name_prefix = "${var.name}-alb-"
  description = "Load balancer of ${var.name}: HTTP(S) in from the allowed CIDRs, out to the services only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-alb" })

  lifecycle {
    create_before_destroy = true
  }
}

# Shared by the Fargate tasks' ENIs and the EC2 container instances (in
# bridge mode the instance's group is the tasks' group).
resource "aws_security_group" "services" {
  #checkov:skip=CKV2_AWS_5:Attached to the Fargate services and the EC2 launch template in the ecs module, through this module's output; the check does not follow module outputs.
  name_prefix = "${var.name}-services-"
  description = "ECS tasks and container instances of ${var.name}: in from the load balancer only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-services" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "this" {
  for_each = local.ingress_rules

  security_group_id            = local.groups[each.value.group]
  description                  = each.value.description
  ip_protocol                  = "tcp"
  from_port                    = each.value.from
  to_port                      = each.value.to
  cidr_ipv4                    = each.value.cidr
  referenced_security_group_id = each.value.peer == null ? null : local.groups[each.value.peer]

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "this" {
  for_each = local.egress_rules

  security_group_id            = local.groups[each.value.group]
  description                  = each.value.description
  ip_protocol                  = "tcp"
  from_port                    = each.value.from
  to_port                      = each.value.to
  cidr_ipv4                    = each.value.cidr
  referenced_security_group_id = each.value.peer == null ? null : local.groups[each.value.peer]

  tags = var.tags
}
