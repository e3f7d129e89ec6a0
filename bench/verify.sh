#!/usr/bin/env bash
# `fstore online verify` on large tables (issue 24): for each row count (default 10,000,000;
# e.g. `bench/verify.sh 1000000 10000000`), on SQLite and on MariaDB/MySQL: peak RSS
# (`/usr/bin/time -v`, "Maximum resident set size") and rows/s of a clean verify of the
# published `bench.users` table (11 columns), beside the raw limit measured in the same run —
# the database's own client reading the whole online table in key order (`sqlite3`, `mysql`,
# output to /dev/null) — with the ratio. Then a cell updated, a row deleted and a row inserted
# by raw SQL: verify must exit 1 and report 1 different, 1 missing, 1 extra.
# Target printed beside each figure: peak RSS ≤ 400 MB (bounded: the offline sort spills past
# 128 MiB, the online side holds one page).
# Server: $FSTORE_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306), admin without password
# or MYSQL_PWD. Scratch space: $FSTORE_BENCH_DIR (default a temp dir; 10M rows need ~8 GB).
# FSTORE_BENCH_PROFILE=debug runs a debug build (a smoke test of the script at small sizes).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fstore/target}"
export PYO3_BUILD_EXTENSION_MODULE=1
PROFILE="${FSTORE_BENCH_PROFILE:-release}"
if [ "$PROFILE" = release ]; then
    cargo build --quiet --release --workspace --bins
else
    cargo build --quiet --workspace --all-targets
fi
BIN="$CARGO_TARGET_DIR/$PROFILE"
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(10000000)

URL="${FSTORE_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306}"
HOSTPORT="${URL#mysql://}"; HOSTPORT="${HOSTPORT#*@}"; HOSTPORT="${HOSTPORT%%/*}"
HOST="${HOSTPORT%%:*}"; PORT="${HOSTPORT##*:}"; [ "$PORT" = "$HOSTPORT" ] && PORT=3306
ADMIN="${URL#mysql://}"; ADMIN="${ADMIN%%@*}"; ADMIN="${ADMIN%%:*}"; [ -z "$ADMIN" ] && ADMIN=root
DB=fstore_verify_bench
BENCH_USER=fstore_verify_bench
BENCH_PW="verify-$$-$RANDOM-0123456789"
mysql_admin() { mysql --host="$HOST" --port="$PORT" --user="$ADMIN" "$@"; }

WORK="${FSTORE_BENCH_DIR:-$(mktemp -d)}"
trap 'rm -rf "$WORK/run"; mysql_admin -e "DROP DATABASE IF EXISTS $DB; DROP USER IF EXISTS '"'"$BENCH_USER"'"'@'"'"'%'"'"'" >/dev/null 2>&1 || true' EXIT

printf '%-28s %10s %10s %14s   %s\n' "command" "rows" "peak MB" "rows/s" "notes"

# measure LABEL ROWS WANT_CODE CMD... : runs CMD under /usr/bin/time -v (exit code WANT_CODE),
# prints peak RSS and rate; LAST_RATE is the rate.
measure() {
    local label="$1" rows="$2" want="$3"; shift 3
    local t0 t1 kb secs code=0
    t0=$(date +%s.%N)
    /usr/bin/time -v -o "$WORK/run/time" "$@" >"$WORK/run/out" 2>"$WORK/run/err" || code=$?
    t1=$(date +%s.%N)
    if [ "$code" -ne "$want" ]; then
        echo "$label exited $code, not $want:" >&2; cat "$WORK/run/err" "$WORK/run/out" >&2; exit 1
    fi
    kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/run/time")
    secs=$(echo "$t1 - $t0" | bc -l)
    local mb=$((kb / 1024))
    LAST_RATE=$(echo "$rows / $secs" | bc -l)
    local notes="${NOTES:-}"
    case "$label" in
        verify*) notes="≤ 400 MB: $([ "$mb" -le 400 ] && echo ok || echo MISSED)${notes:+; $notes}" ;;
    esac
    printf '%-28s %10s %10s %14.0f   %s\n' "$label" "$rows" "$mb" "$LAST_RATE" "$notes"
}

