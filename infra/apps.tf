# The apps, read from config/<app>.json: the one description of each app
# that the services, deployer and Jenkins read too. Nothing here repeats a
# value from those files; what a file leaves out gets the same default as in
# config/src/app.rs (module `defaults`, and the helpers on AppConfig).

locals {
  config_dir = coalesce(var.config_dir, "${path.module}/../config")
  # Every JSON file in the directory is an app, except the JSON Schema.
  app_files = [for file in sort(fileset(local.config_dir, "*.json")) : file if file != "service.schema.json"]
  app_json  = [for file in local.app_files : jsondecode(file("${local.config_dir}/${file}"))]

  # config::defaults
  defaults = {
    scaling_target       = 75
    scale_in_cooldown    = 300
    scale_out_cooldown   = 60
    healthy_threshold    = 3
    unhealthy_threshold  = 3
    health_timeout       = 5
    health_interval      = 15
    health_matcher       = "200"
    deregistration_delay = 15
    alarms_enabled       = true
    alarms_rollback      = true
    alarm_period         = 60
    alarm_evaluation     = 3
    error_rate_percent   = 5
    latency_p99_ms       = 1000
    unhealthy_periods    = 3
    ceiling_percent      = 90
  }

  apps = {
    for app in local.app_json : app.app => {
      port        = app.port
      launch_type = app.launch_type
      # CpuArchitecture: X86_64 unless the JSON says ARM64.
      cpu_architecture = try(app.cpu_architecture, "X86_64")
      # LaunchType::network_mode and LaunchType::target_type. EC2 tasks use
      # bridge networking with a dynamic host port (0), so that several fit
      # on one instance; Fargate tasks get their own ENI (awsvpc).
      network_mode = app.launch_type == "EC2" ? "bridge" : "awsvpc"
      target_type  = app.launch_type == "EC2" ? "instance" : "ip"
      host_port    = app.launch_type == "EC2" ? 0 : app.port
      cpu          = app.cpu
      memory       = app.memory
      desired      = app.replicas.desired
      min          = app.replicas.min
      max          = app.replicas.max

      cpu_target         = try(app.scaling.cpu_target, local.defaults.scaling_target)
      memory_target      = try(app.scaling.memory_target, local.defaults.scaling_target)
      scale_in_cooldown  = try(app.scaling.scale_in_cooldown_seconds, local.defaults.scale_in_cooldown)
      scale_out_cooldown = try(app.scaling.scale_out_cooldown_seconds, local.defaults.scale_out_cooldown)

      health_check = {
        # AppConfig::health_check_path: the JSON's path, else the first
        # microservice's health path (its own, or /<name>/health).
        path = coalesce(
          try(app.health_check.path, null),
          try(app.microservices[0].health_path, null),
          try("/${app.microservices[0].name}/health", null),
          "/health",
        )
        healthy_threshold   = try(app.health_check.healthy_threshold, local.defaults.healthy_threshold)
        unhealthy_threshold = try(app.health_check.unhealthy_threshold, local.defaults.unhealthy_threshold)
        timeout             = try(app.health_check.timeout_seconds, local.defaults.health_timeout)
        interval            = try(app.health_check.interval_seconds, local.defaults.health_interval)
        matcher             = try(app.health_check.matcher, local.defaults.health_matcher)
      }

      # One listener rule per microservice, at the priority its JSON fixes.
      rules = [
        for service in app.microservices : {
          name          = service.name
          priority      = service.priority
          path_patterns = service.path_patterns
        }
      ]

      # AppConfig::container_environment: the JSON's variables plus the ones
      # every deploy sets. APP_VERSION is the first image's tag; deployer
      # sets the real one on every later revision.
      environment = merge(try(app.environment, {}), {
        APP_NAME        = app.app
        APP_LAUNCH_TYPE = app.launch_type
        APP_ENV         = var.environment
        APP_PORT        = tostring(app.port)
        APP_VERSION     = var.initial_image_tag
      })

      # AppConfig::{service_name, family, container_name, repository, log_group}
      cluster              = app.deploy.cluster
      service              = coalesce(try(app.deploy.service, null), app.app)
      family               = coalesce(try(app.deploy.family, null), app.app)
      container            = coalesce(try(app.deploy.container, null), app.app)
      repository           = coalesce(try(app.deploy.repository, null), app.app)
      log_group            = "/ecs/${app.app}"
      deregistration_delay = try(app.deploy.deregistration_delay_seconds, local.defaults.deregistration_delay)

      # AppConfig::alarms (config::Alarms)
      alarms = {
        enabled            = try(app.alarms.enabled, local.defaults.alarms_enabled)
        rollback           = try(app.alarms.rollback, local.defaults.alarms_rollback)
        period             = try(app.alarms.period_seconds, local.defaults.alarm_period)
        evaluation_periods = try(app.alarms.evaluation_periods, local.defaults.alarm_evaluation)
        error_rate_percent = try(app.alarms.error_rate_percent, local.defaults.error_rate_percent)
        latency_p99_ms     = try(app.alarms.latency_p99_ms, local.defaults.latency_p99_ms)
        unhealthy_periods  = try(app.alarms.unhealthy_periods, local.defaults.unhealthy_periods)
        cpu_percent        = try(app.alarms.cpu_percent, local.defaults.ceiling_percent)
        memory_percent     = try(app.alarms.memory_percent, local.defaults.ceiling_percent)
      }
    }
  }

  # Every app names the cluster it deploys to; they must agree, and one()
  # fails the plan when they do not.
  cluster_name = coalesce(var.cluster_name, one(distinct([for app in values(local.apps) : app.cluster])))
  ec2_enabled  = anytrue([for app in values(local.apps) : app.launch_type == "EC2"])
  # HTTPS is decided from inputs alone, so that it is known at plan time
  # even when the certificate is created in the same apply.
  https_enabled = var.certificate_arn != null || (var.domain_name != null && var.create_certificate)

  # Each service's deployment alarms: its app's 5xx-rate and p99-latency
  # alarms, named as modules/observability names them (its output
  # deployment_alarms says the same; tests/infra checks that both agree and
  # that every name is an alarm that exists). ECS looks the alarms up when a
  # deployment runs, not when the service is created, so the order in which
  # one apply creates them does not matter.
  deployment_alarms = {
    for name, app in local.apps : name => {
      names    = ["${local.cluster_name}-${name}-5xx-rate", "${local.cluster_name}-${name}-latency-p99"]
      rollback = app.alarms.rollback
    } if app.alarms.enabled
  }
}
