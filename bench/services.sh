#!/usr/bin/env bash
# Benchmarks both apps and a baseline in the same run, and prints a table:
#   - requests/s and p99 latency at saturation, with the server pinned to
#     one core (taskset) and wrk on the other: each app's first info route
#     without logging (RUST_LOG=off) and with production logging (JSON, one
#     line per request, to a file), and its health route with production
#     logging;
#   - p99 latency of the same routes at one fixed rate for every server
#     (bench/open-loop), below saturation, where latency says how long a
#     request takes rather than how long the queue is: each app route and
#     the baseline in one load, taking turns by 9.9 ms, so that both get
#     the same moments of the machine; and, as the noise floor of that
#     ratio, the baseline loaded the same way with a second copy of
#     itself;
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
# Everything is measured BENCH_ROUNDS times. The baseline stays up, idle,
# through each round and is loaded just before and just after every app
# figure at saturation, which is divided by the mean of those two baseline
# loads: on a shared machine a disturbance longer than a load then hits
# both sides of a ratio alike. A p99 at the fixed rate is divided by the
# baseline's in the same load. Each figure of the table is its median over
# the rounds;
# the spread of the ratios over the rounds is printed under it.
#
# Usage: bench/services.sh   (BENCH_DURATION=10s BENCH_RATE_DURATION=10s
#        BENCH_RATE_SLICE=9900us BENCH_RATE_SHARE=0.2 BENCH_CONNECTIONS=64 BENCH_ROUNDS=3;
#        BENCH_IMAGES=0 to skip building the images)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

DURATION=${BENCH_DURATION:-10s}
# Longer than wrk's: at a fixed rate the p99 rests on the few slowest
# moments of the run, so it needs more of them to settle.
RATE_DURATION=${BENCH_RATE_DURATION:-10s}
# How long each server's turn lasts in a fixed-rate load; unset, open-loop's
# default (9.9 ms, open_loop::SLICE, whose doc says why: just under half
# the log writer's gathering time, telemetry::GATHER_FOR, so that its
# writes fall in the app's own turns, and not a divisor of the periods at
# which the machine's stalls recur, so that those fall on both servers).
RATE_SLICE=${BENCH_RATE_SLICE:-}
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
cargo build --release --locked -q -p service-a -p service-b -p open-loop
cargo build --release --locked -q -p service-core --example hello_baseline
BIN=target/release
OPEN_LOOP=$BIN/open-loop

images=false
if [[ $BENCH_IMAGES == 1 ]] && docker info >/dev/null 2>&1; then
    images=true
    for app in service-a service-b; do
        dockerfile=$(sed -n 's/.*"dockerfile": *"\([^"]*\)".*/\1/p' "config/$app.json")
        echo "building the $app image from $dockerfile (cached layers make this quick)..." >&2
        docker build -q --network host -f "$dockerfile" -t "ecs-pipeline-bench/$app:latest" . >>"$BENCH_LOG" 2>&1
    done
fi

# The fixed rate of each round, as a share of the baseline's first req/s
# in it; every server of the round gets this same rate. On the machine the
# figures in bench/README.md come from, the virtual CPU pauses a few times
# a second for 4-7 ms, for the baseline too; at 0.45 of the baseline's
# req/s (where an app just meeting the throughput goal would run at its
# 75 % CPU target) those pauses touch more than 1 % of the requests, and
# the p99 of every server is theirs. At 0.2 they touch fewer, and the p99
# is the server's own.
RATE_SHARE=${BENCH_RATE_SHARE:-0.2}
RATE=
BASELINE_PORT=${BENCH_PORT:-5990}
APP_PORT=$((BASELINE_PORT + 1))
SECOND_BASELINE_PORT=$((BASELINE_PORT + 2))
# The row of the baseline loaded against a second copy of itself.
NOISE_FLOOR="baseline against itself"
rows=()
per_task=()
BASELINE_PID=
APP_PID=
stop_all() {
    [[ -z $APP_PID ]] || stop_server "$APP_PID"
    [[ -z $BASELINE_PID ]] || stop_server "$BASELINE_PID"
}
trap stop_all EXIT

# started PORT HEALTH_PATH : after start_pinned, waits for the first
# healthy answer and sets STARTUP_MS and RSS_MIB.
started() {
    wait_healthy "http://127.0.0.1:$1$2"
    sleep 1
    RSS_MIB=$(rss_mib "$SERVER_PID")
}

