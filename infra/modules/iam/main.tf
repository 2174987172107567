data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition
  # ARNs are built from names so that this module needs nothing from the ECS
  # module, which needs the roles from this one.
  region         = data.aws_region.current.region
  account_id     = data.aws_caller_identity.current.account_id
  ecs_arn_prefix = "arn:${local.partition}:ecs:${local.region}:${local.account_id}"
  cluster_arn    = "${local.ecs_arn_prefix}:cluster/${var.cluster_name}"
  service_arns   = [for app in values(var.apps) : "${local.ecs_arn_prefix}:service/${var.cluster_name}/${app.service}"]
  service_deployment_arns = [
    for app in values(var.apps) : "${local.ecs_arn_prefix}:service-deployment/${var.cluster_name}/${app.service}/*"
  ]
  family_arns = [for app in values(var.apps) : "${local.ecs_arn_prefix}:task-definition/${app.family}:*"]
  # Log group ARNs end in :* for the log actions (the streams in them).
  log_group_arns = [
    for app in values(var.apps) : "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${app.log_group}:*"
  ]
  managed_policy = "arn:${local.partition}:iam::aws:policy"
  # IAM names are account-global: the region keeps two stacks of one
  # cluster name in two regions apart.
  prefix = "${var.name}-${local.region}"
  role_names = merge(
    {
      execution = "${local.prefix}-task-execution"
      instance  = "${local.prefix}-ecs-instance"
      jenkins   = "${local.prefix}-jenkins-deployer"
    },
    { for app in keys(var.apps) : "task/${app}" => "${local.prefix}-${app}-task" },
  )
  long_role_names = [for name in values(local.role_names) : name if length(name) > 64]
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["${local.ecs_arn_prefix}:*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

# Used by the ECS agent, not by the app: pulls the image from ECR and writes
# the container's logs to CloudWatch.
resource "aws_iam_role" "execution" {
  name               = local.role_names.execution
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(local.long_role_names) == 0
      error_message = "IAM role names are at most 64 characters, and these are built from var.name (the cluster name), the region and the app names: ${join(", ", local.long_role_names)}. Shorten cluster_name or the app names."
    }
  }
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "${local.managed_policy}/service-role/AmazonECSTaskExecutionRolePolicy"
}

# The app's own identity, one per service. Empty: attach what an app needs
# to its role (output task_role_names) outside this module.
resource "aws_iam_role" "task" {
  for_each = var.apps

  name               = local.role_names["task/${each.key}"]
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = merge(var.tags, { App = each.key })
}

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

