#!/usr/bin/env bash
# Benchmarks both apps and a baseline in the same run, and prints a table:
#   - requests/s and p99 latency, with the server pinned to one core
#     (taskset) and wrk on the other: each app's first info route without
#     logging (RUST_LOG=off) and with production logging (JSON, one line per
#     request, to a file), and its health route with production logging;
#   - idle resident memory;
#   - time from process start to the first healthy answer;
#   - image size, from the Docker engine when DOCKER_HOST reaches one;
#   - requests/s per task at the app's JSON CPU share and scaling target,
#     for the cost plan.
# The baseline is a bare hyper server answering fixed JSON
# (service-core/examples/hello_baseline.rs); the apps' throughput and
# latency are also printed as ratios to it, so that figures from different
# machines compare.
#
# Everything is measured BENCH_ROUNDS times, the baseline first in each
# round, and each app figure is divided by the baseline of its own round:
# on a shared machine a disturbance then hits both sides of a ratio alike.
# Each row shows its median round (by req/s ratio); the spread of the
# ratios over the rounds is printed under the table.
#
# Usage: bench/services.sh   (BENCH_DURATION=10s BENCH_CONNECTIONS=64
#        BENCH_ROUNDS=3 BENCH_IMAGES=0 to skip building the images)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
ROUNDS=${BENCH_ROUNDS:-3}
BENCH_IMAGES=${BENCH_IMAGES:-1}
RESULTS=bench/results
mkdir -p "$RESULTS"
BENCH_LOG="$RESULTS/services-$(date +%Y%m%d-%H%M%S).log"
: >"$BENCH_LOG"

for tool in wrk taskset curl jq; do
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
per_task=()
baseline_rps=
baseline_p99=
# measure ROUND NAME BINARY HEALTH_PATH LOG ROUTE... : LOG is `off` or
# `json`. The baseline comes first in each round and sets baseline_rps
# and baseline_p99 for the rest of it.
measure() {
    local round=$1 name=$2 bin=$3 health=$4 log=$5
    shift 5
    local logfile=off
    [[ $log == off ]] || logfile="$RESULTS/$name-access.log"
    start_pinned "$PORT" "$logfile" "$bin"
    trap stop_server EXIT
    local startup rss image="-"
    startup=$(ms_to_healthy "http://127.0.0.1:$PORT$health")
    sleep 1
    rss=$(rss_mib "$SERVER_PID")
    if $images && [[ $name != baseline ]]; then
        image=$(image_mib "ecs-pipeline-bench/$name:latest")
    fi
    local route figures rps p99 requests
    for route in "$@"; do
        echo "round $round: $name $route, log $log ($DURATION, $CONNECTIONS connections)" >&2
        figures=$(load "http://127.0.0.1:$PORT$route") || exit 1
        read -r rps p99 requests <<<"$figures"
        if [[ $name == baseline ]]; then
            baseline_rps=$rps
            baseline_p99=$p99
        fi
        rows+=("$round|$name|$route|$log|$rps|$p99|$(ratio "$rps" "$baseline_rps")|$(ratio "$p99" "$baseline_p99")|$rss|$startup|$image")
    done
    stop_server
    trap - EXIT
    if [[ $logfile != off ]]; then
        # Every request wrk counted was logged (the server also logs the
        # health polls and requests wrk left unfinished at the end).
        local lines
        lines=$(wc -l <"$logfile")
        echo "round $round: $name: $lines log lines for the requests above" >>"$BENCH_LOG"
        rm -f "$logfile"
    fi
}

for ((round = 1; round <= ROUNDS; round++)); do
    measure "$round" baseline "$BIN/examples/hello_baseline" / off /
    for app in service-a service-b; do
        first=$(jq -r '.microservices[0].name' "config/$app.json")
        measure "$round" "$app" "$BIN/$app" "/$first/health" off "/$first"
        measure "$round" "$app" "$BIN/$app" "/$first/health" json "/$first/health" "/$first"
    done
