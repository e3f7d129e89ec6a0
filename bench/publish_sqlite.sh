#!/usr/bin/env bash
# Publish 1,000,000 rows × 10 features to SQLite and print the rate beside a plain SQLite bulk insert
# of the same rows, measured in the same run. Usage: bench/publish_sqlite.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fstore/target}"
exec cargo run --quiet --release -p fstore-bench --bin publish_sqlite -- "${1:-1000000}"
