"""What each app's JSON asks of the infrastructure, checked against infra/
as evaluated with that JSON.

The expectations are derived here, from the JSON and the defaults in its
JSON Schema (generated from config/src/app.rs), independently of the HCL
that derives the same values, so that a slip on either side shows up.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from .evaluate import Evaluated
from .paths import SCHEMA_FILE

CPU_METRIC = "ECSServiceAverageCPUUtilization"
MEMORY_METRIC = "ECSServiceAverageMemoryUtilization"


@dataclass
class Expected:
    """One app as its JSON describes it, every default applied."""

    app: str
    launch_type: str
    cpu_architecture: str
    port: int
    cpu: int
    memory: int
    replicas: dict
    scaling: dict
    health_check: dict
    microservices: list
    environment: dict
    cluster: str
    service: str
    family: str
    container: str
    repository: str
    deregistration_delay: int
    alarms: dict

    @property
    def target_type(self) -> str:
        return {"EC2": "instance", "FARGATE": "ip"}[self.launch_type]

    @property
    def network_mode(self) -> str:
        return {"EC2": "bridge", "FARGATE": "awsvpc"}[self.launch_type]

    @property
    def host_port(self) -> int:
        # Bridge mode asks for a dynamic host port; awsvpc needs the container's.
        return 0 if self.launch_type == "EC2" else self.port

    @property
    def log_group(self) -> str:
        return f"/ecs/{self.app}"


def schema_defaults(schema_file: Path = SCHEMA_FILE) -> dict[str, dict]:
    """Each nested type's field defaults, as the JSON Schema states them."""
    defs = json.loads(schema_file.read_text())["$defs"]
    return {
        name: {field: spec["default"] for field, spec in d.get("properties", {}).items() if "default" in spec}
        for name, d in defs.items()
    }


def top_level_defaults(schema_file: Path = SCHEMA_FILE) -> dict:
    """The app's own field defaults, as the JSON Schema states them."""
    props = json.loads(schema_file.read_text()).get("properties", {})
    return {field: spec["default"] for field, spec in props.items() if "default" in spec}


def expected(cfg: dict, environment: str, version: str, defaults: dict[str, dict]) -> Expected:
    scaling = {**defaults["Scaling"], **cfg.get("scaling", {})}
    health = {**defaults["HealthCheck"], **cfg.get("health_check", {})}
    deploy = {**defaults["Deploy"], **cfg["deploy"]}
    services = cfg["microservices"]
    if health.get("path") is None:
        # AppConfig::health_check_path
        first = services[0] if services else None
        health["path"] = (first.get("health_path") or f"/{first['name']}/health") if first else "/health"
    env = dict(cfg.get("environment", {}))
    # AppConfig::container_environment
    env.update(
        APP_NAME=cfg["app"],
        APP_LAUNCH_TYPE=cfg["launch_type"],
        APP_ENV=environment,
        APP_PORT=str(cfg["port"]),
        APP_VERSION=version,
    )
    return Expected(
        app=cfg["app"],
        launch_type=cfg["launch_type"],
        cpu_architecture=cfg.get("cpu_architecture", top_level_defaults()["cpu_architecture"]),
        port=cfg["port"],
        cpu=cfg["cpu"],
        memory=cfg["memory"],
        replicas=cfg["replicas"],
        scaling=scaling,
        health_check=health,
        microservices=services,
        environment=env,
        cluster=deploy["cluster"],
        service=deploy.get("service") or cfg["app"],
        family=deploy.get("family") or cfg["app"],
        container=deploy.get("container") or cfg["app"],
        repository=deploy.get("repository") or cfg["app"],
        deregistration_delay=deploy["deregistration_delay_seconds"],
        alarms={**defaults["Alarms"], **cfg.get("alarms", {})},
    )


def one_block(value) -> dict:
    """A nested block as tfparse gives it: a dict, or a list when repeated."""
    if isinstance(value, list):
        return value[0] if value else {}
    return value or {}


def all_blocks(value) -> list[dict]:
    if isinstance(value, list):
        return value
    return [value] if value else []


