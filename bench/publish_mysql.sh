#!/usr/bin/env bash
# Publish 1,000,000 rows × 10 features to MariaDB/MySQL and print fstore's first publish and merge
# beside a hand-written `LOAD DATA LOCAL INFILE` of the same rows (mysql client, CSV file), measured
# in the same run. Server: $FSTORE_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306).
# Usage: bench/publish_mysql.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fstore/target}"
# One build for every bench script (the same packages, so the same features: no rebuild).
cargo build --quiet --release --workspace --bins
exec "$CARGO_TARGET_DIR/release/publish_mysql" "${1:-1000000}"
