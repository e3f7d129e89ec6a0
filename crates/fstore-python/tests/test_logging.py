"""fstore's log lines reach Python's ``logging`` under the ``fstore`` logger, honouring levels
set after import."""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pytest

import fstore


def test_publish_notices_reach_the_fstore_logger(workdir: Path, caplog: pytest.LogCaptureFixture) -> None:
    c = fstore.Client()
    c.create_table("default.users", "id", pa.table({"id": [1, 2], "v": [1, 2]}))
    c.create_table("default.other", "id", pa.table({"id": [1], "v": [1]}))
    with caplog.at_level(logging.WARNING, logger="fstore"):
        c.publish_table("default.other", "local")
    assert not [r for r in caplog.records if r.name.startswith("fstore")]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="fstore"):
        c.publish_table("default.users", "local")
    notes = [r for r in caplog.records if "publishing the whole table" in r.getMessage()]
    assert notes, [r.getMessage() for r in caplog.records]
    r = notes[0]
    assert r.name == "fstore.publish" and r.levelno == logging.INFO
    assert "default.users" in r.getMessage()
    assert any(x.name == "fstore.publish" and x.getMessage().startswith("published") for x in caplog.records)