# check_dirty STORE: the three raw changes are found, no more.
check_dirty() {
    local store="$1" json
    json=$("${F[@]}" online verify users --store "$store" --json --examples 3 2>/dev/null || true)
    for want in '"missing":1' '"extra":1' '"different":1'; do
        if ! grep -q "$want" <<<"$json"; then
            echo "verify on $store after the raw changes: expected $want in $json" >&2; exit 1
        fi
    done
    echo "verify on $store after UPDATE + DELETE + INSERT by raw SQL: exit 1, 1 missing, 1 extra, 1 different: ok"
}

for ROWS in "${SIZES[@]}"; do
    rm -rf "$WORK/run"; mkdir -p "$WORK/run"
    "$BIN/scale_data" "$ROWS" "$WORK/run"
    rm -f "$WORK/run/users.csv" "$WORK/run/history.parquet" "$WORK/run/spine.parquet"
    mysql_admin -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
        DROP USER IF EXISTS '$BENCH_USER'@'%'; CREATE USER '$BENCH_USER'@'%' IDENTIFIED BY '$BENCH_PW';
        GRANT ALL PRIVILEGES ON $DB.* TO '$BENCH_USER'@'%';"
    cat >"$WORK/run/fstore.toml" <<TOML
[offline]
root = "$WORK/run/offline"
[secrets]
backend = "env"
[stores.lite]
kind = "sqlite"
path = "$WORK/run/online.db"
[stores.maria]
kind = "mysql"
host = "$HOST"
port = $PORT
database = "$DB"
read_secret_prefix = "verify_bench/maria"
write_secret_prefix = "verify_bench/maria"
tls = "disabled"
TOML
    export FSTORE_SECRET_VERIFY_BENCH_MARIA_USER="$BENCH_USER"
    export FSTORE_SECRET_VERIFY_BENCH_MARIA_PASSWORD="$BENCH_PW"
    F=("$BIN/fstore" --config "$WORK/run/fstore.toml" --quiet)
    "${F[@]}" tables create bench.users --primary-key id --from "$WORK/run/users.parquet" >/dev/null
    rm -f "$WORK/run/users.parquet"

    # SQLite
    "${F[@]}" publish bench.users --store lite >/dev/null
    measure "raw sqlite3 scan" "$ROWS" 0 sqlite3 "$WORK/run/online.db" "SELECT * FROM users ORDER BY id"
    RAW=$LAST_RATE
    measure "verify (sqlite)" "$ROWS" 0 "${F[@]}" online verify users --store lite
    printf 'verify / raw scan rate on SQLite: %.2f×\n' "$(echo "$LAST_RATE / $RAW" | bc -l)"
    sqlite3 "$WORK/run/online.db" "UPDATE users SET f0 = -1 WHERE id = 5; DELETE FROM users WHERE id = 6;
        INSERT INTO users (id, f0, f1, f2, f3, f4, f5, n0, n1, s0, b0) SELECT $ROWS + 100, f0, f1, f2, f3, f4, f5, n0, n1, s0, b0 FROM users WHERE id = 7;"
    check_dirty lite

    # MariaDB / MySQL
    "${F[@]}" publish bench.users --store maria >/dev/null
    measure "raw mysql scan" "$ROWS" 0 mysql --quick --host="$HOST" --port="$PORT" --user="$ADMIN" "$DB" -e "SELECT * FROM users ORDER BY id"
    RAW=$LAST_RATE
    measure "verify (mysql)" "$ROWS" 0 "${F[@]}" online verify users --store maria
    printf 'verify / raw scan rate on MySQL: %.2f×\n' "$(echo "$LAST_RATE / $RAW" | bc -l)"
    mysql_admin "$DB" -e "UPDATE users SET f0 = -1 WHERE id = 5; DELETE FROM users WHERE id = 6;
        INSERT INTO users SELECT $ROWS + 100, f0, f1, f2, f3, f4, f5, n0, n1, s0, b0 FROM users WHERE id = 7;"
    check_dirty maria
done
