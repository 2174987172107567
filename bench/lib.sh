# shellcheck shell=bash
# Helpers for bench/services.sh: start a server pinned to one core, time
# its first healthy answer, read its memory, and load it from another core
# with wrk (at saturation) or bench/open-loop (at a fixed rate).

: "${SERVER_CORE:=0}"
: "${LOAD_CORE:=1}"

# now_us : sets NOW_US to the microseconds since the epoch, read from
# bash's own clock (EPOCHREALTIME), so that timing a start starts no
# process.
now_us() { NOW_US=${EPOCHREALTIME/[.,]/}; }

# start_pinned PORT LOG COMMAND... : starts COMMAND on SERVER_CORE with
# APP_BIND=127.0.0.1 and APP_PORT=PORT; sets SERVER_PID and STARTED_US.
# LOG is `off` (RUST_LOG=off: no access log) or a file, which gets the
# server's log as in production: JSON, RUST_LOG=info, one line per request.
start_pinned() {
    local port=$1 log=$2 filter=info out
    shift 2
    if [[ $log == off ]]; then filter=off out=/dev/null; else out=$log; fi
    now_us
    STARTED_US=$NOW_US
    APP_BIND=127.0.0.1 APP_PORT=$port LOG_FORMAT=json RUST_LOG=$filter \
        taskset -c "$SERVER_CORE" "$@" >/dev/null 2>"$out" &
    SERVER_PID=$!
}

# answers_200 HOST PORT PATH : one GET of PATH over bash's own /dev/tcp,
# which starts no process; true when the answer is a 200.
answers_200() {
    local fd status=
    { exec {fd}<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
    printf 'GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n' "$3" "$1" "$2" >&"$fd" 2>/dev/null &&
        read -r -t 2 _ status _ <&"$fd" || true
    exec {fd}>&-
    [[ $status == 200 ]]
}

# wait_healthy URL : polls URL (http://IP:PORT/PATH) until it answers 200
# (10 s at most), and sets STARTUP_MS to the milliseconds from STARTED_US,
# with one decimal. An attempt takes about 60 us on the machine of the
# figures, so the figure is the server's start; polled with curl, each
# attempt started a process and took a few ms, and the bare baseline's
# start measured 16-43 ms.
wait_healthy() {
    local rest=${1#http://} deadline=$((SECONDS + 10))
    local address=${rest%%/*} path=/${rest#*/}
    until answers_200 "${address%:*}" "${address##*:}" "$path"; do
        ((SECONDS < deadline)) || { echo "no healthy answer from $1" >&2; return 1; }
    done
    now_us
    local us=$((NOW_US - STARTED_US))
    printf -v STARTUP_MS '%d.%d' $((us / 1000)) $((us % 1000 / 100))
}

# rss_mib PID : resident memory in MiB, one decimal.
rss_mib() {
    awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# stop_server [PID] : stops PID (default SERVER_PID) and waits for it.
stop_server() {
    local pid=${1:-$SERVER_PID}
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# load URL : runs wrk on LOAD_CORE and prints "REQ_PER_S P99_MS REQUESTS".
load() {
    local out
    out=$(taskset -c "$LOAD_CORE" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "$1")
    echo "$out" >>"$BENCH_LOG"
    if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
        echo "wrk saw errors on $1:" >&2
        echo "$out" >&2
        return 1
    fi
    local rps p99 requests
    rps=$(awk '/^Requests\/sec:/ { printf "%d", $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    requests=$(awk '/requests in/ { print $1 }' <<<"$out")
    echo "$rps $(to_ms "$p99") $requests"
}

# load_at_rate RATE URL... : runs bench/open-loop on LOAD_CORE at RATE req/s
# for RATE_DURATION (after a 1 s warm-up), the URLs taking turns by
# RATE_SLICE (open-loop's default when empty), and prints each URL's p99
# in ms, in their order, with three decimals (below saturation it is
# around 0.1 ms, where two would move a ratio by a tenth); the whole
# report goes to BENCH_LOG.
load_at_rate() {
    local rate=$1 out
    shift
    out=$(taskset -c "$LOAD_CORE" "$OPEN_LOOP" --rate "$rate" --connections "$CONNECTIONS" \
        --duration "$RATE_DURATION" --warmup 1s ${RATE_SLICE:+--slice "$RATE_SLICE"} "$@") || return 1
    echo "open-loop $* at $rate req/s: $out" >>"$BENCH_LOG"
    jq -r '[.targets[].p99_ms * 1000 | round / 1000] | join(" ")' <<<"$out"
}

# to_ms 1.23ms|456.00us|1.02s : milliseconds, two decimals.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000
        printf "%.2f", n
    }'
}

# mean A B : (A + B) / 2.
mean() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a + b) / 2 }'; }

# ratio A B : A / B, two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# image_mib IMAGE : the image's size on the engine in MiB, or "-".
image_mib() {
    docker image inspect -f '{{.Size}}' "$1" 2>/dev/null | awk '{ printf "%.1f", $1 / 1048576 }' || echo "-"
}
