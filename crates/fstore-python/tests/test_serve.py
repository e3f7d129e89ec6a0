"""``fstore.ServeClient`` against a real ``fstore serve`` (the built binary) on the SQLite store:
the same answers as the in-process lookup, token checks, unknown tables, vector lookups."""

from __future__ import annotations

import datetime as dt
import decimal
import os
import re
import subprocess
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pytest

import fstore
from fstore import FeatureLookup
from test_native import cli

TOKEN = "s3rve-token-7f1c"


@pytest.fixture
def server(workdir: Path) -> Iterator[str]:
    """Publishes `default.users` to the `local` store, then runs `fstore serve` on it."""
    c = fstore.Client()
    c.create_table(
        "default.users",
        "id",
        pa.table({
            "id": pa.array([1, 2, 3], pa.int64()),
            "score": [0.5, 0.25, 1.0],
            "tier": ["a", "b", None],
            "price": pa.array([decimal.Decimal("1.10"), decimal.Decimal("-2.05"), None], pa.decimal128(10, 2)),
            "seen": pa.array([dt.datetime(2026, 1, 2, 3, 4, 5, 6), None, dt.datetime(2026, 5, 1)], pa.timestamp("us", "UTC")),
            "blob": pa.array([b"\x00\x01", None, b"xyz"], pa.binary()),
        }),
    )
    c.create_table("default.tiers", "tier", pa.table({"tier": ["a", "b"], "discount": [0.1, 0.2]}))
    c.publish_table("default.users", "local")
    c.publish_table("default.tiers", "local")
    env = dict(os.environ, FSTORE_TEST_TOKEN=TOKEN)
    proc = subprocess.Popen(
        [cli(), "serve", "--store", "local", "--listen", "127.0.0.1:0", "--token-env", "FSTORE_TEST_TOKEN", "--workers", "1"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        assert proc.stderr is not None
        for line in proc.stderr:
            m = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
            if m:
                url = m.group(1)
                break
        assert url, f"fstore serve did not start (exit {proc.poll()})"
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_lookups_through_serve_equal_the_in_process_ones(server: str) -> None:
    s = fstore.ServeClient(server, token=TOKEN)
    s.ready()
    keys = [{"id": 3}, {"id": 1}, {"id": 42}, {"id": 2}]
    got = s.lookup("default.users", keys)
    want = fstore.Client().lookup("default.users", keys)
    assert got.columns == want.columns == ["id", "score", "tier", "price", "seen", "blob"]
    assert got.to_arrow().to_pylist() == want.to_arrow().to_pylist()
    assert got.to_arrow().to_pylist()[1] == {
        "id": 1,
        "score": 0.5,
        "tier": "a",
        "price": decimal.Decimal("1.10"),
        "seen": dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc),
        "blob": b"\x00\x01",
    }
    # Feature types follow the server's metadata, as in process.
    assert got.to_arrow().schema.field("price").type == pa.decimal128(10, 2)
    assert got.metadata is not None and got.metadata["primary_keys"] == ["id"]
    sub = s.lookup("default.users", [{"id": 2}], features=["tier"])
    assert sub.to_arrow().to_pylist() == [{"id": 2, "tier": "b"}]
    # A dataframe of keys works too.
    assert s.lookup("default.users", pa.table({"id": [1]})).to_arrow().column("tier").to_pylist() == ["a"]


def test_feature_vector_lookup(server: str) -> None:
    s = fstore.ServeClient(server, token=TOKEN)
    rows = [{"uid": 1, "t": "a", "amount": 5}, {"uid": 3, "t": "z", "amount": 7}]
    got = s.lookup_vectors(
        rows,
        [
            FeatureLookup("default.users", "uid", feature_names=["score"], rename_outputs={"score": "user_score"}),
            FeatureLookup("default.tiers", "t", feature_names="discount"),
        ],
    )
    assert got.to_arrow().to_pylist() == [
        {"uid": 1, "t": "a", "amount": 5, "user_score": 0.5, "discount": 0.1},
        {"uid": 3, "t": "z", "amount": 7, "user_score": 1.0, "discount": None},
    ]
    assert [t[0] for t in got.metadata["tables"]] == ["default.users", "default.tiers"]


def test_a_wrong_token_and_an_unknown_table_raise(server: str) -> None:
    for token in ("wrong", None):
        with pytest.raises(fstore.ServeError) as e:
            fstore.ServeClient(server, token=token).lookup("default.users", [{"id": 1}])
        assert e.value.status == 401
        assert "401" in str(e.value)
    bad = fstore.ServeClient(server, token="wrong")
    assert "wrong" not in repr(bad) and TOKEN not in repr(fstore.ServeClient(server, token=TOKEN))
    s = fstore.ServeClient(server, token=TOKEN)
    with pytest.raises(fstore.TableNotFoundError, match="default.nope"):
        s.lookup("default.nope", [{"id": 1}])
    with pytest.raises(ValueError, match="id"):
        s.lookup("default.users", [{"id": "not-a-number"}])
    with pytest.raises(ValueError, match="dicts such as"):
        s.lookup("default.users", [1])
    with pytest.raises(ValueError, match="invalid server URL"):
        fstore.ServeClient("ftp://x")
    # Nobody listening: a transport error, no status.
    with pytest.raises(fstore.ServeError) as e:
        fstore.ServeClient("http://127.0.0.1:9", timeout=5).lookup("default.users", [{"id": 1}])
    assert e.value.status is None
