"""``publish_table(..., streaming=True)`` on real Delta tables and the real SQLite store: the
stream follows new versions until stopped, stops promptly, and refuses what Databricks refuses."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pytest

import fstore
from fstore.databricks import FeatureStoreClient


def until(cond: Callable[[], bool], secs: float = 60.0) -> None:
    end = time.monotonic() + secs
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def score(c: fstore.Client, key: int) -> object:
    return c.lookup("default.users", [key]).to_arrow().to_pylist()[0]["score"]


def test_a_stream_publishes_new_versions_until_stopped(workdir: Path) -> None:
    c = fstore.Client()
    c.create_table("default.users", "id", pa.table({"id": [1, 2], "score": [0.5, 0.25]}))
    with c.publish_table("default.users", "local", streaming=True, trigger={"processingTime": "200 ms"}) as s:
        assert isinstance(s, fstore.PublishStream) and s.is_active and s in fstore.PublishStream.active()
        until(lambda: s.last_progress is not None)
        p = s.last_progress
        assert p is not None and p["delta_version"] == 0 and p["inserted"] == 2 and p["versions_behind"] == 0
        assert score(c, 1) == 0.5
        c.write_table("default.users", pa.table({"id": [1, 3], "score": [0.9, 0.7]}))
        until(lambda: score(c, 1) == 0.9)
        assert score(c, 3) == 0.7
        until(lambda: (s.last_progress or {}).get("delta_version") == 1)
        assert s.lastProgress["method"] == "incremental" and s.lastProgress["updated"] == 1  # type: ignore[index]
        assert s.await_termination(0.1) is False
    assert not s.is_active and s.exception() is None
    assert s not in fstore.PublishStream.active()
    # Stopped means stopped: a later version stays offline.
    c.write_table("default.users", pa.table({"id": [2], "score": [0.0]}))
    time.sleep(0.6)
    assert score(c, 2) == 0.25
    s.stop()  # twice is harmless


def test_stop_is_prompt_between_cycles(workdir: Path) -> None:
    c = fstore.Client()
    c.create_table("default.users", "id", pa.table({"id": [1], "score": [0.5]}))
    s = c.publish_table("default.users", "local", streaming=True, trigger={"processingTime": "10 minutes"})
    until(lambda: s.cycles >= 1)
    start = time.monotonic()
    s.stop()
    assert time.monotonic() - start < 1.0
    assert s.await_termination() is True


def test_databricks_streaming_spelling_and_refusals(workdir: Path) -> None:
    fs = FeatureStoreClient()
    fs.create_table("default.users", "id", pa.table({"id": [1], "score": [0.5]}))
    with pytest.raises(ValueError, match='Streaming publish_table does not support mode="overwrite"'):
        fs.publish_table("default.users", "local", streaming=True, mode="overwrite")
    with pytest.raises(ValueError, match="processingTime `soon` is not a duration"):
        fs.publish_table("default.users", "local", streaming=True, trigger={"processingTime": "soon"})
    with pytest.raises(ValueError, match="no other triggers"):
        fs.publish_table("default.users", "local", streaming=True, trigger={"once": True})
    with pytest.raises(fstore.TableNotFoundError, match="default.nope"):
        fs.publish_table("default.nope", "local", streaming=True)
    assert fstore.PublishStream.active() == []
    with pytest.warns(UserWarning, match="checkpoint_location is ignored"):
        q = fs.publish_table("default.users", "local", streaming=True, checkpoint_location="/tmp/ckpt",
                             trigger={"processingTime": "1 second"})
    try:
        until(lambda: q.lastProgress is not None)
        assert q.isActive and q.awaitTermination(0.05) is False
        assert fs.client.lookup("default.users", [1]).to_arrow().to_pylist() == [{"id": 1, "score": 0.5}]
    finally:
        q.stop()
    assert not q.isActive
