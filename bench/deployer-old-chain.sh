#!/usr/bin/env bash
# The deploy stage the Jenkins pipelines used before deployer, kept only as
# the benchmark's baseline (bench/deployer.sh). Do not use it to deploy: it
# deregisters the running revision before the new one is proven, which
# throws away the rollback target, it waits for nothing, and its jq edit
# loses whatever the filter forgets (the tags, here).
#
# Usage: deployer-old-chain.sh APP CLUSTER IMAGE
set -euo pipefail
app=$1 cluster=$2 image=$3
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. read the JSON
config="$ROOT/config/$app.json"
service=$(jq -r '.deploy.service // .app' "$config")
container=$(jq -r '.deploy.container // .app' "$config")
env_json=$(jq -c --arg v "${image##*:}" \
    '.environment + {APP_NAME: .app, APP_LAUNCH_TYPE: .launch_type, APP_ENV: "production",
      APP_PORT: (.port | tostring), APP_VERSION: $v} | to_entries | map({name: .key, value: .value})' "$config")

# 2. fetch the current task definition
running=$(aws ecs describe-services --cluster "$cluster" --services "$service" \
    --query 'services[0].taskDefinition' --output text)
aws ecs describe-task-definition --task-definition "$running" >"$work/current.json"

# 3. deregister the running one
aws ecs deregister-task-definition --task-definition "$running" >/dev/null

# 4. edit the JSON: the new image and variables
jq --arg c "$container" --arg image "$image" --argjson env "$env_json" '
    .taskDefinition
    | .containerDefinitions |= map(if .name == $c then .image = $image | .environment = $env else . end)
    | del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,
          .registeredAt, .registeredBy, .deregisteredAt)' "$work/current.json" >"$work/new.json"

# 5. register it
new=$(aws ecs register-task-definition --cli-input-json "file://$work/new.json" \
    --query 'taskDefinition.taskDefinitionArn' --output text)

# 6. update the service
aws ecs update-service --cluster "$cluster" --service "$service" --task-definition "$new" >/dev/null
echo "$app: $running -> $new"
