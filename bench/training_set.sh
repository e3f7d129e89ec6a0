#!/usr/bin/env bash
# Training set: a 1,000,000-row spine against a 1,000,000-row history (200,000 keys × 5 timestamps,
# 10 features), written to Parquet, timed beside DuckDB's ASOF LEFT JOIN on the same Parquet files in
# the same run; prints both and the ratio.
# Usage: bench/training_set.sh [SPINE_ROWS] [KEYS] [TIMESTAMPS_PER_KEY]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fstore/target}"
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import duckdb' 2>/dev/null || "$PYTHON" -m pip install --quiet duckdb
export PYTHON
exec cargo run --quiet --release -p fstore-training --example training_set_bench -- \
    "${1:-1000000}" "${2:-200000}" "${3:-5}"
