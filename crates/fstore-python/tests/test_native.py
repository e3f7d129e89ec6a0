"""The native API on real Delta tables and the real SQLite store: inputs from pandas, polars
and pyarrow, time travel, lookups, training sets (equal to the CLI's), bad inputs."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fstore
from fstore import FeatureLookup

ROWS = {"id": [1, 2, 3], "age": [30, None, 41], "city": ["Oslo", "Lima", None]}


def as_rows(frame: fstore.Frame) -> list[dict]:
    return sorted(frame.to_arrow().to_pylist(), key=lambda r: r["id"])


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: pd.DataFrame(ROWS).astype({"age": "Int64"}).set_index(pd.Index([7, 8, 9])), id="pandas"),
        pytest.param(lambda: pl.DataFrame(ROWS), id="polars"),
        pytest.param(lambda: pa.table(ROWS), id="pyarrow-table"),
        pytest.param(lambda: pa.table(ROWS).to_batches()[0], id="pyarrow-batch"),
        pytest.param(lambda: pa.RecordBatchReader.from_batches(pa.table(ROWS).schema, pa.table(ROWS).to_batches()), id="pyarrow-reader"),
    ],
)
def test_the_same_table_from_every_input(workdir: Path, make) -> None:
    c = fstore.Client()
    t = c.create_table("default.people", "id", make())
    assert t.primary_keys == ["id"] and t.version == 0
    want = [{"id": 1, "age": 30, "city": "Oslo"}, {"id": 2, "age": None, "city": "Lima"}, {"id": 3, "age": 41, "city": None}]
    assert as_rows(c.read_table("default.people")) == want
    # Outputs: pandas and polars agree with Arrow.
    assert c.read_table("default.people").to_polars().sort("id")["city"].to_list() == ["Oslo", "Lima", None]
    assert c.read_table("default.people").to_pandas().sort_values("id")["id"].tolist() == [1, 2, 3]
    assert c.list_tables() == ["default.people"]


def test_read_at_a_version_and_a_timestamp(workdir: Path) -> None:
    c = fstore.Client()
    c.create_table("default.t", "id", pa.table({"id": [1, 2], "v": [10, 20]}))
    time.sleep(1.1)
    between = dt.datetime.now(dt.timezone.utc)
    time.sleep(1.1)
    c.write_table("default.t", pa.table({"id": [2, 3], "v": [21, 30]}), mode="merge")
    assert [r["v"] for r in as_rows(c.read_table("default.t", version=0))] == [10, 20]
    assert [r["v"] for r in as_rows(c.read_table("default.t", as_of=between))] == [10, 20]
    assert [r["v"] for r in as_rows(c.read_table("default.t"))] == [10, 21, 30]
    assert as_rows(c.read_table("default.t", columns=["id"], filter="v > 20")) == [{"id": 2}, {"id": 3}]
    h = c.history("default.t")
    assert [e.version for e in h] == [1, 0]
    # Databricks spelling.
    from fstore.databricks import FeatureStoreClient

    fs = FeatureStoreClient()
    assert [r["v"] for r in as_rows(fs.read_table("default.t", as_of_delta_timestamp=between.isoformat()))] == [10, 20]
    with pytest.raises(ValueError, match="Unexpected arguments: as_of"):
        fs.read_table("default.t", as_of=between)


def test_publish_and_look_up_in_process_on_sqlite(workdir: Path) -> None:
    c = fstore.Client()
    c.create_table("default.users", "id", pd.DataFrame({"id": [1, 2, 3], "score": [0.5, 0.25, 1.0], "tier": ["a", "b", "c"]}))
    r = c.publish_table("default.users", "local")
    assert (r.rows_read, r.inserted, r.method) == (3, 3, "full")
    assert str(r).startswith("published default.users (Delta version 0) to local:users in merge mode, full")
    got = c.lookup("default.users", [3, {"id": 1}, 42]).to_arrow().to_pylist()
    assert got == [
        {"id": 3, "score": 1.0, "tier": "c"},
        {"id": 1, "score": 0.5, "tier": "a"},
        {"id": 42, "score": None, "tier": None},
    ]
    assert c.lookup("default.users", [2], features=["tier"]).to_arrow().to_pylist() == [{"id": 2, "tier": "b"}]
    # filter + features + overwrite options reach the publish.
    r = c.publish_table("default.users", "local", filter_condition="score < 1", mode="overwrite")
    assert r.rows_read == 2
    assert c.lookup("default.users", [3]).to_arrow().to_pylist()[0]["score"] is None
    c.drop_online_table("default.users", "local")
    with pytest.raises(fstore.TableNotFoundError, match="is not published in store `local`"):
        c.lookup("default.users", [1])


def test_bad_inputs_raise_their_messages_and_write_nothing(workdir: Path) -> None:
    c = fstore.Client()
    with pytest.raises(ValueError, match="must be a pandas, polars or pyarrow"):
        c.create_table("default.x", "id", [1, 2, 3])
    with pytest.raises(ValueError, match="invalid table name"):
        c.create_table("nodot", "id", pa.table({"id": [1]}))
    with pytest.raises(ValueError, match="`id`"):
        c.create_table("default.x", "id", pa.table({"other": [1]}))
    with pytest.raises(ValueError, match="(?i)duplicate"):
        c.create_table("default.x", "id", pa.table({"id": [1, 1], "v": [1, 2]}))
    assert c.list_tables() == []
    c.create_table("default.x", "id", pa.table({"id": [1], "v": [1]}))
    with pytest.raises(ValueError, match="(?i)null"):
        c.write_table("default.x", pa.table({"id": pa.array([None], pa.int64()), "v": [2]}))
    with pytest.raises(ValueError, match="unknown write mode `upsert`"):
        c.write_table("default.x", pa.table({"id": [2], "v": [2]}), mode="upsert")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="(?i)duplicate"):
        c.write_table("default.x", pa.table({"id": [5, 5], "v": [1, 2]}))
    assert c.get_table("default.x").version == 0
    assert as_rows(c.read_table("default.x")) == [{"id": 1, "v": 1}]
    with pytest.raises(fstore.TableNotFoundError, match="no feature table `default.nope`"):
        c.read_table("default.nope")
    with pytest.raises(fstore.TableExistsError, match="already exists"):
        c.create_table("default.x", "id", pa.table({"id": [1]}))
    with pytest.raises(ValueError, match="not an RFC 3339 time"):
        c.read_table("default.x", as_of="yesterday")


def test_bad_specs(workdir: Path) -> None:
    from fstore.databricks.online_store_spec import AmazonRdsMySqlSpec

    with pytest.raises(ValueError, match="does not take user= or password=.*write_secret_prefix"):
        AmazonRdsMySqlSpec("h", 3306, user="admin", password="pw", write_secret_prefix="a/b")
    with pytest.raises(ValueError, match="both database_name and table_name"):
        AmazonRdsMySqlSpec("h", 3306, database_name="db", write_secret_prefix="a/b")
    with pytest.raises(ValueError, match="`<scope>/<prefix>`"):
        AmazonRdsMySqlSpec("h", 3306, write_secret_prefix="nope")
    with pytest.raises(ValueError, match="port"):
        AmazonRdsMySqlSpec("h", "3306", write_secret_prefix="a/b")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="write_secret_prefix is required"):
        AmazonRdsMySqlSpec("h", 3306)


def test_spark_only_arguments_say_so(workdir: Path) -> None:
    from fstore.databricks import FeatureStoreClient

    fs = FeatureStoreClient()
    fs.create_table("default.s", "id", pa.table({"id": [1], "v": [1]}))
    with pytest.warns(UserWarning, match="Spark Structured Streaming"):
        fs.write_table("default.s", pa.table({"id": [2], "v": [2]}), checkpoint_location="/tmp/x")
    with pytest.raises(ValueError, match="does not support mode='overwrite'"):
        fs.publish_table("default.s", "local", mode="overwrite", features=["v"])


def cli() -> str:
    path = os.environ.get("FSTORE_TEST_CLI")
    assert path and Path(path).exists(), "FSTORE_TEST_CLI must name the built fstore binary (scripts/test-python sets it)"
    return path


def test_training_set_equals_the_cli_output(workdir: Path) -> None:
    c = fstore.Client()
    c.create_table(
        "default.trips",
        ["driver"],
        pa.table({
            "driver": [1, 1, 2],
            "ts": pa.array([dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 3), dt.datetime(2026, 1, 2)], pa.timestamp("us", "UTC")),
            "rides": [5, 7, 9],
        }),
        timestamp_key="ts",
    )
    c.create_table("default.drivers", "driver", pa.table({"driver": [1, 2], "rating": [4.5, 3.9]}))
    spine = pa.table({
        "driver": [1, 1, 2, 3],
        "event_ts": pa.array([dt.datetime(2026, 1, 2), dt.datetime(2026, 1, 4), dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 5)], pa.timestamp("us", "UTC")),
        "label": [True, False, True, False],
    })
    lookups = [
        FeatureLookup("default.trips", "driver", timestamp_lookup_key="event_ts", feature_names=["rides"]),
        FeatureLookup("default.drivers", "driver", rename_outputs={"rating": "driver_rating"}),
    ]
    ts = c.create_training_set(spine, lookups, label="label")
    got = ts.load_df().to_arrow()
    assert ts.tables_read == [("default.trips", 0), ("default.drivers", 0)]
    pq.write_table(spine, workdir / "spine.parquet")
    subprocess.run(
        [cli(), "--quiet", "training-set", "--spine", str(workdir / "spine.parquet"),
         "--lookup", "default.trips:lookup_key=driver:timestamp_lookup_key=event_ts:features=rides",
         "--lookup", "default.drivers:lookup_key=driver:rename=rating->driver_rating",
         "--label", "label", "--out", str(workdir / "train.parquet")],
        check=True,
    )
    want = pq.read_table(workdir / "train.parquet")
    assert got.column_names == want.column_names == ["driver", "event_ts", "rides", "driver_rating", "label"]
    assert got.to_pylist() == want.to_pylist()
    assert got.column("rides").to_pylist() == [5, 7, None, None]


def test_a_tiny_memory_limit_spills_and_gives_the_same_training_set(workdir: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    c = fstore.Client()
    n = 20_000
    c.create_table("default.f", "k", pa.table({"k": pa.array(range(n), pa.int64()), "x": pa.array([i * 0.5 for i in range(n)])}))
    spine = pa.table({"k": pa.array([(i * 7919) % (n + 100) for i in range(5_000)], pa.int64()), "y": [i % 2 for i in range(5_000)]})
    lookups = [FeatureLookup("default.f", "k")]
    default = c.create_training_set(spine, lookups, label="y").load_df().to_arrow()
    spill = workdir / "spill"
    spill.mkdir()
    with caplog.at_level(logging.INFO, logger="fstore"):
        tiny = c.create_training_set(spine, lookups, label="y", memory_limit="64KiB", spill_dir=spill).load_df().to_arrow()
    # It did spill (fstore-training says so), and the result is the same.
    assert any("spilling a feature table" in r.getMessage() for r in caplog.records), caplog.text
    assert tiny.column_names == default.column_names == ["k", "x", "y"]
    assert tiny.to_pylist() == default.to_pylist()
    assert tiny.column("x").null_count == default.column("x").null_count > 0
    assert list(spill.iterdir()) == []  # the spill files are gone
    assert c.create_training_set(spine, lookups, label="y", memory_limit=65536).load_df().to_arrow().to_pylist() == default.to_pylist()
    with pytest.raises(ValueError, match="memory_limit `lots` is not a size"):
        c.create_training_set(spine, lookups, label="y", memory_limit="lots").load_df()
    with pytest.raises(ValueError, match="memory_limit must be positive"):
        c.create_training_set(spine, lookups, label="y", memory_limit=0)


def test_the_gil_is_released_while_rust_works(workdir: Path) -> None:
    c = fstore.Client()
    n = 300_000
    df = pa.table({"id": pa.array(range(n), pa.int64()), "v": pa.array([float(i) for i in range(n)])})
    c.create_table("default.big", "id", df)
    ticks = 0
    done = threading.Event()

    def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=tick)
    t.start()
    start = time.monotonic()
    try:
        c.publish_table("default.big", "local")
    finally:
        done.set()
        t.join()
    elapsed = time.monotonic() - start
    # The other thread ran throughout the publish (≥ a quarter of the 1 ms ticks it could make).
    assert ticks > elapsed * 1000 / 4, (ticks, elapsed)


def test_ctrl_c_interrupts_a_long_publish_and_writes_nothing(workdir: Path) -> None:
    import signal

    c = fstore.Client()
    # Large enough that the publish (about 1 s per million rows on a debug build) is still
    # running when the interrupt arrives, on a fast machine too.
    n = 2_000_000
    c.create_table("default.slow", "id", pa.table({"id": pa.array(range(n), pa.int64()), "v": pa.array(range(n), pa.int64())}))
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        c.publish_table("default.slow", "local")
    assert time.monotonic() - start < 3.0
    timer.join()
    # The interrupted publish rolled back: the table is not online.
    with pytest.raises(fstore.TableNotFoundError):
        c.lookup("default.slow", [1])