# ECS container instances: the agent registers the instance with the cluster,
# and Session Manager replaces SSH for debugging.
resource "aws_iam_role" "instance" {
  count = var.ec2_instance_role_enabled ? 1 : 0

  name               = local.role_names.instance
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "instance" {
  for_each = var.ec2_instance_role_enabled ? toset([
    "service-role/AmazonEC2ContainerServiceforEC2Role",
    "AmazonSSMManagedInstanceCore",
  ]) : toset([])

  role       = aws_iam_role.instance[0].name
  policy_arn = "${local.managed_policy}/${each.value}"
}

resource "aws_iam_instance_profile" "instance" {
  count = var.ec2_instance_role_enabled ? 1 : 0

  name = local.role_names.instance
  role = aws_iam_role.instance[0].name

  tags = var.tags
}

# Exactly what `deployer` calls, each action on the resource form AWS's
# Service Authorization Reference gives it, and scoped to this account and
# region. tests/infra/test_deployer_policy.py reads deployer's SDK calls from
# its source and fails when one is missing here, or when an action here is
# used by no code. Statements on "*" say why.
data "aws_iam_policy_document" "deployer" {
  statement {
    sid = "EcrLogin"
    # GetAuthorizationToken is account-wide by design; it grants no access
    # to any repository by itself.
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "EcrPush"
    # The layer and manifest calls are the Docker engine's, made with
    # deployer's token when it pushes; DescribeRepositories finds a
    # repository's URI by name.
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:InitiateLayerUpload",
      "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload",
      "ecr:PutImage",
      "ecr:BatchGetImage",
      "ecr:DescribeRepositories",
    ]
    resources = var.repository_arns
  }

  statement {
    sid = "EcrReadImages"
    # Preflight looks the image up and reads its platform (the manifest,
    # then the image config blob) before a deploy; images may come from
    # repositories elsewhere (image_repository_arns).
    actions   = ["ecr:DescribeImages", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = concat(var.repository_arns, var.image_repository_arns)
  }

  statement {
    sid = "TaskDefinitions"
    # ECS does not scope these four actions to a task definition.
    actions = [
      "ecs:RegisterTaskDefinition",
      "ecs:DeregisterTaskDefinition",
      "ecs:DescribeTaskDefinition",
      "ecs:ListTaskDefinitions",
    ]
    resources = ["*"]
  }

  statement {
    sid = "Services"
    # DescribeServices with its tags also needs ListTagsForResource.
    actions = [
      "ecs:UpdateService",
      "ecs:TagResource",
      "ecs:ListTagsForResource",
      "ecs:ListServiceDeployments",
    ]
    resources = local.service_arns
  }

  statement {
    sid = "ServiceDeployments"
    # DescribeServiceDeployments and StopServiceDeployment are evaluated
    # against the service-deployment ARN:
    # service-deployment/<cluster>/<service>/<id>.
    actions = [
      "ecs:DescribeServiceDeployments",
      "ecs:StopServiceDeployment",
    ]
    resources = local.service_deployment_arns
  }

  statement {
    sid = "TagTaskDefinitions"
    # A new revision is registered with tags: ECS authorises tagging on
    # create as ecs:TagResource on the revision.
    actions   = ["ecs:TagResource"]
    resources = local.family_arns
  }

  statement {
    sid       = "Cluster"
    actions   = ["ecs:DescribeClusters"]
    resources = [local.cluster_arn]
  }

  statement {
    sid = "ListClusters"
    # Prune checks that no service in the account and region still uses a
    # revision. ListClusters has no resource type: "*".
    actions   = ["ecs:ListClusters"]
    resources = ["*"]
  }

  statement {
    sid = "ListServices"
    # ListServices has no resource type; the ecs:cluster condition keeps it
    # to clusters of this account and region.
    actions   = ["ecs:ListServices"]
    resources = ["*"]

    condition {
      test     = "ArnLike"
      variable = "ecs:cluster"
      values   = ["${local.ecs_arn_prefix}:cluster/*"]
    }
  }

  statement {
    sid = "ReadServices"
    # Read-only, any service in the account and region (prune's protection).
    actions   = ["ecs:DescribeServices"]
    resources = ["${local.ecs_arn_prefix}:service/*"]
  }

  statement {
    sid = "ReadTasks"
    # DescribeTasks on the task ARN of any cluster in the account and region.
    actions   = ["ecs:DescribeTasks"]
    resources = ["${local.ecs_arn_prefix}:task/*"]
  }

  statement {
    sid = "ListTasks"
    # ListTasks filtered by service or family is evaluated against "*", not
    # against a container instance: "*" with the ecs:cluster condition works
    # either way and still keeps it to this account's clusters.
    actions   = ["ecs:ListTasks"]
    resources = ["*"]

    condition {
      test     = "ArnLike"
      variable = "ecs:cluster"
      values   = ["${local.ecs_arn_prefix}:cluster/*"]
    }
  }

  statement {
    sid = "TargetHealth"
    # Read-only, for the rollout and `deployer status`; ELB has no
    # resource-level scoping for the Describe actions.
    actions   = ["elasticloadbalancing:DescribeTargetHealth"]
    resources = ["*"]
  }

  statement {
    sid = "Logs"
    # `deployer logs`, on the apps' log groups.
    actions   = ["logs:FilterLogEvents"]
    resources = local.log_group_arns
  }

  statement {
    sid = "Alarms"
    # `deployer status` reads the services' alarms.
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:*"]
  }

  statement {
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = concat([aws_iam_role.execution.arn], [for role in aws_iam_role.task : role.arn])

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "deployer" {
  name        = "${local.prefix}-deployer"
  description = "Least privilege for deployer: push images, register task definitions, update and follow the ${var.cluster_name} services."
  policy      = data.aws_iam_policy_document.deployer.json

  tags = var.tags
}

data "aws_iam_policy_document" "pod_identity_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
}

# Optional: the Jenkins agents' identity through EKS Pod Identity, so that
# the pipeline needs no long-lived keys.
resource "aws_iam_role" "jenkins" {
  count = var.jenkins_role_enabled ? 1 : 0

  name               = local.role_names.jenkins
  assume_role_policy = data.aws_iam_policy_document.pod_identity_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "jenkins" {
  count = var.jenkins_role_enabled ? 1 : 0

  role       = aws_iam_role.jenkins[0].name
  policy_arn = aws_iam_policy.deployer.arn
}

resource "aws_eks_pod_identity_association" "jenkins" {
  count = var.jenkins_role_enabled && var.jenkins_eks_cluster_name != null ? 1 : 0

  cluster_name    = var.jenkins_eks_cluster_name
  namespace       = var.jenkins_namespace
  service_account = var.jenkins_service_account
  role_arn        = aws_iam_role.jenkins[0].arn

  tags = var.tags
}
