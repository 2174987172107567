# shellcheck shell=bash
# Local stand-ins for the public base images the Dockerfiles name, for an
# engine that cannot pull. They are made from Debian's packages and the
# host's own Rust toolchain, and tagged with the public names, so that the
# Dockerfiles build unchanged:
#   debian:bookworm-slim   debootstrap minbase + ca-certificates
#   rust:1.95-bookworm     the same + gcc, libc6-dev, and the host toolchain
# Usage: source tests/lib/standins.sh; standins_ensure
# Needs root (debootstrap) and DOCKER_HOST pointing at the engine.

: "${RUNTIME_IMAGE:=debian:bookworm-slim}"
: "${RUST_IMAGE:=rust:1.95-bookworm}"
: "${STANDIN_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/ecs-pipeline/standins}"

standin_log() { printf '[standins] %s\n' "$*" >&2; }

# standin_rootfs NAME EXTRA_PACKAGES -> prints the path of a cached tarball
standin_rootfs() {
    local name=$1 include=$2 tarball="$STANDIN_CACHE/$1.tar"
    if [[ -s "$tarball" ]]; then
        echo "$tarball"
        return 0
    fi
    mkdir -p "$STANDIN_CACHE"
    local root
    root=$(mktemp -d "$STANDIN_CACHE/$name.XXXX")
    standin_log "debootstrap $name (bookworm minbase + $include)"
    debootstrap --variant=minbase --include="$include" bookworm "$root" >"$root.log" 2>&1 ||
        { tail -20 "$root.log" >&2; return 1; }
    # The host's trust store, so that the builder reaches the package
    # registries the same way the host does.
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
    if [[ $name == rust ]]; then
        local sysroot
        sysroot=$(rustc --print sysroot)
        mkdir -p "$root/usr/local/rustup/toolchains/host" "$root/usr/local/cargo/bin"
        tar -C "$sysroot" --exclude=./share/doc -c . | tar -C "$root/usr/local/rustup/toolchains/host" -x
        for tool in cargo rustc rustdoc cargo-clippy clippy-driver rustfmt cargo-fmt; do
            [[ -e "$sysroot/bin/$tool" ]] && ln -s "/usr/local/rustup/toolchains/host/bin/$tool" "$root/usr/local/cargo/bin/$tool"
        done
    fi
    tar -C "$root" -cf "$tarball.partial" . && mv "$tarball.partial" "$tarball"
    rm -rf "$root" "$root.log"
    echo "$tarball"
}

standin_import() { # standin_import IMAGE TARBALL [--change ...]
    local image=$1 tarball=$2
    shift 2
    docker import "$@" "$tarball" "$image" >/dev/null
    standin_log "imported $image"
}

standins_ensure() {
    local path_env="PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    if ! docker image inspect "$RUNTIME_IMAGE" >/dev/null 2>&1; then
        local tarball
        tarball=$(standin_rootfs runtime ca-certificates) || return 1
        standin_import "$RUNTIME_IMAGE" "$tarball" --change "ENV $path_env" --change 'CMD ["bash"]'
    fi
    if ! docker image inspect "$RUST_IMAGE" >/dev/null 2>&1; then
        local tarball
        tarball=$(standin_rootfs rust ca-certificates,gcc,libc6-dev,pkg-config,git) || return 1
        standin_import "$RUST_IMAGE" "$tarball" \
            --change "ENV $path_env" \
            --change 'ENV CARGO_HOME=/usr/local/cargo' \
            --change 'ENV RUSTUP_HOME=/usr/local/rustup' \
            --change 'CMD ["bash"]'
    fi
}
