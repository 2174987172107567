# Sourced by the fake tools: `record TOOL ARGS...` appends one invocation to
# $FAKE_RECORD_DIR as NNNN-TOOL.args (the arguments, NUL-separated) and
# NNNN-TOOL.env (the variables the real tools would read, NUL-separated), for
# the harness to assert on. FAKE_CONTAINER is the pod and container the
# harness ran the step in.
record() {
    local tool=$1
    shift
    local count base name
    count=$(find "$FAKE_RECORD_DIR" -name '*.args' | wc -l)
    base=$(printf '%s/%04d-%s' "$FAKE_RECORD_DIR" "$count" "$tool")
    if (($#)); then printf '%s\0' "$@"; fi >"$base.args"
    for name in STAGE_NAME FAKE_CONTAINER IMAGE_TAG DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH \
        ECS_CLUSTER DEPLOY_ENV CARGO_BUILD_JOBS AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN; do
        if [[ -v $name ]]; then printf '%s=%s\0' "$name" "${!name}"; fi
    done >"$base.env"
}

# option NAME ARGS...: the value after the first NAME (or in NAME=VALUE).
option() {
    local name=$1
    shift
    while (($#)); do
        case $1 in
        "$name") echo "${2-}"; return 0 ;;
        "$name"=*) echo "${1#*=}"; return 0 ;;
        esac
        shift
    done
    return 1
}
