#!/usr/bin/env bash
# Serving benchmark (issue 6): loads 1,000,000 rows into MariaDB, runs `fstore serve` on them with
# the reader identity, and drives random single-key lookups at concurrency 1, 16 and 64 against
# it and straight against MariaDB (prepared statements) in the same run; then 100-key batches.
# Prints QPS, p50, p99 and the ratio. Loopback only; every phase is bounded (SECS seconds).
# fstore serve runs with --workers 1 (FSTORE_BENCH_SERVE_WORKERS overrides; 0 = one thread per CPU):
# on a small machine the load generator, MariaDB and fstore share the cores. The coalescing server
# also busy-polls for 200 µs (FSTORE_BENCH_SERVE_BUSY_POLL_US overrides; 0 = off): fstore's own
# default is off, and the second server (no coalescing) runs without it, so both are in every run.
# FSTORE_BENCH_STORE=postgres runs it on PostgreSQL instead (issue 23: the table loaded into a
# database of its own, fstore_bench_serve, dropped at exit; a SELECT-only reader role; the raw side
# one connection per worker issuing the prepared SELECT … WHERE id = $1; target ≥ 0.7× at 16).
# FSTORE_BENCH_PROFILE=debug runs a debug build (a smoke test of the script at small sizes).
# Usage: bench/serve.sh [ROWS] [SECS]    (MariaDB: $FSTORE_TEST_MYSQL_URL, default root@127.0.0.1;
#        PostgreSQL: $FSTORE_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fstore/target}"
export FSTORE_TEST_MYSQL_URL="${FSTORE_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306}"
export PYO3_BUILD_EXTENSION_MODULE=1
PROFILE="${FSTORE_BENCH_PROFILE:-release}"
if [ "$PROFILE" = release ]; then
    # One build for every bench script (the same packages, so the same features: no rebuild).
    cargo build --quiet --release --workspace --bins
else
    cargo build --quiet --workspace --all-targets
fi
exec "$CARGO_TARGET_DIR/$PROFILE/serve" --store "${FSTORE_BENCH_STORE:-mysql}" \
  --fstore-bin "$CARGO_TARGET_DIR/$PROFILE/fstore" --rows "${1:-1000000}" --secs "${2:-5}" \
  --workers "${FSTORE_BENCH_SERVE_WORKERS:-1}" \
  --server-arg="--busy-poll-us=${FSTORE_BENCH_SERVE_BUSY_POLL_US:-200}"
