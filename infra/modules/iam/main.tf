data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition
  # ARNs are built from names so that this module needs nothing from the ECS
  # module, which needs the roles from this one.
  ecs_arn_prefix = "arn:${local.partition}:ecs:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}"
  cluster_arn    = "${local.ecs_arn_prefix}:cluster/${var.cluster_name}"
  service_arns   = [for app in values(var.apps) : "${local.ecs_arn_prefix}:service/${var.cluster_name}/${app.service}"]
  family_arns    = [for app in values(var.apps) : "${local.ecs_arn_prefix}:task-definition/${app.family}:*"]
  managed_policy = "arn:${local.partition}:iam::aws:policy"
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
  name               = "${var.name}-task-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "${local.managed_policy}/service-role/AmazonECSTaskExecutionRolePolicy"
}

# The app's own identity, one per service. Empty: attach what an app needs
# to its role (output task_role_names) outside this module.
resource "aws_iam_role" "task" {
  for_each = var.apps

  name               = "${var.name}-${each.key}-task"
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

  name               = "${var.name}-ecs-instance"
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

  name = "${var.name}-ecs-instance"
  role = aws_iam_role.instance[0].name

  tags = var.tags
}

# Exactly what `deployer` calls, on these repositories, this cluster and
# these services. Some ECS and ELB actions cannot be scoped to a resource;
# those statements say so.
data "aws_iam_policy_document" "deployer" {
  statement {
    sid = "EcrLogin"
    # GetAuthorizationToken is account-wide by design; it grants no access
    # to any repository by itself.
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "EcrPushPull"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:InitiateLayerUpload",
      "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload",
      "ecr:PutImage",
      "ecr:BatchGetImage",
      "ecr:DescribeImages",
      # deployer finds the repository's URI (and so the registry) by name.
      "ecr:DescribeRepositories",
    ]
    resources = var.repository_arns
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
    actions = [
      "ecs:DescribeServices",
      "ecs:UpdateService",
      "ecs:TagResource",
      "ecs:ListTagsForResource",
    ]
    resources = local.service_arns
  }

  statement {
    sid = "TagTaskDefinitions"
    # A new revision carries the tags of the one it replaces.
    actions   = ["ecs:TagResource", "ecs:ListTagsForResource"]
    resources = local.family_arns
  }

  statement {
    sid       = "Cluster"
    actions   = ["ecs:DescribeClusters"]
    resources = [local.cluster_arn]
  }

  statement {
    sid       = "Tasks"
    actions   = ["ecs:DescribeTasks"]
    resources = ["${local.ecs_arn_prefix}:task/${var.cluster_name}/*"]
  }

  statement {
    sid       = "ListTasks"
    actions   = ["ecs:ListTasks"]
    resources = ["${local.ecs_arn_prefix}:container-instance/${var.cluster_name}/*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  statement {
    sid = "ServiceDeployments"
    # Following a rollout, and rolling a native (blue/green, linear, canary)
    # deployment back within itself.
    actions = [
      "ecs:ListServiceDeployments",
      "ecs:DescribeServiceDeployments",
      "ecs:StopServiceDeployment",
    ]
    resources = concat(
      local.service_arns,
      [for app in values(var.apps) : "${local.ecs_arn_prefix}:service-deployment/${var.cluster_name}/${app.service}/*"],
    )
  }

  statement {
    sid = "PruneListClusters"
    # Prune reads what every cluster runs: families are shared across
    # clusters. ListClusters cannot be scoped to a resource.
    actions   = ["ecs:ListClusters"]
    resources = ["*"]
  }

  statement {
    sid = "PruneListServices"
    # ListServices has no resource type; the condition keeps it to this
    # account's and region's clusters.
    actions   = ["ecs:ListServices"]
    resources = ["*"]

    condition {
      test     = "ArnLike"
      variable = "ecs:cluster"
      values   = ["${local.ecs_arn_prefix}:cluster/*"]
    }
  }

  statement {
    sid       = "PruneReadServices"
    actions   = ["ecs:DescribeServices"]
    resources = ["${local.ecs_arn_prefix}:service/*/*"]
  }

  statement {
    sid       = "PruneReadTasks"
    actions   = ["ecs:DescribeTasks"]
    resources = ["${local.ecs_arn_prefix}:task/*/*"]
  }

  statement {
    sid       = "PruneListTasks"
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
    # Read-only, for `deployer status`; ELB has no resource-level scoping
    # for the Describe actions.
    actions = [
      "elasticloadbalancing:DescribeTargetHealth",
      "elasticloadbalancing:DescribeTargetGroups",
    ]
    resources = ["*"]
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
  name        = "${var.name}-deployer"
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

  name               = "${var.name}-jenkins-deployer"
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
