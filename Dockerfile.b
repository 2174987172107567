# service-b's image: the finance and payment microservices on port 5001.
#   docker build -f Dockerfile.b -t service-b .
#   docker run -p 5001:5001 service-b
#
# Dockerfile.a and Dockerfile.b differ only in the defaults of APP and PORT,
# so either file builds either app:
#   docker build -f Dockerfile.b --build-arg APP=service-a --build-arg PORT=5000 .
# The base images are build args with public defaults.
ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
WORKDIR /src

# Dependencies, cached until a manifest or Cargo.lock changes. Cargo loads
# the whole workspace, so every member's manifest comes in, with stub
# sources. Both apps have exactly the dependencies of service-core, so
# building it here fills one layer that both images share.
COPY Cargo.toml Cargo.lock ./
COPY config/Cargo.toml config/
COPY telemetry/Cargo.toml telemetry/
COPY service-core/Cargo.toml service-core/
COPY service-a/Cargo.toml service-a/
COPY service-b/Cargo.toml service-b/
COPY deployer/Cargo.toml deployer/
COPY tests/Cargo.toml tests/
RUN for crate in config telemetry service-core deployer tests; do \
        mkdir -p "$crate/src" && touch "$crate/src/lib.rs"; \
    done \
    && for crate in service-a service-b deployer; do \
        mkdir -p "$crate/src" && echo 'fn main() {}' > "$crate/src/main.rs"; \
    done \
    && cargo build --release --locked -p service-core

# The app itself. COPY keeps the files' own modification times, which may
# be older than the stubs, so they are touched to make cargo rebuild them.
ARG APP=service-b
COPY config config
COPY telemetry telemetry
COPY service-core service-core
COPY ${APP} ${APP}
RUN find config telemetry service-core "${APP}" -name '*.rs' -exec touch {} + \
    && cargo build --release --locked -p "${APP}" \
    && install -m 0755 "target/release/${APP}" /usr/local/bin/app

FROM ${RUNTIME_IMAGE}
ARG APP=service-b
ARG PORT=5001
LABEL org.opencontainers.image.title="${APP}" \
      org.opencontainers.image.source="Dockerfile in the ecs-pipeline repository"
COPY --from=build /usr/local/bin/app /usr/local/bin/app
# JSON log lines for CloudWatch even when a terminal is attached.
ENV LOG_FORMAT=json
# Any unprivileged numeric user: nothing in the image belongs to it.
USER 10001:10001
EXPOSE ${PORT}
# The binary probes its own health path: no curl needed in the image.
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/app", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/app"]
