"""DuckDB's side of bench/training_set.sh: the same as-of join over the same Parquet files.

Usage: training_set_duckdb.py SPINE.parquet 'HISTORY/*.parquet' OUT.parquet
Prints `seconds <s>` for the query alone (reading both inputs, the ASOF LEFT JOIN, writing Parquet).
"""

import sys
import time

import duckdb

spine, history, out = sys.argv[1:4]
con = duckdb.connect()
features = ", ".join(f"h.{c}" for c in ["f0", "f1", "f2", "f3", "f4", "f5", "n0", "n1", "s0", "b0"])
query = f"""
COPY (
    SELECT s.id, s.event_ts, {features}, s.churned
    FROM read_parquet('{spine}') s
    ASOF LEFT JOIN read_parquet('{history}') h
      ON s.id = h.id AND s.event_ts >= h.ts
) TO '{out}' (FORMAT parquet, COMPRESSION snappy)
"""
start = time.perf_counter()
con.execute(query)
elapsed = time.perf_counter() - start
threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
print(f"threads {threads}")
print(f"seconds {elapsed:.4f}")
