#!/usr/bin/env bash
# Publish 1,000,000 rows × 10 features to SQLite from an s3:// offline root (moto's S3 server on a
# free loopback port, started and stopped here) and from a local root, in the same run, and print
# the ratio. Usage: bench/publish_s3.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fstore/target}"
PYTHON="${FSTORE_TEST_PYTHON:-python3}"
if ! "$PYTHON" -c 'import moto, flask, flask_cors' >/dev/null 2>&1; then
  "$PYTHON" -m pip install --quiet --disable-pip-version-check 'moto[server]>=5.1'
fi
# One build for every bench script (the same packages, so the same features: no rebuild).
cargo build --quiet --release --workspace --bins
port="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$PYTHON" -m moto.server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill "$moto" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs -X PUT "http://127.0.0.1:$port/fstore-bench" >/dev/null
export FSTORE_BENCH_S3_ENDPOINT="http://127.0.0.1:$port" FSTORE_BENCH_S3_BUCKET=fstore-bench
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true
"$CARGO_TARGET_DIR/release/publish_s3" "${1:-1000000}"
