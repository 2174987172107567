#!/usr/bin/env bash
# Benchmark: the same deploy of both apps against one moto server, by
# deployer and by the old aws-cli + jq chain (bench/deployer-old-chain.sh).
# Prints the wall time and the number of AWS API calls of each, and their
# ratios.
#
# Both tools talk to moto through the rollout proxy of the ECS tests
# (deployer/examples/ecs_rollout_proxy.rs), which counts the calls it
# forwards and rolls ECS deployments forward (moto does not: every
# deployment completes at its second DescribeServices). Each tool deploys
# the same image to its own cluster, set up identically beforehand; the
# set-up goes to moto directly and is not counted.
#
# deployer checks the image, the cluster and the service first, follows
# each rollout to its end (polling every $POLL_INTERVAL) and prunes
# afterwards; the old chain does none of that, but starts one aws-cli
# process per call. What the extra calls buy is in the README.
#
# Needs: moto_server and aws (tests/requirements.txt), jq, cargo.
# Usage: bench/deployer.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[[ -d .venv/bin ]] && export PATH="$ROOT/.venv/bin:$PATH"
: "${POLL_INTERVAL:=1s}"

for tool in moto_server aws jq cargo curl python3; do
    command -v "$tool" >/dev/null || { echo "bench/deployer.sh: $tool is not on PATH" >&2; exit 2; }
done

cargo build -q -p deployer --bin deployer --example ecs_rollout_proxy
DEPLOYER="$ROOT/target/debug/deployer"
PROXY_BIN="$ROOT/target/debug/examples/ecs_rollout_proxy"

work=$(mktemp -d)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

moto_port=$(free_port)
moto_server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
moto="http://127.0.0.1:$moto_port"
for _ in $(seq 150); do curl -fsS "$moto/moto-api/" >/dev/null 2>&1 && break; sleep 0.2; done

"$PROXY_BIN" --upstream "$moto" >"$work/proxy.addr" 2>"$work/proxy.log" &
pids+=($!)
for _ in $(seq 100); do [[ -s $work/proxy.addr ]] && break; sleep 0.1; done
proxy=$(head -1 "$work/proxy.addr")

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
    AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
registry=123456789012.dkr.ecr.us-east-1.amazonaws.com

# Set-up, straight to moto: images v1 and v2 of each app, and each app's
# service on v1 in two identical clusters, one per tool.
setup() {
    local app port mode compat
    for app in service-a service-b; do
        aws --endpoint-url "$moto" ecr create-repository --repository-name "$app" >/dev/null
        for tag in v1 v2; do
            manifest=$(jq -cn --arg tag "$tag" '{schemaVersion: 2,
                mediaType: "application/vnd.docker.distribution.manifest.v2+json",
                config: {mediaType: "application/vnd.docker.container.image.v1+json", size: 7,
                         digest: "sha256:\($tag | @base64)"}, layers: [], annotations: {tag: $tag}}')
            aws --endpoint-url "$moto" ecr put-image --repository-name "$app" --image-tag "$tag" \
                --image-manifest "$manifest" >/dev/null
        done
    done
    for cluster in bench-deployer bench-old-chain; do
        aws --endpoint-url "$moto" ecs create-cluster --cluster-name "$cluster" >/dev/null
        for app in service-a service-b; do
            port=$(jq -r .port "config/$app.json")
            if [[ $app == service-a ]]; then mode=bridge compat=EC2; else mode=awsvpc compat=FARGATE; fi
            jq -n --arg app "$app" --arg image "$registry/$app:v1" --argjson port "$port" \
                --arg mode "$mode" --arg compat "$compat" '{
                family: $app, networkMode: $mode, requiresCompatibilities: [$compat],
                cpu: "256", memory: "512",
                executionRoleArn: "arn:aws:iam::123456789012:role/\($app)-execution",
                containerDefinitions: [
                  {name: $app, image: $image, essential: true,
                   portMappings: [{containerPort: $port, hostPort: (if $mode == "bridge" then 0 else $port end)}],
                   secrets: [{name: "DB_PASSWORD", valueFrom: "arn:aws:ssm:us-east-1:123456789012:parameter/db"}],
                   environment: [{name: "APP_ENV", value: "production"}]},
                  {name: "envoy", image: "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod",
                   essential: true, memoryReservation: 64}],
                ephemeralStorage: {sizeInGiB: 30},
                tags: [{key: "team", value: "payments"}]}' >"$work/$app.json"
            arn=$(aws --endpoint-url "$moto" ecs register-task-definition \
                --cli-input-json "file://$work/$app.json" \
                --query taskDefinition.taskDefinitionArn --output text)
            aws --endpoint-url "$moto" ecs create-service --cluster "$cluster" --service-name "$app" \
                --task-definition "$arn" --desired-count 2 >/dev/null
        done
    done
}
setup

calls() { curl -fsS "$proxy/__proxy/calls" | jq .count; }
reset_calls() { curl -fsS -X POST "$proxy/__proxy/reset" >/dev/null; }
now() { date +%s.%N; }

# Both apps at once, the way the two Jenkins pipelines run them.
run_both() { # run_both LOG COMMAND-FOR-APP...
    local log=$1 app status=0
    shift
    local -a jobs=()
    for app in service-a service-b; do
        "$@" "$app" >>"$log" 2>&1 &
        jobs+=($!)
    done
    for job in "${jobs[@]}"; do wait "$job" || status=1; done
    return $status
}

deploy_with_deployer() {
    AWS_ENDPOINT_URL="$proxy" "$DEPLOYER" deploy "$1" --cluster bench-deployer \
        --image "$registry/$1:v2" --poll-interval "$POLL_INTERVAL" --log-format text
}
deploy_with_old_chain() {
    AWS_ENDPOINT_URL="$proxy" bench/deployer-old-chain.sh "$1" bench-old-chain "$registry/$1:v2"
}

reset_calls
t0=$(now)
run_both "$work/deployer.log" deploy_with_deployer || { cat "$work/deployer.log" >&2; exit 1; }
t1=$(now)
deployer_calls=$(calls)

reset_calls
t2=$(now)
run_both "$work/old-chain.log" deploy_with_old_chain || { cat "$work/old-chain.log" >&2; exit 1; }
t3=$(now)
old_calls=$(calls)

awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" \
    -v dc="$deployer_calls" -v oc="$old_calls" -v poll="$POLL_INTERVAL" 'BEGIN {
    dw = t1 - t0; ow = t3 - t2
    printf "Deploy of service-a and service-b (in parallel) against one moto server\n\n"
    printf "%-26s %12s %16s\n", "", "wall time (s)", "AWS API calls"
    printf "%-26s %12.2f %16d\n", "deployer", dw, dc
    printf "%-26s %12.2f %16d\n", "aws-cli + jq chain", ow, oc
    printf "%-26s %12.2f %16.2f\n", "ratio deployer / chain", dw / ow, dc / oc
    printf "\ndeployer: one process per app; preflight, then each rollout followed to\n"
    printf "COMPLETED (polling every %s), then pruning. The chain: one aws-cli process\n", poll
    printf "per call; it returns once UpdateService is accepted, with nothing verified.\n"
}'