done
printf '%s\n' "${rows[@]}" >"$RESULTS/rounds.psv"
echo "every round: $RESULTS/rounds.psv (round|app|route|log|req/s|p99 ms|ratios|RSS|start|image)" >&2

# median KEY : the row of KEY (app|route|log) from its median round by req/s
# ratio, without the round number.
median() {
    printf '%s\n' "${rows[@]}" | awk -F'|' -v k="$1" '$2 "|" $3 "|" $4 == k' | sort -t'|' -k7,7g |
        awk -v n="$ROUNDS" 'NR == int((n + 1) / 2)' | cut -d'|' -f2-
}
# spread KEY FIELD : min-max over the rounds of FIELD (7: req/s ratio,
# 8: p99 ratio, 10: start to healthy).
spread() {
    printf '%s\n' "${rows[@]}" | awk -F'|' -v k="$1" -v f="$2" '$2 "|" $3 "|" $4 == k { print $f }' |
        sort -g | sed -n '1p;$p' | paste -sd- | sed 's/^\([^-]*\)$/\1-\1/'
}
keys=()
while IFS= read -r key; do keys+=("$key"); done < <(printf '%s\n' "${rows[@]}" | cut -d'|' -f2-4 | awk '!seen[$0]++')
medians=()
for key in "${keys[@]}"; do medians+=("$(median "$key")"); done
for app in service-a service-b; do
    first=$(jq -r '.microservices[0].name' "config/$app.json")
    rps=$(median "$app|/$first|json" | cut -d'|' -f4)
    # What one task serves before target tracking adds another: the one-core
    # figure with production logging, times the task's CPU share (cpu/1024),
    # times the scaling target.
    read -r cpu target < <(jq -r '"\(.cpu) \(.scaling.cpu_target // 75)"' "config/$app.json")
    per_task+=("$app|$rps|$cpu|$target|$(awk -v r="$rps" -v c="$cpu" -v t="$target" 'BEGIN { printf "%d", r * c / 1024 * t / 100 }')")
done

# row CELL... : one row of a Markdown table.
row() {
    printf '| %s ' "$@"
    echo '|'
}
# table CODE ALIGN HEADER... : a Markdown table of the |-separated records
# on stdin, under HEADER; ALIGN is its separator row. CODE `code` puts each
# record's second cell (a route) in backticks, `plain` leaves it.
table() {
    local code=$1 align=$2 f
    shift 2
    row "$@"
    echo "$align"
    while IFS='|' read -r -a f; do
        [[ $code == plain ]] || f[1]="\`${f[1]}\`"
        row "${f[@]}"
    done
}

{
    printf '%s\n' "${medians[@]}" | table code "|---|---|---|---:|---:|---:|---:|---:|---:|---:|" \
        app route log "req/s" "p99 ms" "req/s vs baseline" "p99 vs baseline" "idle RSS MiB" "start to healthy ms" "image MiB"
    echo
    echo "Spread over the $ROUNDS rounds (min-max):"
    echo
    for key in "${keys[@]}"; do
        echo "$key|$(spread "$key" 7)|$(spread "$key" 8)|$(spread "$key" 10)"
    done | table code "|---|---|---|---:|---:|---:|" \
        app route log "req/s vs baseline" "p99 vs baseline" "start to healthy ms"
    echo
    printf '%s\n' "${per_task[@]}" | table plain "|---|---:|---:|---:|---:|" \
        app "one-core req/s (info route, JSON log)" "task CPU units" "scaling cpu_target %" "req/s per task at the target"
    echo
    echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); server on core $SERVER_CORE, wrk on core $LOAD_CORE; wrk -t1 -c$CONNECTIONS -d$DURATION; $ROUNDS rounds."
} | tee -a "$BENCH_LOG"
echo "raw wrk output: $BENCH_LOG" >&2