# load_baseline ROUND [FIXED_P99] : loads the baseline's route with wrk,
# records a baseline row with FIXED_P99 (its p99 in the fixed-rate load
# just before, beside an app; `-` for none), and sets last_rps and
# last_p99. The round's first call sets its fixed rate.
load_baseline() {
    echo "round $1: baseline /, log off ($DURATION with wrk)" >&2
    local figures fixed_p99=${2:--} fixed_ratio=-
    figures=$(load "http://127.0.0.1:$BASELINE_PORT/") || exit 1
    read -r last_rps last_p99 _ <<<"$figures"
    if [[ -z $RATE ]]; then
        RATE=$(awk -v r="$last_rps" -v s="$RATE_SHARE" 'BEGIN { printf "%d", r * s }')
    fi
    [[ $fixed_p99 == - ]] || fixed_ratio=1.00
    rows+=("$1|baseline|/|off|$last_rps|$last_p99|1.00|1.00|$baseline_rss|$baseline_startup|-|$fixed_p99|$fixed_ratio|$RATE")
}

# measure_app ROUND NAME BINARY HEALTH_PATH LOG ROUTE... : starts the app
# (LOG `off` or `json`) beside the idle baseline and loads each ROUTE with
# wrk, followed by the baseline, and then at the round's fixed rate with
# the baseline taking turns in the same load. Each figure at saturation is
# divided by the mean of the baseline's just before and just after it; the
# p99 at the fixed rate by the baseline's in the same load.
measure_app() {
    local round=$1 name=$2 bin=$3 health=$4 log=$5
    shift 5
    local logfile=off
    [[ $log == off ]] || logfile="$RESULTS/$name-access.log"
    start_pinned "$APP_PORT" "$logfile" "$bin"
    APP_PID=$SERVER_PID
    started "$APP_PORT" "$health"
    local image="-"
    if $images; then image=$(image_mib "ecs-pipeline-bench/$name:latest"); fi
    local route figures rps p99 fixed fixed_p99 baseline_fixed_p99 before_rps before_p99
    for route in "$@"; do
        echo "round $round: $name $route, log $log ($DURATION with wrk, then $RATE_DURATION at $RATE req/s with the baseline)" >&2
        figures=$(load "http://127.0.0.1:$APP_PORT$route") || exit 1
        read -r rps p99 _ <<<"$figures"
        fixed=$(load_at_rate "$RATE" "http://127.0.0.1:$APP_PORT$route" "http://127.0.0.1:$BASELINE_PORT/") || exit 1
        read -r fixed_p99 baseline_fixed_p99 <<<"$fixed"
        before_rps=$last_rps before_p99=$last_p99
        load_baseline "$round" "$baseline_fixed_p99"
        rows+=("$round|$name|$route|$log|$rps|$p99|$(ratio "$rps" "$(mean "$before_rps" "$last_rps")")|$(ratio "$p99" "$(mean "$before_p99" "$last_p99")")|$RSS_MIB|$STARTUP_MS|$image|$fixed_p99|$(ratio "$fixed_p99" "$baseline_fixed_p99")|$RATE")
    done
    stop_server "$APP_PID"
    APP_PID=
    if [[ $logfile != off ]]; then
        # Every request wrk counted was logged (the server also logs the
        # health polls and requests wrk left unfinished at the end).
        local lines
        lines=$(wc -l <"$logfile")
        echo "round $round: $name: $lines log lines for the requests above" >>"$BENCH_LOG"
        rm -f "$logfile"
    fi
}

# measure_noise_floor ROUND : loads the baseline together with a second
# baseline process at the round's fixed rate, as an app route is loaded
# with it, and records the second's p99 over the first's. Two copies of
# one server differ only by the moments of the machine each got, so the
# spread of this ratio over the rounds is how far the machine alone moves
# an app's ratio at the fixed rate: the noise floor of that figure.
measure_noise_floor() {
    local round=$1 fixed second_p99 first_p99
    start_pinned "$SECOND_BASELINE_PORT" off "$BIN/examples/hello_baseline"
    local second_pid=$SERVER_PID
    started "$SECOND_BASELINE_PORT" /
    echo "round $round: baseline against a second baseline process ($RATE_DURATION at $RATE req/s)" >&2
    fixed=$(load_at_rate "$RATE" "http://127.0.0.1:$SECOND_BASELINE_PORT/" "http://127.0.0.1:$BASELINE_PORT/") || exit 1
    read -r second_p99 first_p99 <<<"$fixed"
    stop_server "$second_pid"
    rows+=("$round|$NOISE_FLOOR|/|off|-|-|-|-|-|-|-|$second_p99|$(ratio "$second_p99" "$first_p99")|$RATE")
}

