#!/usr/bin/env bash
# Benchmarks both apps and a baseline in the same run, and prints a table:
#   - requests/s and p99 latency of the info and health routes, with the
#     server pinned to one core (taskset) and wrk on the other;
#   - idle resident memory;
#   - time from process start to the first healthy answer;
#   - image size, from the Docker engine when DOCKER_HOST reaches one.
# The baseline is a bare hyper server answering fixed JSON
# (service-core/examples/hello_baseline.rs); the apps' throughput and
# latency are also printed as ratios to it, so that figures from different
# machines compare.
#
# Usage: bench/services.sh   (BENCH_DURATION=10s BENCH_CONNECTIONS=64
#        BENCH_IMAGES=0 to skip building the images)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
BENCH_IMAGES=${BENCH_IMAGES:-1}
RESULTS=bench/results
mkdir -p "$RESULTS"
BENCH_LOG="$RESULTS/services-$(date +%Y%m%d-%H%M%S).log"
: >"$BENCH_LOG"

for tool in wrk taskset curl; do
    command -v "$tool" >/dev/null || { echo "bench needs $tool (tests/setup installs it)" >&2; exit 1; }
done
if (($(nproc) < 2)); then
    echo "bench needs two cores: one for the server, one for wrk" >&2
    exit 1
fi

echo "building release binaries..." >&2
cargo build --release --locked -q -p service-a -p service-b
cargo build --release --locked -q -p service-core --example hello_baseline
BIN=target/release

images=false
if [[ $BENCH_IMAGES == 1 ]] && docker info >/dev/null 2>&1; then
    images=true
    for app in service-a service-b; do
        dockerfile=$(sed -n 's/.*"dockerfile": *"\([^"]*\)".*/\1/p' "config/$app.json")
        echo "building the $app image from $dockerfile (cached layers make this quick)..." >&2
        docker build -q --network host -f "$dockerfile" -t "ecs-pipeline-bench/$app:latest" . >>"$BENCH_LOG" 2>&1
    done
fi

PORT=${BENCH_PORT:-5990}
rows=()
baseline_rps=
baseline_p99=
# measure NAME BINARY HEALTH_PATH ROUTE...
measure() {
    local name=$1 bin=$2 health=$3
    shift 3
    start_pinned "$PORT" "$bin"
    trap stop_server EXIT
    local startup rss image="-"
    startup=$(ms_to_healthy "http://127.0.0.1:$PORT$health")
    sleep 1
    rss=$(rss_mib "$SERVER_PID")
    if $images && [[ $name != baseline ]]; then
        image=$(image_mib "ecs-pipeline-bench/$name:latest")
    fi
    local route figures rps p99
    for route in "$@"; do
        echo "load: $name $route ($DURATION, $CONNECTIONS connections)" >&2
        figures=$(load "http://127.0.0.1:$PORT$route") || exit 1
        read -r rps p99 <<<"$figures"
        [[ -n $baseline_rps ]] || { baseline_rps=$rps; baseline_p99=$p99; }
        rows+=("$name|$route|$rps|$p99|$(ratio "$rps" "$baseline_rps")|$(ratio "$p99" "$baseline_p99")|$rss|$startup|$image")
    done
    stop_server
    trap - EXIT
}

measure baseline "$BIN/examples/hello_baseline" / /
for app in service-a service-b; do
    first=$(sed -n 's/.*"name": *"\([a-z0-9-]*\)".*/\1/p' "config/$app.json" | head -1)
    measure "$app" "$BIN/$app" "/$first/health" "/$first" "/$first/health"
done

{
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
        app route "req/s" "p99 ms" "req/s vs baseline" "p99 vs baseline" "idle RSS MiB" "start to healthy ms" "image MiB"
    printf '|%s\n' "---|---|---:|---:|---:|---:|---:|---:|---:|"
    for row in "${rows[@]}"; do
        IFS='|' read -r -a f <<<"$row"
        # shellcheck disable=SC2016 # the backticks are Markdown
        printf '| %s | `%s` | %s | %s | %s | %s | %s | %s | %s |\n' "${f[@]}"
    done
    echo
    if $images; then
        echo "The images' runtime base (debian:bookworm-slim here) is $(image_mib debian:bookworm-slim) MiB of that."
    fi
    echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); server on core $SERVER_CORE, wrk on core $LOAD_CORE; wrk -t1 -c$CONNECTIONS -d$DURATION."
} | tee -a "$BENCH_LOG"
echo "raw wrk output: $BENCH_LOG" >&2
