#!/usr/bin/env bash
# Incremental publishing to MariaDB/MySQL: a full publish of 1,000,000 rows × 10 features, then
# 1% of the rows changed offline (9,000 updates by a Delta merge + 1,000 deletes), then an
# incremental publish; prints both times and their ratio (target: incremental ≤ 5% of full), for a
# table with the change data feed on and one without (added/removed files compared); and beside
# them the raw limit: the same change applied to the online table with hand-written SQL (staging
# table, one INSERT … SELECT … ON DUPLICATE KEY UPDATE, one DELETE … JOIN, in a transaction).
# Server: $FSTORE_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306).
# The table is about 150 MiB: to keep it in the server's buffer pool for the run (as on a sized Aurora
# instance), set FSTORE_BENCH_BUFFER_POOL_MB=1024 (restored afterwards).
# Usage: bench/publish_incremental.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fstore/target}"
# One build for every bench script (the same packages, so the same features: no rebuild).
cargo build --quiet --release --workspace --bins
exec "$CARGO_TARGET_DIR/release/publish_incremental" "${1:-1000000}"
