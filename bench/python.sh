#!/usr/bin/env bash
# Python package benchmark (issue 22), release build, one run:
#  (a) create + publish a ROWS-row pandas DataFrame (id + 9 features) to MariaDB through
#      `fstore.Client`, beside the CLI doing `tables create --from x.parquet` + `publish` of the
#      same rows (target: Python ≤ 1.15× the CLI). Each side runs REPEAT times, alternating,
#      from a fresh offline root and an empty database; the best time of each is compared.
#  (b) single-key lookups on SQLite of the same table: in process from Python
#      (`Client.lookup`, target p99 < 0.5 ms), through `fstore serve` over HTTP
#      (`fstore.ServeClient`, --workers 1), and the CLI (`fstore lookup`, one process each):
#      p50/p99 of each, printed side by side.
# Usage: bench/python.sh [ROWS]  (env: ROWS=1000000, REPEAT=2, LOOKUPS=20000, CLI_LOOKUPS=50;
# MariaDB: $FSTORE_TEST_MYSQL_URL, default mysql://root@127.0.0.1:3306, needs the `mysql` client).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fstore/target}"
export FSTORE_TEST_MYSQL_URL="${FSTORE_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306}"
export PYO3_BUILD_EXTENSION_MODULE=1
PYTHON="${FSTORE_TEST_PYTHON:-python3}"
export PYO3_PYTHON="${PYO3_PYTHON:-$(command -v "$PYTHON")}"
export ROWS="${1:-${ROWS:-1000000}}" REPEAT="${REPEAT:-2}" LOOKUPS="${LOOKUPS:-20000}" CLI_LOOKUPS="${CLI_LOOKUPS:-50}"

