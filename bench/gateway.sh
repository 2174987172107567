#!/usr/bin/env bash
# The local gateway's cost: throughput and p99 latency of one app through
# the gateway against the same app straight, measured in the same run with
# wrk, and their ratio.
#
#   bench/gateway.sh [--tag TAG] [--no-build]
#
# It runs `deployer up APP` on a free port with a copy of the app's JSON
# that has one replica (so that both runs hit the very same process) and a
# whole CPU (so that the shipped quarter-CPU quota does not cap both runs
# alike and hide the gateway), then stops the fleet again.
# Environment: DOCKER_HOST (required), BENCH_APP (service-b), BENCH_PATH
# (/finance), BENCH_DURATION (10s), BENCH_CONNECTIONS (32), BENCH_THREADS (1).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

APP=${BENCH_APP:-service-b}
URL_PATH=${BENCH_PATH:-/finance}
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-1}
UP_ARGS=()
while (($#)); do
    case $1 in
    --tag) UP_ARGS+=(--tag "$2"); shift 2 ;;
    --no-build) UP_ARGS+=(--no-build); shift ;;
    *) echo "usage: bench/gateway.sh [--tag TAG] [--no-build]" >&2; exit 2 ;;
    esac
done
for tool in wrk jq curl python3; do
    command -v "$tool" >/dev/null || { echo "bench/gateway.sh needs $tool (tests/setup installs it)" >&2; exit 2; }
done
[[ -n ${DOCKER_HOST:-} ]] || { echo "set DOCKER_HOST to the Docker engine" >&2; exit 2; }

say() { printf '[bench] %s\n' "$*" >&2; }

say "building deployer (release)"
cargo build --release --quiet -p deployer
DEPLOYER=$ROOT/target/release/deployer

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DEPLOYER_GATEWAY=127.0.0.1:$PORT DEPLOYER_CONFIG_DIR=$WORK/config LOG_FORMAT=text
mkdir "$WORK/config"
jq '.replicas = {desired: 1, min: 1, max: 1}
    | .cpu = 1024
    | .memory = (if .memory < 2048 then 2048 else .memory end)
    | del(."$schema")' "config/$APP.json" >"$WORK/config/$APP.json"

UP_PID=
cleanup() {
    if [[ -n $UP_PID ]] && kill -0 "$UP_PID" 2>/dev/null; then
        kill -INT "$UP_PID" 2>/dev/null || true
        wait "$UP_PID" 2>/dev/null || true
    fi
    "$DEPLOYER" down >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

say "deployer up $APP on 127.0.0.1:$PORT"
"$DEPLOYER" up "$APP" "${UP_ARGS[@]}" >"$WORK/up.log" 2>&1 &
UP_PID=$!

healthy_target() {
    curl -fsS "http://127.0.0.1:$PORT/_gateway/targets" 2>/dev/null |
        jq -er '[.targets[] | select(.state == "healthy")][0].address'
}
for _ in $(seq 600); do
    TARGET=$(healthy_target) && break
    kill -0 "$UP_PID" 2>/dev/null || { cat "$WORK/up.log" >&2; exit 1; }
    sleep 0.5
done
[[ -n ${TARGET:-} ]] || { say "no healthy target after 5 minutes"; cat "$WORK/up.log" >&2; exit 1; }

# wrk prints `Requests/sec: N` and, with --latency, a `99% N<unit>` line.
measure() { # measure URL -> "rps p99_ms"
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$1")
    awk '
        /^Requests\/sec:/ { rps = $2 }
        $1 == "99%" {
            v = $2
            if (v ~ /us$/) { sub(/us$/, "", v); p99 = v / 1000 }
            else if (v ~ /ms$/) { sub(/ms$/, "", v); p99 = v }
            else if (v ~ /s$/) { sub(/s$/, "", v); p99 = v * 1000 }
        }
        /Non-2xx|Socket errors/ { errors = errors " " $0 }
        END {
            if (errors != "") { print "wrk saw errors:" errors > "/dev/stderr"; exit 1 }
            printf "%s %s\n", rps, p99
        }' <<<"$out"
}

DIRECT_URL="http://$TARGET$URL_PATH"
GATEWAY_URL="http://127.0.0.1:$PORT$URL_PATH"
say "warming up"
wrk -t1 -c4 -d2s "$DIRECT_URL" >/dev/null
wrk -t1 -c4 -d2s "$GATEWAY_URL" >/dev/null
say "direct:  $DIRECT_URL"
read -r DIRECT_RPS DIRECT_P99 < <(measure "$DIRECT_URL")
say "gateway: $GATEWAY_URL"
read -r GATEWAY_RPS GATEWAY_P99 < <(measure "$GATEWAY_URL")

printf '\n%s GET %s, wrk -t%s -c%s -d%s, one target, %s cores\n' \
    "$APP" "$URL_PATH" "$THREADS" "$CONNECTIONS" "$DURATION" "$(nproc)"
printf '%-10s %12s %12s\n' "" "req/s" "p99 (ms)"
printf '%-10s %12.0f %12.2f\n' direct "$DIRECT_RPS" "$DIRECT_P99"
printf '%-10s %12.0f %12.2f\n' gateway "$GATEWAY_RPS" "$GATEWAY_P99"
awk -v gr="$GATEWAY_RPS" -v dr="$DIRECT_RPS" -v gp="$GATEWAY_P99" -v dp="$DIRECT_P99" 'BEGIN {
    printf "gateway/direct: throughput %.2f, p99 %.2f\n", gr / dr, gp / dp
}'
