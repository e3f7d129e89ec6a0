#!/usr/bin/env bash
# Production-size tables (issue 21): for each row count (default 1,000,000 and 10,000,000; give
# e.g. `bench/scale.sh 1000000 10000000 50000000` for 50M), peak RSS (`/usr/bin/time -f %M`) and
# rows/s of the release `fstore` binary for: create from Parquet, first publish to MariaDB/MySQL,
# overwrite publish, `tables read --limit 5`, and a training set (spine of ROWS/2 rows against a
# history of ROWS rows); beside the raw `LOAD DATA LOCAL INFILE` of the same rows (mysql client,
# CSV) measured in the same run, with the ratio. Targets printed beside each figure: peak RSS at
# ≥10M rows ≤ 400 MB and ≤ 1.3× the 1M-row figure (when 1M ran first); `read --limit 5` < 150 MB;
# first publish ≥ 0.9× raw LOAD DATA.
# Server: $FSTORE_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306), admin without password
# or MYSQL_PWD. Scratch space: $FSTORE_BENCH_DIR (default a temp dir; 10M rows need ~6 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fstore/target}"
# --workspace: features unify as in every other build, so the dependency tree is built once.
export PYO3_BUILD_EXTENSION_MODULE=1
cargo build --quiet --release --workspace --bins
BIN="$CARGO_TARGET_DIR/release"
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(1000000 10000000)

URL="${FSTORE_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306}"
HOSTPORT="${URL#mysql://}"; HOSTPORT="${HOSTPORT#*@}"; HOSTPORT="${HOSTPORT%%/*}"
HOST="${HOSTPORT%%:*}"; PORT="${HOSTPORT##*:}"; [ "$PORT" = "$HOSTPORT" ] && PORT=3306
ADMIN="${URL#mysql://}"; ADMIN="${ADMIN%%@*}"; ADMIN="${ADMIN%%:*}"; [ -z "$ADMIN" ] && ADMIN=root
DB=fstore_scale
BENCH_USER=fstore_scale_writer
BENCH_PW="scale-$$-$RANDOM-0123456789"
mysql_admin() { mysql --local-infile=1 --host="$HOST" --port="$PORT" --user="$ADMIN" "$@"; }

WORK="${FSTORE_BENCH_DIR:-$(mktemp -d)}"
trap 'rm -rf "$WORK/run"; mysql_admin -e "DROP DATABASE IF EXISTS $DB; DROP USER IF EXISTS '"'"$BENCH_USER"'"'@'"'"'%'"'"'" >/dev/null 2>&1 || true' EXIT

declare -A RSS1M
printf '%-30s %10s %10s %14s   %s\n' "command" "rows" "peak MB" "rows/s" "targets"

# measure LABEL ROWS CMD... : runs CMD under /usr/bin/time, prints peak RSS and rate.
measure() {
    local label="$1" rows="$2"; shift 2
    local t0 t1 kb secs
    t0=$(date +%s.%N)
    if ! /usr/bin/time -f %M -o "$WORK/run/rss" "$@" >"$WORK/run/out" 2>"$WORK/run/err"; then
        echo "$label failed:" >&2; cat "$WORK/run/err" >&2; exit 1
    fi
    t1=$(date +%s.%N)
    kb=$(tail -n 1 "$WORK/run/rss")
    secs=$(echo "$t1 - $t0" | bc -l)
    local mb=$((kb / 1024))
    local rate; rate=$(echo "$rows / $secs" | bc -l)
    local notes=""
    if [ "$label" = "read --limit 5" ]; then
        notes="< 150 MB: $([ "$mb" -lt 150 ] && echo ok || echo MISSED)"
    elif [ "$rows" -ge 10000000 ]; then
        notes="≤ 400 MB: $([ "$mb" -le 400 ] && echo ok || echo MISSED)"
    fi
    if [ "$rows" -gt 1000000 ] && [ -n "${RSS1M[$label]:-}" ]; then
        local ratio; ratio=$(echo "$mb / ${RSS1M[$label]}" | bc -l)
        notes="$notes; ${ratio:0:4}× the 1M figure (≤ 1.3×: $(echo "$ratio <= 1.3" | bc -l | sed 's/1/ok/;s/0/MISSED/'))"
    fi
    [ "$rows" -eq 1000000 ] && RSS1M[$label]=$mb
    printf '%-30s %10s %10s %14.0f   %s\n' "$label" "$rows" "$mb" "$rate" "$notes"
    LAST_RATE=$rate
}

