"""Validates the Jenkins agent pods against the Kubernetes API schema, offline.

Every jenkins/resources/ecs-pipeline/*.yaml must be a Pod that the schema of
each Kubernetes version in VERSIONS accepts in strict mode (no unknown
field), and every container must request and limit cpu, memory and
ephemeral-storage. The schemas come with the pinned kubernetes-validate
package (tests/requirements.txt), so nothing is fetched.

To show that the check bites, copies of one pod with a planted mistake (a
misspelt field, a missing limit, a wrong type) must each be rejected.

    .venv/bin/python tests/jenkins/validate-pods.py REPO_ROOT
Exit status: 0 when every pod passes and every planted mistake is caught, 1
otherwise, 2 on a usage error.
"""

import copy
import pathlib
import sys

import kubernetes_validate
import yaml

# An older Kubernetes version still common on managed clusters, and the
# newest the package knows: the pods must suit both.
VERSIONS = ["1.31", "1.37"]
RESOURCES = ["cpu", "memory", "ephemeral-storage"]


def problems(pod: dict, name: str) -> list[str]:
    """What is wrong with one pod document."""
    found = []
    if not isinstance(pod, dict) or pod.get("kind") != "Pod":
        return [f"{name}: not a Pod"]
    for version in VERSIONS:
        try:
            kubernetes_validate.validate(pod, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            path = ".".join(str(p) for p in err.path)
            found.append(f"{name}: Kubernetes {version}: {path}: {err.message}")
    for container in pod.get("spec", {}).get("containers", []):
        resources = container.get("resources") or {}
        for kind in ["requests", "limits"]:
            missing = [r for r in RESOURCES if r not in (resources.get(kind) or {})]
            if missing:
                found.append(f"{name}: container {container.get('name')}: no {kind} for {', '.join(missing)}")
    return found


def planted(pod: dict) -> dict[str, dict]:
    """Copies of `pod`, each with one mistake."""
    mistakes = {}
    misspelt = copy.deepcopy(pod)
    container = misspelt["spec"]["containers"][-1]
    container["volumeMount"] = container.pop("volumeMounts", [])
    mistakes["a misspelt volumeMounts"] = misspelt
    unlimited = copy.deepcopy(pod)
    del unlimited["spec"]["containers"][-1]["resources"]["limits"]["ephemeral-storage"]
    mistakes["a container without an ephemeral-storage limit"] = unlimited
    wrong_type = copy.deepcopy(pod)
    wrong_type["spec"]["containers"][-1]["args"] = "infinity"
    mistakes["args as a string"] = wrong_type
    return mistakes


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    directory = pathlib.Path(sys.argv[1]) / "jenkins/resources/ecs-pipeline"
    files = sorted(directory.glob("*.yaml"))
    if not files:
        print(f"no pod YAML under {directory}", file=sys.stderr)
        return 1
    failed = False
    pods = {}
    for file in files:
        try:
            pods[file] = yaml.safe_load(file.read_text())
        except yaml.YAMLError as err:
            print(f"{file}: not YAML: {err}", file=sys.stderr)
            failed = True
            continue
        found = problems(pods[file], str(file))
        for problem in found:
            print(problem, file=sys.stderr)
        failed = failed or bool(found)
        if not found:
            print(f"ok: {file} (Kubernetes {', '.join(VERSIONS)}, strict; requests and limits)")
    sample = next((pod for pod in pods.values() if isinstance(pod, dict) and pod.get("kind") == "Pod"), None)
    if sample is not None and not failed:
        for what, pod in planted(sample).items():
            if problems(pod, what):
                print(f"ok: the check rejects {what}")
            else:
                print(f"the check accepts {what}: it cannot tell", file=sys.stderr)
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