for ((round = 1; round <= ROUNDS; round++)); do
    # The baseline stays up, idle on the same core, while the apps run, so
    # that it is loaded just before and just after every app figure.
    start_pinned "$BASELINE_PORT" off "$BIN/examples/hello_baseline"
    BASELINE_PID=$SERVER_PID
    started "$BASELINE_PORT" /
    baseline_startup=$STARTUP_MS baseline_rss=$RSS_MIB
    RATE=
    load_baseline "$round"
    measure_noise_floor "$round"
    for app in service-a service-b; do
        first=$(jq -r '.microservices[0].name' "config/$app.json")
        measure_app "$round" "$app" "$BIN/$app" "/$first/health" off "/$first"
        measure_app "$round" "$app" "$BIN/$app" "/$first/health" json "/$first/health" "/$first"
    done
    stop_server "$BASELINE_PID"
    BASELINE_PID=
done
# values KEY FIELD : FIELD of KEY's rows (KEY: app|route|log), in numeric
# order, leaving out those without it (`-`).
values() {
    printf '%s\n' "${rows[@]}" | awk -F'|' -v k="$1" -v f="$2" '$2 "|" $3 "|" $4 == k && $f != "-" { print $f }' | sort -g
}
# median KEY FIELD : the median over the rounds (for the baseline, over
# its loads) of FIELD of KEY's rows (KEY: app|route|log), or `-` when none
# has it. Each figure gets its own median: one disturbed load then moves no
# figure of its row but its own.
median() {
    values "$1" "$2" | awk '{ v[NR] = $0 } END { print NR ? v[int((NR + 1) / 2)] : "-" }'
}
printf '%s\n' "${rows[@]}" >"$RESULTS/rounds.psv"
echo "every round: $RESULTS/rounds.psv (round|app|route|log|req/s|p99 ms|ratios|RSS|start|image|p99 ms at the rate|ratio|rate)" >&2

# spread KEY FIELD : min-max over the rounds of FIELD (7: req/s ratio,
# 8: p99 ratio, 10: start to healthy, 13: p99 ratio at the fixed rate,
# 14: the fixed rate).
spread() {
    values "$1" "$2" | sed -n '1p;$p' | paste -sd- | sed 's/^\([^-]*\)$/\1-\1/'
}
keys=()
while IFS= read -r key; do keys+=("$key"); done < <(printf '%s\n' "${rows[@]}" | cut -d'|' -f2-4 | awk '!seen[$0]++')
# The table's rows: app, route, log, req/s, p99, their ratios, p99 at the
# fixed rate and its ratio, RSS, start to healthy, image.
medians=()
for key in "${keys[@]}"; do
    cells=("$key")
    for field in 5 6 7 8 12 13 9 10 11; do cells+=("$(median "$key" "$field")"); done
    medians+=("$(IFS='|'; echo "${cells[*]}")")
done
for app in service-a service-b; do
    first=$(jq -r '.microservices[0].name' "config/$app.json")
    rps=$(median "$app|/$first|json" 5)
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
    printf '%s\n' "${medians[@]}" | table code "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" \
            app route log "req/s" "p99 ms" "req/s vs baseline" "p99 vs baseline" \
            "p99 ms at the fixed rate" "p99 at the fixed rate vs baseline" "idle RSS MiB" "start to healthy ms" "image MiB"
    echo
    echo "Spread over the $ROUNDS rounds (min-max):"
    echo
    for key in "${keys[@]}"; do
        echo "$key|$(spread "$key" 7)|$(spread "$key" 8)|$(spread "$key" 13)|$(spread "$key" 10)"
    done | table code "|---|---|---|---:|---:|---:|---:|" \
        app route log "req/s vs baseline" "p99 vs baseline" "p99 at the fixed rate vs baseline" "start to healthy ms"
    echo
    printf '%s\n' "${per_task[@]}" | table plain "|---|---:|---:|---:|---:|" \
        app "one-core req/s (info route, JSON log)" "task CPU units" "scaling cpu_target %" "req/s per task at the target"
    echo
    echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); server on core $SERVER_CORE, load on core $LOAD_CORE; wrk -t1 -c$CONNECTIONS -d$DURATION; open-loop --connections $CONNECTIONS --duration $RATE_DURATION --slice ${RATE_SLICE:-9900us (its default)}, each app route with the baseline, at $RATE_SHARE x the round's first baseline req/s ($(spread "baseline|/|off" 14) req/s); $ROUNDS rounds."
} | tee -a "$BENCH_LOG"
echo "raw wrk output: $BENCH_LOG" >&2
