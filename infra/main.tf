module "network" {
  source = "./modules/network"

  name               = local.cluster_name
  cidr               = var.vpc_cidr
  az_count           = var.az_count
  availability_zones = var.availability_zones
  single_nat_gateway = var.single_nat_gateway
  flow_logs_enabled  = var.flow_logs_enabled

  interface_endpoints_enabled = var.interface_endpoints_enabled
}

module "ecr" {
  source = "./modules/ecr"

  repositories = toset([for app in values(local.apps) : app.repository])
  keep_images  = var.ecr_keep_images
  force_delete = var.ecr_force_delete
  # Terraform's first task definition revisions run this tag: never expire it.
  protected_tags = [var.initial_image_tag]
}

# deployer's own image (Dockerfile.deployer), which the deployer Jenkins job
# pushes and the app pipelines' pods run, pinned by digest.
module "ecr_deployer" {
  source = "./modules/ecr"

  repositories = toset([var.deployer_repository_name])
  keep_images  = var.ecr_keep_images
  force_delete = var.ecr_force_delete
}

module "iam" {
  source = "./modules/iam"

  name         = local.cluster_name
  cluster_name = local.cluster_name
  apps = {
    for name, app in local.apps : name => {
      service   = app.service
      family    = app.family
      log_group = app.log_group
    }
  }
  repository_arns           = concat(values(module.ecr.repository_arns), values(module.ecr_deployer.repository_arns))
  image_repository_arns     = var.image_repository_arns
  ec2_instance_role_enabled = local.ec2_enabled
  jenkins_role_enabled      = var.jenkins_role_enabled
  jenkins_eks_cluster_name  = var.jenkins_eks_cluster_name
  jenkins_namespace         = var.jenkins_namespace
  jenkins_service_account   = var.jenkins_service_account
}

module "security_group" {
  source = "./modules/security-group"

  name   = local.cluster_name
  vpc_id = module.network.vpc_id
  apps = {
    for name, app in local.apps : name => {
      port        = app.port
      launch_type = app.launch_type
    }
  }
  https_enabled = local.https_enabled
  ingress_cidrs = var.ingress_cidrs
}

module "alb" {
  source = "./modules/alb"

  name              = local.cluster_name
  vpc_id            = module.network.vpc_id
  subnet_ids        = module.network.public_subnet_ids
  security_group_id = module.security_group.alb_security_group_id
  apps = {
    for name, app in local.apps : name => {
      port                 = app.port
      target_type          = app.target_type
      deregistration_delay = app.deregistration_delay
      health_check         = app.health_check
      rules                = app.rules
    }
  }
  https_enabled       = local.https_enabled
  certificate_arn     = var.certificate_arn != null ? var.certificate_arn : one(module.route53[*].certificate_arn)
  deletion_protection = var.alb_deletion_protection
  access_logs_enabled = var.alb_access_logs_enabled

  access_logs_retention_days = var.alb_access_logs_retention_days
}

# Only with a domain: the alias record, and the certificate unless one is given.
module "route53" {
  source = "./modules/route53"
  count  = var.domain_name == null ? 0 : 1

  zone_name          = coalesce(var.hosted_zone_name, var.domain_name)
  record_name        = var.domain_name
  alb_dns_name       = module.alb.dns_name
  alb_zone_id        = module.alb.zone_id
  create_certificate = var.certificate_arn == null && var.create_certificate
}

module "ecs" {
  source = "./modules/ecs"

  name = local.cluster_name
  apps = {
    for name, app in local.apps : name => {
      service            = app.service
      family             = app.family
      container          = app.container
      port               = app.port
      host_port          = app.host_port
      launch_type        = app.launch_type
      cpu_architecture   = app.cpu_architecture
      network_mode       = app.network_mode
      cpu                = app.cpu
      memory             = app.memory
      desired            = app.desired
      min                = app.min
      max                = app.max
      cpu_target         = app.cpu_target
      memory_target      = app.memory_target
      scale_in_cooldown  = app.scale_in_cooldown
      scale_out_cooldown = app.scale_out_cooldown
      environment        = app.environment
      log_group          = app.log_group
      image              = "${module.ecr.repository_urls[app.repository]}:${var.initial_image_tag}"
      task_role_arn      = module.iam.task_role_arns[name]
      target_group_arn   = module.alb.target_group_arns[name]
    }
  }
  private_subnet_ids   = module.network.private_subnet_ids
  security_group_id    = module.security_group.services_security_group_id
  execution_role_arn   = module.iam.execution_role_arn
  instance_profile_arn = module.iam.instance_profile_arn
  container_insights   = var.container_insights
  log_retention_days   = var.log_retention_days
  instance_type        = var.instance_type
  ec2_min_size         = var.ec2_min_size
  ec2_max_size         = var.ec2_max_size
  fargate_base         = var.fargate_base
  fargate_spot_weight  = var.fargate_spot_weight
  deployment_alarms    = local.deployment_alarms
}

# Alarms from each app's JSON, the notification topic and the dashboard.
# Service names come from the JSON, not from module.ecs, since the services
# name this module's alarms as their deployment alarms.
module "observability" {
  source = "./modules/observability"

  name                     = local.cluster_name
  cluster_name             = local.cluster_name
  load_balancer_arn_suffix = module.alb.arn_suffix
  apps = {
    for name, app in local.apps : name => merge(app.alarms, {
      service                 = app.service
      target_group_arn_suffix = module.alb.target_group_arn_suffixes[name]
      min                     = app.min
      max                     = app.max
    })
  }
  container_insights = var.container_insights != "disabled"
  alb_5xx_threshold  = var.alb_5xx_threshold
  alarm_email        = var.alarm_email
}