class Checker:
    """Collects the findings for one app."""

    def __init__(self, ev: Evaluated, exp: Expected):
        self.ev = ev
        self.exp = exp
        self.out: list[str] = []

    def expect(self, what: str, actual, wanted) -> None:
        same = actual == wanted
        if isinstance(actual, (int, float)) and isinstance(wanted, (int, float)):
            same = float(actual) == float(wanted)
        if not same:
            self.out.append(f"{self.exp.app}: {what} is {actual!r}, the JSON asks for {wanted!r}")

    def named(self, type_: str, attr: str, value) -> dict | None:
        found = [r for r in self.ev.resources(type_) if r.get(attr) == value]
        if not found:
            self.out.append(f"{self.exp.app}: no {type_} with {attr} = {value!r}")
            return None
        return found[0]

    def run(self) -> list[str]:
        exp = self.exp
        self.named("aws_ecs_cluster", "name", exp.cluster)
        self.named("aws_ecr_repository", "name", exp.repository)
        self.named("aws_cloudwatch_log_group", "name", exp.log_group)
        service = self.named("aws_ecs_service", "name", exp.service)
        if service is None:
            return self.out
        self.service(service)
        lb = one_block(service.get("load_balancer"))
        self.expect("the service's load balancer container", lb.get("container_name"), exp.container)
        self.expect("the service's load balancer port", lb.get("container_port"), exp.port)
        target_group = self.ev.by_id(lb.get("target_group_arn", ""))
        if target_group is None:
            self.out.append(f"{exp.app}: the service is attached to no target group")
        else:
            self.target_group(target_group)
            self.listener_rules(target_group)
        task = self.ev.by_id(service.get("task_definition", ""))
        if task is None:
            self.out.append(f"{exp.app}: the service has no task definition")
        else:
            self.task_definition(task)
        self.container()
        self.scaling()
        self.alarms()
        self.deployment_alarms()
        self.dashboard()
        return self.out

    def service(self, service: dict) -> None:
        exp = self.exp
        self.expect("the service's desired count", service.get("desired_count"), exp.replicas["desired"])
        breaker = one_block(service.get("deployment_circuit_breaker"))
        self.expect("the circuit breaker (enable, rollback)", (breaker.get("enable"), breaker.get("rollback")), (True, True))
        # (The awsvpc network configuration is not checked here: the evaluator
        # drops a dynamic block whose content waits on subnet IDs. checkov's
        # CKV_AWS_333 holds every service to assign_public_ip = false.)
        providers = {s.get("capacity_provider") for s in all_blocks(service.get("capacity_provider_strategy"))}
        fargate = {"FARGATE", "FARGATE_SPOT"}
        if exp.launch_type == "FARGATE":
            if not providers or not providers <= fargate:
                self.out.append(f"{exp.app}: a Fargate app runs on capacity providers {sorted(map(str, providers))}")
        elif not providers or providers & (fargate | {None}):
            self.out.append(f"{exp.app}: an EC2 app runs on capacity providers {sorted(map(str, providers))}")

    def target_group(self, tg: dict) -> None:
        exp = self.exp
        self.expect("the target group type", tg.get("target_type"), exp.target_type)
        self.expect("the target group port", tg.get("port"), exp.port)
        self.expect("the deregistration delay", tg.get("deregistration_delay"), exp.deregistration_delay)
        check = one_block(tg.get("health_check"))
        for field, json_field in (
            ("path", "path"),
            ("healthy_threshold", "healthy_threshold"),
            ("unhealthy_threshold", "unhealthy_threshold"),
            ("timeout", "timeout_seconds"),
            ("interval", "interval_seconds"),
            ("matcher", "matcher"),
        ):
            self.expect(f"the health check's {field}", check.get(field), exp.health_check[json_field])

    def listener_rules(self, tg: dict) -> None:
        routed: dict[str, list] = {}
        for rule in self.ev.resources("aws_lb_listener_rule"):
            action = one_block(rule.get("action"))
            if action.get("type") != "forward" or action.get("target_group_arn") != tg["id"]:
                continue
            for condition in all_blocks(rule.get("condition")):
                for pattern in one_block(condition.get("path_pattern")).get("values", []):
                    routed.setdefault(pattern, []).append(rule.get("priority"))
        wanted = {p: m["priority"] for m in self.exp.microservices for p in m["path_patterns"]}
        for pattern, priority in wanted.items():
            if pattern not in routed:
                self.out.append(f"{self.exp.app}: no listener rule forwards {pattern} to its target group")
            else:
                self.expect(f"the priority of the rule for {pattern}", routed[pattern], [priority])
        for pattern in routed.keys() - wanted.keys():
            self.out.append(f"{self.exp.app}: a listener rule forwards {pattern}, which its JSON does not route")

    def task_definition(self, task: dict) -> None:
        exp = self.exp
        self.expect("the task family", task.get("family"), exp.family)
        self.expect("the network mode", task.get("network_mode"), exp.network_mode)
        self.expect("the task's compatibilities", task.get("requires_compatibilities"), [exp.launch_type])
        self.expect("the task CPU", task.get("cpu"), str(exp.cpu))
        self.expect("the task memory", task.get("memory"), str(exp.memory))
        platform = one_block(task.get("runtime_platform"))
        self.expect("the task's CPU architecture", platform.get("cpu_architecture"), exp.cpu_architecture)
        self.expect("the task's operating system", platform.get("operating_system_family"), "LINUX")

    def container(self) -> None:
        """The container as the ECS module renders it (its local `containers`:
        the task definition's JSON itself waits on ARNs only AWS knows)."""
        exp = self.exp
        containers = self.ev.locals("module.ecs").get("containers", {})
        found = [c for c in containers.values() if c.get("name") == exp.container]
        if not found:
            self.out.append(f"{exp.app}: no container named {exp.container}")
            return
        c = found[0]
        ports = [(m.get("containerPort"), m.get("hostPort")) for m in c.get("portMappings", [])]
        self.expect("the container's port mappings (container, host)", ports, [(exp.port, exp.host_port)])
        env = {e["name"]: e["value"] for e in c.get("environment", [])}
        self.expect("the container's environment", env, exp.environment)

    def scaling(self) -> None:
        exp = self.exp
        resource_id = f"service/{exp.cluster}/{exp.service}"
        target = self.named("aws_appautoscaling_target", "resource_id", resource_id)
        if target is not None:
            self.expect("the scaling minimum", target.get("min_capacity"), exp.replicas["min"])
            self.expect("the scaling maximum", target.get("max_capacity"), exp.replicas["max"])
        policies = {}
        for policy in self.ev.resources("aws_appautoscaling_policy"):
            if policy.get("resource_id") != resource_id:
                continue
            config = one_block(policy.get("target_tracking_scaling_policy_configuration"))
            metric = one_block(config.get("predefined_metric_specification")).get("predefined_metric_type")
            policies[metric] = config
        for metric, target_field in ((CPU_METRIC, "cpu_target"), (MEMORY_METRIC, "memory_target")):
            config = policies.get(metric)
            if config is None:
                self.out.append(f"{exp.app}: no target-tracking policy on {metric}")
                continue
            self.expect(f"the {metric} target", config.get("target_value"), exp.scaling[target_field])
            self.expect(f"the {metric} scale-in cooldown", config.get("scale_in_cooldown"), exp.scaling["scale_in_cooldown_seconds"])
            self.expect(f"the {metric} scale-out cooldown", config.get("scale_out_cooldown"), exp.scaling["scale_out_cooldown_seconds"])

    # -- infra/modules/observability --------------------------------------

    def app_alarms(self) -> list[dict]:
        return [r for r in self.ev.resources("aws_cloudwatch_metric_alarm") if (r.get("tags") or {}).get("App") == self.exp.app]

    def alarms(self) -> None:
        """Each alarm the JSON's `alarms` section asks for, on the app's own
        target group or service, with its thresholds."""
        exp, a = self.exp, self.exp.alarms
        mine = self.app_alarms()
        if not a["enabled"]:
            if mine:
                self.out.append(f"{exp.app}: alarms.enabled is false, yet it has alarms {sorted(r.get('alarm_name') for r in mine)}")
            return
        tg_dims = {"TargetGroup", "LoadBalancer"}
        service_dims = {"ClusterName": exp.cluster, "ServiceName": exp.service}
        ecs_period = max(a["period_seconds"], 60)

        def find(kind: str, match) -> dict | None:
            found = [r for r in mine if match(r)]
            if len(found) != 1:
                self.out.append(f"{exp.app}: expected one {kind} alarm, found {len(found)}")
                return None
            alarm = found[0]
            if not alarm.get("alarm_actions") or not alarm.get("actions_enabled"):
                self.out.append(f"{exp.app}: the {kind} alarm notifies nobody")
            if alarm.get("treat_missing_data") not in ("notBreaching", "breaching", "ignore", "missing"):
                self.out.append(f"{exp.app}: the {kind} alarm leaves missing data to the default")
            return alarm

        def queried(alarm: dict) -> dict:
            return {
                one_block(q.get("metric")).get("metric_name"): one_block(q.get("metric"))
                for q in all_blocks(alarm.get("metric_query"))
                if q.get("metric")
            }

        rate = find("5xx-rate", lambda r: "HTTPCode_Target_5XX_Count" in queried(r))
        if rate is not None:
            metrics = queried(rate)
            for name, metric in metrics.items():
                self.expect(f"the 5xx-rate alarm's {name} dimensions", set(metric.get("dimensions") or {}), tg_dims)
                self.expect(f"the 5xx-rate alarm's {name} period", metric.get("period"), a["period_seconds"])
            # (The evaluator replaces each query's own id with one of its
            # own, so the expression's operands cannot be matched by name:
            # it must divide, and the only metrics queried are the 5xx count
            # and the request count.)
            returned = [q.get("expression") or "" for q in all_blocks(rate.get("metric_query")) if q.get("return_data")]
            if len(returned) != 1 or "/" not in returned[0]:
                self.out.append(f"{exp.app}: the 5xx-rate alarm returns no metric-math rate")
            self.expect("the 5xx-rate alarm's metrics", sorted(metrics), ["HTTPCode_Target_5XX_Count", "RequestCount"])
            self.expect("the 5xx-rate alarm's threshold", rate.get("threshold"), a["error_rate_percent"])
            self.expect("the 5xx-rate alarm's evaluation periods", rate.get("evaluation_periods"), a["evaluation_periods"])

        latency = find("latency", lambda r: r.get("metric_name") == "TargetResponseTime")
        if latency is not None:
            self.expect("the latency alarm's statistic", latency.get("extended_statistic"), "p99")
            self.expect("the latency alarm's dimensions", set(latency.get("dimensions") or {}), tg_dims)
            self.expect("the latency alarm's threshold (s)", latency.get("threshold"), a["latency_p99_ms"] / 1000)
            self.expect("the latency alarm's period", latency.get("period"), a["period_seconds"])
            self.expect("the latency alarm's evaluation periods", latency.get("evaluation_periods"), a["evaluation_periods"])

        unhealthy = find("unhealthy-hosts", lambda r: r.get("metric_name") == "UnHealthyHostCount")
        if unhealthy is not None:
            self.expect("the unhealthy-hosts alarm's dimensions", set(unhealthy.get("dimensions") or {}), tg_dims)
            self.expect("the unhealthy-hosts alarm's (operator, threshold)", (unhealthy.get("comparison_operator"), unhealthy.get("threshold")), ("GreaterThanThreshold", 0))
            self.expect("the unhealthy-hosts alarm's evaluation periods", unhealthy.get("evaluation_periods"), a["unhealthy_periods"])

        if exp.replicas["min"] > 0:
            tasks = find("running-tasks", lambda r: r.get("metric_name") == "RunningTaskCount")
            if tasks is not None:
                self.expect("the running-tasks alarm's dimensions", tasks.get("dimensions"), service_dims)
                self.expect("the running-tasks alarm's (operator, threshold)", (tasks.get("comparison_operator"), tasks.get("threshold")), ("LessThanThreshold", exp.replicas["min"]))

        for metric, field in (("CPUUtilization", "cpu_percent"), ("MemoryUtilization", "memory_percent")):
            alarm = find(metric, lambda r, m=metric: r.get("namespace") == "AWS/ECS" and r.get("metric_name") == m)
            if alarm is not None:
                self.expect(f"the {metric} alarm's dimensions", alarm.get("dimensions"), service_dims)
                self.expect(f"the {metric} alarm's threshold", alarm.get("threshold"), a[field])
                self.expect(f"the {metric} alarm's period", alarm.get("period"), ecs_period)

    def deployment_alarms(self) -> None:
        """The service's deployment alarms (the ECS module's
        `deployment_alarms` for this app: the evaluator drops the dynamic
        `alarms` block it renders) are this app's 5xx-rate and latency
        alarms, and they exist."""
        exp, a = self.exp, self.exp.alarms
        calls = [m for m in self.ev.raw.get("module", []) if m["__tfmeta"].get("path") == "module.ecs"]
        given = (calls[0].get("deployment_alarms") or {}) if calls else {}
        entry = given.get(exp.app)
        if not a["enabled"]:
            if entry:
                self.out.append(f"{exp.app}: alarms.enabled is false, yet the service has deployment alarms {entry.get('names')}")
            return
        if not entry:
            self.out.append(f"{exp.app}: the service has no deployment alarms")
            return
        names = entry.get("names") or []
        existing = {r.get("alarm_name") for r in self.ev.resources("aws_cloudwatch_metric_alarm")}
        for name in names:
            if name not in existing:
                self.out.append(f"{exp.app}: deployment alarm {name!r} is no alarm of the stack")
        mine = {
            r.get("alarm_name")
            for r in self.app_alarms()
            if r.get("metric_name") == "TargetResponseTime"
            or any(one_block(q.get("metric")).get("metric_name") == "HTTPCode_Target_5XX_Count" for q in all_blocks(r.get("metric_query")))
        }
        self.expect("the service's deployment alarms", sorted(names), sorted(mine))
        self.expect("the deployment alarms' rollback", entry.get("rollback"), a["rollback"])

    def dashboard(self) -> None:
        """The app's band of the dashboard (the module's `panels`: the body
        itself waits on the region, which only AWS knows)."""
        exp = self.exp
        panels = (self.ev.locals("module.observability").get("panels") or {}).get(exp.app)
        if not panels:
            self.out.append(f"{exp.app}: the dashboard has no widgets for it")
            return
        shown = set()
        for panel in panels:
            props = panel.get("properties") or {}
            if panel.get("type") == "alarm" and props.get("alarms"):
                shown.add("alarms")
            for line in props.get("metrics") or []:
                opts = line[-1] if line and isinstance(line[-1], dict) else {}
                dims = dict(zip(line[2:-1:2], line[3:-1:2])) if opts else dict(zip(line[2::2], line[3::2]))
                if line[0].startswith(("AWS/ECS", "ECS/")) and dims.get("ServiceName") != exp.service:
                    continue
                stat = opts.get("stat") or props.get("stat")
                shown.add(f"{line[1]} {stat}" if line[1] == "TargetResponseTime" else line[1])
        wanted = [
            "RequestCount",
            "TargetResponseTime p50",
            "TargetResponseTime p99",
            "HTTPCode_Target_4XX_Count",
            "HTTPCode_Target_5XX_Count",
            "HealthyHostCount",
            "UnHealthyHostCount",
            "RunningTaskCount",
            "DesiredTaskCount",
            "CPUUtilization",
            "MemoryUtilization",
            "DeploymentCount",
            "alarms",
        ]
        for item in wanted:
            if item not in shown:
                self.out.append(f"{exp.app}: the dashboard has no {item} widget")


def findings(ev: Evaluated, apps: list[dict], environment: str, version: str) -> list[str]:
    defaults = schema_defaults()
    out = []
    for cfg in apps:
        out += Checker(ev, expected(cfg, environment, version, defaults)).run()
    return out
