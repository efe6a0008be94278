# syntax=docker/dockerfile:1
#
# Chorus container image: a release build of the `chorus` binary on debian:bookworm-slim.
#
#   docker build -t chorus .
#   docker run --rm -p 8080:8080 -v chorus-data:/var/lib/chorus chorus          # embedded mode
#   docker run --rm -p 8080:8080 -e DATABASE_URL=postgres://… -e REDIS_URL=redis://… chorus
#
# Needs BuildKit (the default builder of Docker 23+) for the cache mounts below. See
# deploy/compose.yaml for a two-node cluster and docs/operations.md for running it.

############################################################################################
# Build stage
############################################################################################
FROM rust:1-bookworm AS builder
WORKDIR /src

# Only what the build reads (see .dockerignore): the workspace and every member (cargo loads
# them all, though only chorus-core and chorus are built), the lock file, the patched crates in
# vendor/, static/ (embedded into the release binary by rust-embed) and tests/fixtures/.
COPY Cargo.toml Cargo.lock ./
COPY vendor ./vendor
COPY entity ./entity
COPY migration ./migration
COPY static ./static
COPY tests ./tests
COPY core ./core
COPY tools ./tools
COPY src ./src

# The crate registry and the target directory live in BuildKit cache mounts, so a rebuild after
# a source change recompiles only the workspace crates, not the ~460 crates of Cargo.lock (a cold
# release build takes several minutes). The binary is copied out of the cache mount in the same
# step, because the mount is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p chorus --bin chorus \
    && install -D -m 0755 target/release/chorus /out/chorus

############################################################################################
# Runtime stage
############################################################################################
FROM debian:bookworm-slim

# ca-certificates: the replies channel (Meta Graph API, X API) and outgoing webhooks use TLS with
# the platform's roots. Nothing else is needed: TLS is rustls, SQLite is compiled in, and the
# console (static/) is embedded in the binary.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# An unprivileged user; /var/lib/chorus is its working directory, so the embedded default store
# (`sqlite://chorus.db?mode=rwc`, relative to the working directory) and an optional
# ./chorus.toml live there. In embedded mode mount a volume on it (`-v chorus-data:/var/lib/chorus`),
# or the store goes with the container.
RUN groupadd --system --gid 10001 chorus \
    && useradd --system --uid 10001 --gid chorus --home-dir /var/lib/chorus --shell /usr/sbin/nologin chorus \
    && install -d -o chorus -g chorus -m 0750 /var/lib/chorus

COPY --from=builder /out/chorus /usr/local/bin/chorus

WORKDIR /var/lib/chorus
USER chorus:chorus

# The default bind (127.0.0.1:8080) is unreachable from outside a container: listen on every
# interface. The HEALTHCHECK below assumes port 8080; change both together.
ENV CHORUS_BIND=0.0.0.0:8080
EXPOSE 8080

# Liveness only (`/healthz`: the process answers HTTP). Readiness (`/readyz`: the store and
# Redis answer) is for the load balancer, which takes a node out of rotation without
# restarting it. The image has no curl or wget: bash's /dev/tcp speaks the one request.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

# SIGTERM (docker stop) makes `chorus serve` shut down gracefully: every WebSocket session gets a
# `shutdown` frame and is closed with 1012 (clients reconnect through the load balancer with
# `resume_from`; the agents' claims stay theirs), pending events reach the shared log, open
# requests finish. Give it about 20 s (`docker stop -t 30`, compose `stop_grace_period`).
STOPSIGNAL SIGTERM
ENTRYPOINT ["chorus"]
CMD ["serve"]
