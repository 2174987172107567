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
  public_rules = var.public_access_enabled ? {
    for pair in setproduct(keys(local.target_ranges), var.public_access_cidrs) :
    "${pair[0]}-${pair[1]}" => merge(local.target_ranges[pair[0]], { cidr = pair[1] })
  } : {}
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

resource "aws_vpc_security_group_ingress_rule" "alb_listener" {
  for_each = {
    for pair in setproduct(local.listener_ports, var.ingress_cidrs) : "${pair[0]}-${pair[1]}" => {
      port = pair[0]
      cidr = pair[1]
    }
  }

  security_group_id = aws_security_group.alb.id
  description       = "Listener port ${each.value.port}"
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "alb_to_services" {
  for_each = local.target_ranges

  security_group_id            = aws_security_group.alb.id
  description                  = "To the services (${each.key})"
  ip_protocol                  = "tcp"
  from_port                    = each.value.from
  to_port                      = each.value.to
  referenced_security_group_id = aws_security_group.services.id

  tags = var.tags
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

resource "aws_vpc_security_group_ingress_rule" "services_from_alb" {
  for_each = local.target_ranges

  security_group_id            = aws_security_group.services.id
  description                  = "From the load balancer (${each.key})"
  ip_protocol                  = "tcp"
  from_port                    = each.value.from
  to_port                      = each.value.to
  referenced_security_group_id = aws_security_group.alb.id

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "services_public" {
  for_each = local.public_rules

  security_group_id = aws_security_group.services.id
  description       = "Direct public access (opt-in), ${each.key}"
  ip_protocol       = "tcp"
  from_port         = each.value.from
  to_port           = each.value.to
  cidr_ipv4         = each.value.cidr

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "services_https" {
  for_each = toset(var.egress_cidrs)

  security_group_id = aws_security_group.services.id
  description       = "HTTPS out: ECR, CloudWatch Logs, ECS and SSM endpoints"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value

  tags = var.tags
}