# The bench scripts' one release build (`--bins`) plus the extension (`--lib`): the same
# packages without dev-dependencies, so the same features and no second dependency build.
cargo build --quiet --release --workspace --lib --bins

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The package sources with the release extension, outside the source tree (which holds the
# debug one scripts/test-python copies there).
mkdir -p "$work/pkg"
cp -r crates/fstore-python/python/fstore "$work/pkg/"
rm -f "$work/pkg/fstore/"*.so
cp "$CARGO_TARGET_DIR/release/lib_fstore.so" "$work/pkg/fstore/_fstore.abi3.so"
"$PYTHON" -c 'import pyarrow, pandas, numpy' 2>/dev/null \
  || "$PYTHON" -m pip install --quiet --disable-pip-version-check 'pyarrow>=15' 'pandas>=2.2'

export FSTORE_BIN="$CARGO_TARGET_DIR/release/fstore" BENCH_DIR="$work" PYTHONPATH="$work/pkg"
exec "$PYTHON" - <<'PY'
import os, re, secrets, subprocess, sys, time, urllib.parse

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import fstore

ROWS, REPEAT = int(os.environ["ROWS"]), int(os.environ["REPEAT"])
LOOKUPS, CLI_LOOKUPS = int(os.environ["LOOKUPS"]), int(os.environ["CLI_LOOKUPS"])
BIN, WORK = os.environ["FSTORE_BIN"], os.environ["BENCH_DIR"]
url = urllib.parse.urlparse(os.environ["FSTORE_TEST_MYSQL_URL"])
HOST, PORT = url.hostname or "127.0.0.1", url.port or 3306
DB, USER, PW = "fstore_bench_python", "fstore_bench_py", secrets.token_hex(12)


def mysql_admin(sql: str) -> None:
    args = ["mysql", "-h", HOST, "-P", str(PORT), "-u", urllib.parse.unquote(url.username or "root"), "-e", sql]
    env = dict(os.environ, MYSQL_PWD=urllib.parse.unquote(url.password or ""))  # never in argv
    subprocess.run(args, check=True, env=env)


def fresh_database() -> None:
    mysql_admin(f"DROP DATABASE IF EXISTS `{DB}`; CREATE DATABASE `{DB}`")


mysql_admin(
    f"DROP USER IF EXISTS '{USER}'@'%'; CREATE USER '{USER}'@'%' IDENTIFIED BY '{PW}'; "
    f"GRANT ALL PRIVILEGES ON `{DB}`.* TO '{USER}'@'%'"
)
os.environ.update({
    "FSTORE_SECRET_BENCH_WRITER_BENCH_USER": USER, "FSTORE_SECRET_BENCH_WRITER_BENCH_PASSWORD": PW,
    "FSTORE_SECRET_BENCH_READER_BENCH_USER": USER, "FSTORE_SECRET_BENCH_READER_BENCH_PASSWORD": PW,
})


def config(root: str) -> str:
    path = os.path.join(root, "fstore.toml")
    with open(path, "w") as f:
        f.write(
            f'[offline]\nroot = "{root}/offline"\n\n[secrets]\nbackend = "env"\n\n'
            f'[stores.bench]\nkind = "mysql"\nhost = "{HOST}"\nport = {PORT}\ndatabase = "{DB}"\n'
            'write_secret_prefix = "bench_writer/bench"\nread_secret_prefix = "bench_reader/bench"\ntls = "disabled"\n\n'
            f'[stores.local]\nkind = "sqlite"\npath = "{root}/online.db"\n'
        )
    return path


rng = np.random.default_rng(7)
df = pd.DataFrame({
    "id": np.arange(ROWS, dtype=np.int64),
    **{f"f{i}": rng.random(ROWS) for i in range(4)},
    **{f"n{i}": rng.integers(0, 1_000_000, ROWS, dtype=np.int64) for i in range(3)},
    "tier": rng.choice(["bronze", "silver", "gold", "platinum"], ROWS),
    "city": pd.Series(rng.integers(0, 5000, ROWS)).map(lambda i: f"city-{i}"),
})
parquet = os.path.join(WORK, "x.parquet")
pq.write_table(pa.Table.from_pandas(df, preserve_index=False), parquet)


def run_cli(i: int) -> float:
    root = os.path.join(WORK, f"cli{i}")
    os.makedirs(root)
    cfg = config(root)
    fresh_database()
    t = time.perf_counter()
    for args in (["tables", "create", "bench.t", "--primary-key", "id", "--from", parquet], ["publish", "bench.t", "--store", "bench"]):
        subprocess.run([BIN, "--quiet", "--config", cfg, *args], check=True)
    return time.perf_counter() - t


def run_python(i: int) -> float:
    root = os.path.join(WORK, f"py{i}")
    os.makedirs(root)
    cfg = config(root)
    fresh_database()
    t = time.perf_counter()
    c = fstore.Client(cfg)
    c.create_table("bench.t", "id", df)
    r = c.publish_table("bench.t", "bench")
    took = time.perf_counter() - t
    assert r.inserted == ROWS, r
    c.close()
    return took


cli_t, py_t = [], []
for i in range(REPEAT):
    cli_t.append(run_cli(i))
    py_t.append(run_python(i))
best_cli, best_py = min(cli_t), min(py_t)
print(f"(a) create + publish {ROWS:,} rows x 10 columns to MariaDB (best of {REPEAT})")
print(f"    CLI    tables create --from parquet + publish: {best_cli:8.2f} s   {ROWS / best_cli:12,.0f} rows/s   runs {', '.join(f'{x:.2f}' for x in cli_t)}")
print(f"    Python create_table(pandas) + publish_table:   {best_py:8.2f} s   {ROWS / best_py:12,.0f} rows/s   runs {', '.join(f'{x:.2f}' for x in py_t)}")
print(f"    Python / CLI = {best_py / best_cli:.3f}x (target <= 1.15x)")
mysql_admin(f"DROP DATABASE IF EXISTS `{DB}`; DROP USER IF EXISTS '{USER}'@'%'")

# (b) lookups on SQLite: the last Python run's offline table, published to the local store.
root = os.path.join(WORK, f"py{REPEAT - 1}")
cfg = os.path.join(root, "fstore.toml")
c = fstore.Client(cfg)
c.publish_table("bench.t", "local")
keys = rng.integers(0, ROWS, LOOKUPS).tolist()


def pct(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return s[len(s) // 2] * 1e3, s[min(len(s) - 1, int(len(s) * 0.99))] * 1e3


def measure(fn, ks: list[int]) -> tuple[float, float]:
    for k in ks[: max(1, min(200, len(ks) // 10))]:  # warm-up: connections, caches
        fn(k)
    out = []
    for k in ks:
        t = time.perf_counter()
        fn(k)
        out.append(time.perf_counter() - t)
    return pct(out)


want = c.lookup("bench.t", [keys[0]], online_store="local").to_arrow().to_pylist()[0]
assert want["id"] == keys[0] and want["tier"] is not None
inproc = measure(lambda k: c.lookup("bench.t", [k], online_store="local"), keys)

proc = subprocess.Popen([BIN, "--config", cfg, "serve", "--store", "local", "--listen", "127.0.0.1:0", "--workers", "1"],
                        stderr=subprocess.PIPE, text=True)
try:
    base = None
    for line in proc.stderr:
        m = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
        if m:
            base = m.group(1)
            break
    assert base, "fstore serve did not start"
    s = fstore.ServeClient(base)
    assert s.lookup("bench.t", [{"id": keys[0]}]).to_arrow().to_pylist()[0] == want
    http = measure(lambda k: s.lookup("bench.t", [{"id": k}]), keys)
finally:
    proc.terminate()
    proc.wait(timeout=15)

cli_keys = keys[:CLI_LOOKUPS]
cli = measure(lambda k: subprocess.run([BIN, "--quiet", "--config", cfg, "lookup", "bench.t", "--key", f"id={k}", "--store", "local"],
                                       check=True, stdout=subprocess.DEVNULL), cli_keys)
print(f"(b) single-key lookups on SQLite ({ROWS:,} rows)        p50 ms    p99 ms")
print(f"    Python in process (Client.lookup, {LOOKUPS:,}) {inproc[0]:9.3f} {inproc[1]:9.3f}   (target p99 < 0.5 ms)")
print(f"    HTTP fstore serve (ServeClient, {LOOKUPS:,})   {http[0]:9.3f} {http[1]:9.3f}   ({http[1] / inproc[1]:.1f}x in-process p99)")
print(f"    CLI fstore lookup (one process, {CLI_LOOKUPS})      {cli[0]:9.3f} {cli[1]:9.3f}   ({cli[1] / inproc[1]:.0f}x in-process p99)")
ok = best_py / best_cli <= 1.15 and inproc[1] < 0.5
print("targets met" if ok else "targets NOT met")
sys.exit(0 if ok else 1)
PY
