#!/usr/bin/env bash
# PostgreSQL publish benchmark (issue 23): N rows (default 1,000,000) × 10 features, in one run on
# the same server and into the same DDL (fstore's own CREATE TABLE):
#   - first publish by `fstore publish` (Delta → PostgreSQL) against a raw binary COPY of the same
#     rows (BEGIN; CREATE TABLE; COPY; COMMIT), written both with tokio-postgres'
#     BinaryCopyInWriter and with hand-encoded tuples in 1 MiB messages (target ≥ 0.8× the rate);
#   - merge of 1% and of 100% changed rows (a Delta merge offline, then `fstore publish`) against
#     hand-written CREATE TEMP TABLE + COPY + INSERT … SELECT … ON CONFLICT DO UPDATE (target
#     ≤ 1.3× the time).
# Prints each time and rate, then a table: fstore, raw, ratio, target. The fstore and raw tables
# are compared after every step (the bench fails if they differ).
# Server: $FSTORE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432), an admin that may
# create databases; the database fstore_bench_pg is created fresh and dropped at exit.
# FSTORE_BENCH_PROFILE=debug runs a debug build (a smoke test of the script at small sizes).
# Usage: bench/publish_postgres.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fstore/target}"
export PYO3_BUILD_EXTENSION_MODULE=1
PROFILE="${FSTORE_BENCH_PROFILE:-release}"
if [ "$PROFILE" = release ]; then
    # One build for every bench script (the same packages, so the same features: no rebuild).
    cargo build --quiet --release --workspace --bins
else
    cargo build --quiet --workspace --all-targets
fi
exec "$CARGO_TARGET_DIR/$PROFILE/publish_postgres" "${1:-1000000}"
