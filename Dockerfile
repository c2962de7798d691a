# syntax=docker/dockerfile:1
#
# healthscore container image: a Rust builder stage, then a small Debian
# runtime with CA certificates (HTTPS to S3/GCS/Azure) and a non-root user.
#
#   docker build -t healthscore:0.1.0 .
#   docker run --rm healthscore:0.1.0 run --pipeline /etc/healthscore/pipelines/default.toml \
#       --input s3://exports/{as_of} --output s3://snapshots --run-id "$RUN_ID" --format json
#
# Worker threads follow the container's CPU limit: polars sizes its pool
# from std::thread::available_parallelism, which reads the cgroup CPU quota
# (not the host's core count); POLARS_MAX_THREADS overrides it. Object-store
# I/O uses two threads of its own.

# ---------------------------------------------------------------------------
# Builder
# ---------------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder
WORKDIR /src

# Dependencies first (polars is the long part), cached while only src/ changes.
COPY Cargo.toml Cargo.lock ./
# The aggregation kernel is a path dependency (kernel/), built with them.
COPY kernel ./kernel
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src

COPY src ./src
# Newer mtimes than the placeholder build, so cargo rebuilds the crate.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin healthscore \
    && strip target/release/healthscore

# ---------------------------------------------------------------------------
# Runtime
# ---------------------------------------------------------------------------
FROM debian:bookworm-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 healthscore \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin healthscore

COPY --from=builder /src/target/release/healthscore /usr/local/bin/healthscore
# The shipped pipelines; mount your own (a ConfigMap) over this folder.
COPY pipelines /etc/healthscore/pipelines

# The job writes nothing locally (inputs and snapshots are URLs); only
# --metrics-file needs a writable path, e.g. a mounted volume.
USER 10001:10001
WORKDIR /tmp
ENV HEALTHSCORE_LOG_FORMAT=json

ENTRYPOINT ["/usr/local/bin/healthscore"]
CMD ["--help"]
