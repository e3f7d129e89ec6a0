#!/usr/bin/env bash
# Publish 1,000,000 rows × 10 features to SQLite and print the rate beside a plain SQLite bulk insert
# of the same rows, measured in the same run. Usage: bench/publish_sqlite.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fstore/target}"
# One build for every bench script (the same packages, so the same features: no rebuild).
cargo build --quiet --release --workspace --bins
exec "$CARGO_TARGET_DIR/release/publish_sqlite" "${1:-1000000}"