for ROWS in "${SIZES[@]}"; do
    rm -rf "$WORK/run"; mkdir -p "$WORK/run"
    "$BIN/scale_data" "$ROWS" "$WORK/run"
    mysql_admin -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
        DROP USER IF EXISTS '$BENCH_USER'@'%'; CREATE USER '$BENCH_USER'@'%' IDENTIFIED BY '$BENCH_PW';
        GRANT ALL PRIVILEGES ON $DB.* TO '$BENCH_USER'@'%';
        CREATE TABLE $DB.raw (id BIGINT NOT NULL, f0 DOUBLE, f1 DOUBLE, f2 DOUBLE, f3 DOUBLE, f4 DOUBLE, f5 DOUBLE, n0 BIGINT, n1 BIGINT, s0 LONGTEXT, b0 BIT(1), PRIMARY KEY (id)) ENGINE=InnoDB;
        SET GLOBAL local_infile = 1;"
    cat >"$WORK/run/fstore.toml" <<TOML
[offline]
root = "$WORK/run/offline"
[secrets]
backend = "env"
[stores.bench]
kind = "mysql"
host = "$HOST"
port = $PORT
database = "$DB"
write_secret_prefix = "scale_writer/bench"
tls = "disabled"
TOML
    export FSTORE_SECRET_SCALE_WRITER_BENCH_USER="$BENCH_USER"
    export FSTORE_SECRET_SCALE_WRITER_BENCH_PASSWORD="$BENCH_PW"
    F=("$BIN/fstore" --config "$WORK/run/fstore.toml" --quiet)

    # /usr/bin/time runs programs, not shell functions: the mysql client is spelled out.
    measure "raw LOAD DATA LOCAL INFILE" "$ROWS" mysql --local-infile=1 --host="$HOST" --port="$PORT" --user="$ADMIN" "$DB" -e \
        "LOAD DATA LOCAL INFILE '$WORK/run/users.csv' INTO TABLE raw FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' (id, f0, f1, f2, f3, f4, f5, n0, n1, s0, @b0) SET b0 = CAST(@b0 AS UNSIGNED)"
    RAW_RATE=$LAST_RATE
    measure "create --from parquet" "$ROWS" "${F[@]}" tables create bench.users --primary-key id --from "$WORK/run/users.parquet"
    measure "publish (first)" "$ROWS" "${F[@]}" publish bench.users --store bench --mode merge
    FIRST_RATE=$LAST_RATE
    measure "publish --mode overwrite" "$ROWS" "${F[@]}" publish bench.users --store bench --mode overwrite
    measure "read --limit 5" "$ROWS" "${F[@]}" tables read bench.users --limit 5
    "${F[@]}" tables create bench.history --primary-key id --timestamp-key ts --from "$WORK/run/history.parquet" >/dev/null
    measure "training-set" "$ROWS" "${F[@]}" training-set --spine "$WORK/run/spine.parquet" \
        --lookup "bench.history:timestamp_lookup_key=event_ts" --label label --out "$WORK/run/training.parquet"
    ratio=$(echo "$FIRST_RATE / $RAW_RATE" | bc -l)
    echo "first publish / raw LOAD DATA rate at $ROWS rows: ${ratio:0:4}× (target ≥ 0.9×$([ "$ROWS" -ge 10000000 ] && echo ": $(echo "$ratio >= 0.9" | bc -l | sed 's/1/ok/;s/0/MISSED/')"))"
done
