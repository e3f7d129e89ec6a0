#!/usr/bin/env bash
# The PostgreSQL benchmarks of issue 23 in one run: bench/publish_postgres.sh (first publish of
# ROWS rows × 10 features against raw binary COPY, target ≥ 0.8×; merges of 1% and 100% changed rows
# against hand-written staging + ON CONFLICT, target ≤ 1.3×), then bench/serve.sh on PostgreSQL
# (`fstore serve` single-key QPS at concurrency 1/16/64 against raw prepared SELECTs on the same
# connection count, with p99; target ≥ 0.7× at 16). Server: $FSTORE_TEST_PG_URL (default
# postgres://postgres@127.0.0.1:5432); each bench uses a database of its own and drops it at exit.
# FSTORE_BENCH_PROFILE=debug runs a debug build (a smoke test at small sizes).
# Usage: bench/postgres.sh [ROWS] [SECS]
set -euo pipefail
cd "$(dirname "$0")/.."
bench/publish_postgres.sh "${1:-1000000}"
echo
FSTORE_BENCH_STORE=postgres bench/serve.sh "${1:-1000000}" "${2:-5}"
