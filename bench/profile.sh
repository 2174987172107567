#!/usr/bin/env bash
# Where a request's CPU time goes, per layer: samples one server, pinned to
# core 0, while wrk loads one route from core 1, with `perf record` and
# DWARF call graphs, and attributes each sample to the innermost layer on
# its stack:
#   kernel       the sample is in the kernel (socket calls, TCP on loopback)
#   hyper        HTTP/1 parsing, response encoding, the connection task
#   tokio        scheduler and I/O driver
#   routing      axum's router and the tower layers under the edge
#                (catch panic, body limit, timeout)
#   Edge         service_core::middleware (Edge, the fixed answers)
#   access log   the access line: tracing, JSON formatting, appending to the
#                log buffer (telemetry), on the request path
#   handler      service_core::routes
#   writer       the log writer thread
# Shares are of the server's CPU time, so other load on the machine does not
# move them much. Needs perf, wrk, taskset, python3 and release builds
# (bench/services.sh makes them).
#
# Usage: bench/profile.sh [BINARY [ROUTE [HEALTH_PATH]]]
#   bench/profile.sh target/release/service-a /medical /medical/health
#   bench/profile.sh target/release/examples/hello_baseline / /
#   RUST_LOG=off bench/profile.sh      # without the access log
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
BINARY=${1:-target/release/service-a}
ROUTE=${2:-/medical}
HEALTH=${3:-/medical/health}
PORT=${BENCH_PORT:-5990}
RESULTS=bench/results
mkdir -p "$RESULTS"
BENCH_LOG="$RESULTS/profile-wrk.log"
CONNECTIONS=64
DURATION=14s
data="$RESULTS/profile.data"
log=off
[[ ${RUST_LOG:-info} == off ]] || log="$RESULTS/profile-access.log"

start_pinned "$PORT" "$log" "$BINARY"
trap stop_server EXIT
wait_healthy "http://127.0.0.1:$PORT$HEALTH"
load "http://127.0.0.1:$PORT$ROUTE" >"$RESULTS/profile-load.txt" &
load_pid=$!
sleep 2
perf record -q -F 299 --call-graph dwarf,32768 -p "$SERVER_PID" -o "$data" -- sleep 6 2>/dev/null
wait "$load_pid"
stop_server
trap - EXIT
read -r rps p99 _ <"$RESULTS/profile-load.txt"
echo "$BINARY $ROUTE: $rps req/s, p99 $p99 ms under the profiler"
perf script -i "$data" -F comm,ip,sym 2>/dev/null | python3 -c '
import re, sys, collections
layers = [
    ("access log", r"telemetry::|tracing_subscriber|tracing_core|serde_json|serde_core|humantime"),
    ("handler", r"service_core::routes"),
    ("Edge", r"service_core::middleware"),
    ("routing", r"axum|matchit|tower::|tower_http|tower_service"),
    ("hyper", r"hyper"),
    ("tokio", r"tokio|mio::"),
]
own, total = collections.Counter(), 0
for sample in sys.stdin.read().split("\n\n"):
    lines = sample.strip().split("\n")
    if not lines[0]:
        continue
    frames = [l.split(None, 1) for l in lines[1:] if len(l.split(None, 1)) == 2]
    total += 1
    if lines[0].split()[0] == "log-writer":
        own["writer"] += 1
    elif frames and int(frames[0][0], 16) >= 0xffff000000000000:
        own["kernel"] += 1
    else:
        own[next((name for _, sym in frames for name, rx in layers if re.search(rx, sym)), "other")] += 1
print(f"{total} samples")
for name, n in own.most_common():
    print(f"{name:12} {100 * n / total:5.1f} %")
'
