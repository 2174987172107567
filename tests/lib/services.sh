# shellcheck shell=bash
# Starts and stops the services the tests need, all on 127.0.0.1:
#   - a Docker engine with no bridge network (containers use --network host)
#   - a local registry standing in for ECR
#   - a moto server standing in for the AWS APIs (tests also start their own)
# Each service is started only when the caller has not provided one already
# (DOCKER_HOST, TEST_REGISTRY, MOTO_ENDPOINT), and only what was started here
# is stopped by services_stop.
#
# Usage: source tests/lib/services.sh; services_start; ...; services_stop

: "${SERVICES_DIR:=${TMPDIR:-/tmp}/ecs-pipeline-services}"
: "${TEST_REGISTRY_PORT:=5050}"
: "${MOTO_PORT:=5055}"
SERVICES_STARTED=()

log() { printf '[services] %s\n' "$*" >&2; }

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            log "timed out waiting for $what"
            return 1
        fi
        sleep 0.2
    done
}

# spawn NAME COMMAND...: runs COMMAND in the background with its output in
# $SERVICES_DIR/NAME/NAME.log, and remembers it for services_stop.
spawn() {
    local name=$1 dir="$SERVICES_DIR/$1"
    shift
    mkdir -p "$dir"
    "$@" >"$dir/$name.log" 2>&1 &
    echo $! >"$dir/pid"
    SERVICES_STARTED+=("$dir/pid")
}

# ready NAME SECONDS COMMAND...: waits for COMMAND to succeed; on a timeout
# shows the end of NAME's log, which usually says why.
ready() {
    local name=$1 seconds=$2
    shift 2
    wait_for "$seconds" "$name" "$@" || { tail -20 "$SERVICES_DIR/$name/$name.log" >&2; return 1; }
    log "$name up"
}

start_dockerd() {
    if [[ -n "${DOCKER_HOST:-}" ]] && docker info >/dev/null 2>&1; then
        log "using the Docker engine at $DOCKER_HOST"
        return 0
    fi
    local dir="$SERVICES_DIR/dockerd"
    mkdir -p "$dir/data" "$dir/exec"
    # No bridge, no iptables: every container runs with --network host.
    spawn dockerd dockerd --bridge=none --iptables=false --ip-masq=false \
        --data-root "$dir/data" --exec-root "$dir/exec" \
        --pidfile "$dir/dockerd.pid" --host "unix://$dir/docker.sock"
    export DOCKER_HOST="unix://$dir/docker.sock"
    ready dockerd 60 docker info
}

start_registry() {
    if [[ -n "${TEST_REGISTRY:-}" ]] && curl -fsS "http://$TEST_REGISTRY/v2/" >/dev/null 2>&1; then
        log "using the registry at $TEST_REGISTRY"
        return 0
    fi
    local dir="$SERVICES_DIR/registry"
    mkdir -p "$dir/data"
    cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$TEST_REGISTRY_PORT
YAML
    spawn registry docker-registry serve "$dir/config.yml"
    export TEST_REGISTRY="127.0.0.1:$TEST_REGISTRY_PORT"
    ready registry 30 curl -fsS "http://$TEST_REGISTRY/v2/"
}

start_moto() {
    if [[ -n "${MOTO_ENDPOINT:-}" ]] && curl -fsS "$MOTO_ENDPOINT/moto-api/" >/dev/null 2>&1; then
        log "using the moto server at $MOTO_ENDPOINT"
        return 0
    fi
    spawn moto moto_server -H 127.0.0.1 -p "$MOTO_PORT"
    export MOTO_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
    ready moto 30 curl -fsS "$MOTO_ENDPOINT/moto-api/"
}

services_start() {
    start_dockerd && start_registry && start_moto
}

services_stop() {
    local pidfile pid
    for pidfile in "${SERVICES_STARTED[@]}"; do
        pid=$(cat "$pidfile" 2>/dev/null) || continue
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
    done
    # dockerd leaves its host network namespace mounted under its exec root
    # even on a clean exit; unmount it so the directory can be removed.
    local mnt
    while read -r mnt; do
        umount "$mnt" 2>/dev/null || true
    done < <(awk -v dir="$SERVICES_DIR/" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts)
    SERVICES_STARTED=()
}
