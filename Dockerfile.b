# service-b's image: the finance and payment microservices on port 5001.
#   docker build -f Dockerfile.b -t service-b .
#   docker run -p 5001:5001 service-b
#
# Dockerfile.a and Dockerfile.b differ only in the defaults of APP and PORT,
# so either file builds either app:
#   docker build -f Dockerfile.b --build-arg APP=service-a --build-arg PORT=5000 .
# The build image is a build arg with a public default. The runtime image
# is `scratch`: the statically linked binary, a passwd entry for its user,
# and nothing else (no shell, no libc, no CA certificates: the app makes
# no TLS connection and resolves no names, since the ECS task metadata
# endpoint and the health check are reached by IP address).
# Platform-neutral: the binary is built for the build stage's own target,
# so `--platform linux/arm64` gives an arm64 image.
ARG RUST_IMAGE=rust:1.95-bookworm

FROM ${RUST_IMAGE} AS build
WORKDIR /src
# glibc linked statically (`crt-static`), so that the binary needs no file
# of the image. It never calls the name service (getaddrinfo, getpwnam),
# the part of glibc that a static binary cannot use.
ENV RUSTFLAGS="-C target-feature=+crt-static"

# Dependencies, cached until a manifest or Cargo.lock changes. Cargo loads
# the whole workspace, so every member's manifest comes in, with stub
# sources. Both apps have exactly the dependencies of service-core, so
# building it here fills one layer that both images share. `--target`
# keeps RUSTFLAGS off the build scripts and proc macros, which must link
# dynamically.
COPY Cargo.toml Cargo.lock ./
COPY config/Cargo.toml config/
COPY telemetry/Cargo.toml telemetry/
COPY service-core/Cargo.toml service-core/
COPY service-a/Cargo.toml service-a/
COPY service-b/Cargo.toml service-b/
COPY local-gateway/Cargo.toml local-gateway/
COPY deployer/Cargo.toml deployer/
COPY test-harness/Cargo.toml test-harness/
COPY bench/open-loop/Cargo.toml bench/open-loop/
RUN for crate in config telemetry service-core local-gateway deployer test-harness bench/open-loop; do \
        mkdir -p "$crate/src" && touch "$crate/src/lib.rs"; \
    done \
    && for crate in service-a service-b deployer bench/open-loop; do \
        mkdir -p "$crate/src" && echo 'fn main() {}' > "$crate/src/main.rs"; \
    done \
    && rustc --print host-tuple > /target-triple \
    && cargo build --release --locked --target "$(cat /target-triple)" -p service-core

# The app itself. COPY keeps the files' own modification times, which may
# be older than the stubs, so they are touched to make cargo rebuild them.
# The runtime files go to /rootfs: the stripped binary, and /etc/passwd and
# /etc/group naming its user, so that tools show a name for the uid.
ARG APP=service-b
COPY config config
COPY telemetry telemetry
COPY service-core service-core
COPY ${APP} ${APP}
RUN find config telemetry service-core "${APP}" -name '*.rs' -exec touch {} + \
    && target=$(cat /target-triple) \
    && cargo build --release --locked --target "$target" -p "${APP}" \
    && mkdir -p /rootfs/usr/local/bin /rootfs/etc \
    && install -s -m 0755 "target/$target/release/${APP}" /rootfs/usr/local/bin/app \
    && /rootfs/usr/local/bin/app --help >/dev/null \
    && echo 'app:x:10001:10001:app:/nonexistent:/sbin/nologin' > /rootfs/etc/passwd \
    && echo 'app:x:10001:' > /rootfs/etc/group

FROM scratch
ARG APP=service-b
ARG PORT=5001
LABEL org.opencontainers.image.title="${APP}" \
      org.opencontainers.image.source="Dockerfile in the ecs-pipeline repository"
COPY --from=build /rootfs/ /
# JSON log lines for CloudWatch even when a terminal is attached.
ENV LOG_FORMAT=json
# The unprivileged user of /etc/passwd, by number so that a runtime can
# tell it is not root without reading the image. Nothing in the image is
# written to: it runs on a read-only root filesystem.
USER 10001:10001
EXPOSE ${PORT}
# The binary probes its own health path: no curl needed in the image.
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/app", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/app"]
