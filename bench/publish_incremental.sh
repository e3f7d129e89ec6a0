#!/usr/bin/env bash
# Incremental publishing to MariaDB/MySQL: a full publish of 1,000,000 rows × 10 features, then
# 1% of the rows changed offline (9,000 updates by a Delta merge + 1,000 deletes), then an
# incremental publish; prints both times and their ratio (target: incremental ≤ 5% of full), for a
# table with the change data feed on and one without (added/removed files compared).
# Server: $FSTORE_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306).
# Usage: bench/publish_incremental.sh [ROWS] [--debug]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fstore/target}"
profile=(--release)
if [[ "${2:-}" == "--debug" || "${1:-}" == "--debug" ]]; then profile=(); fi
rows="${1:-1000000}"
[[ "$rows" == "--debug" ]] && rows=1000000
exec cargo run --quiet "${profile[@]}" -p fstore-bench --bin publish_incremental -- "$rows"
