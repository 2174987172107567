#!/usr/bin/env bash
# Lints every app's Dockerfile with hadolint; any finding, whatever its
# severity, fails the suite. The Dockerfiles are the ones the app JSON
# files name (deploy.dockerfile), so a new app's is linted too.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

command -v hadolint >/dev/null || { echo "hadolint is missing (tests/setup installs it)" >&2; exit 1; }

mapfile -t dockerfiles < <(sed -n 's/.*"dockerfile": *"\([^"]*\)".*/\1/p' config/*.json | sort -u)
# deployer's own image, for the Jenkins agent pods.
dockerfiles+=(Dockerfile.deployer)
((${#dockerfiles[@]})) || { echo "no Dockerfile named in config/*.json" >&2; exit 1; }

status=0
for dockerfile in "${dockerfiles[@]}"; do
    if [[ ! -f $dockerfile ]]; then
        echo "$dockerfile: named in config/ but missing" >&2
        status=1
    elif hadolint --failure-threshold style "$dockerfile"; then
        echo "$dockerfile: clean"
    else
        status=1
    fi
done
exit "$status"
