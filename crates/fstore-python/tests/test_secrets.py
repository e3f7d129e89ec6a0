"""``Client.secrets`` on the real backends: the encrypted ``local`` file (values stored, used by a
real MariaDB publish, never shown) and the read-only ``env`` backend (refuses with the CLI's
message)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest

import fstore
from conftest import Mysql
from test_native import cli


def use_local_backend(workdir: Path) -> None:
    cfg = workdir / "fstore.toml"
    cfg.write_text(cfg.read_text().replace('backend = "env"', 'backend = "local"\npath = "secrets.enc"'))


def test_put_and_list_on_the_local_backend(workdir: Path, mysql: Mysql, monkeypatch: pytest.MonkeyPatch) -> None:
    use_local_backend(workdir)
    monkeypatch.delenv("FSTORE_MASTER_KEY", raising=False)
    writer_pw = os.environ["FSTORE_SECRET_AURORA_WRITER_AURORA_PASSWORD"]
    # The env backend is off now: only the local file holds credentials.
    for v in ("WRITER_AURORA_USER", "WRITER_AURORA_PASSWORD", "READER_AURORA_USER", "READER_AURORA_PASSWORD"):
        monkeypatch.delenv(f"FSTORE_SECRET_AURORA_{v}")
    c = fstore.Client()
    s = c.secrets
    assert not s.read_only and "secrets.enc" in s.describe()
    with pytest.raises(fstore.SecretsError, match="create it with `fstore secrets create-scope aurora_writer`"):
        s.put("aurora_writer", "aurora-user", mysql.writer)
    assert s.create_scope("aurora_writer") is True
    assert s.create_scope("aurora_writer") is False
    s.put("aurora_writer", "aurora-user", mysql.writer)
    s.put("aurora_writer", "aurora-password", writer_pw)
    assert s.list() == ["aurora_writer"]
    assert s.list("aurora_writer") == ["aurora-password", "aurora-user"]
    # Names, never values: not in the listing, the repr, or the file on disk.
    shown = repr(s) + repr(c) + str(s.list("aurora_writer"))
    assert writer_pw not in shown
    assert writer_pw.encode() not in (workdir / "secrets.enc").read_bytes()
    # The CLI sees the same scope (same file, same key).
    out = subprocess.run([cli(), "secrets", "list", "--scope", "aurora_writer"], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["aurora-password", "aurora-user"]

    # The stored values work: a publish to MariaDB authenticates with them.
    c.create_table("default.t", "id", pa.table({"id": [1, 2], "v": [10, 20]}))
    spec = fstore.AmazonRdsMySqlSpec(mysql.host, mysql.port, write_secret_prefix="aurora_writer/aurora",
                                     database_name=mysql.database, table_name="t")
    assert c.publish_table("default.t", spec).inserted == 2

    # Bad input raises before anything is stored; messages never carry the value.
    with pytest.raises(ValueError, match="refusing to store an empty value for `k`"):
        s.put("aurora_writer", "k", "")
    with pytest.raises(ValueError, match="invalid secret key name `a b`"):
        s.put("aurora_writer", "a b", "hunter2-value")
    with pytest.raises(ValueError, match="must be a str, not int") as e:
        s.put("aurora_writer", "k", 123456789)  # type: ignore[arg-type]
    assert "123456789" not in str(e.value)
    assert s.list("aurora_writer") == ["aurora-password", "aurora-user"]
    s.delete("aurora_writer", "aurora-user")
    assert s.list("aurora_writer") == ["aurora-password"]
    s.delete_scope("aurora_writer")
    assert s.list() == []


def test_the_env_backend_is_read_only_with_the_cli_message(workdir: Path) -> None:
    s = fstore.Client().secrets
    assert s.read_only
    with pytest.raises(fstore.SecretsError) as e:
        s.put("aurora_writer", "aurora-user", "writer-value")
    msg = str(e.value)
    assert "read-only" in msg and "FSTORE_SECRET_AURORA_WRITER_AURORA_USER" in msg
    assert "writer-value" not in msg
    cli_out = subprocess.run(
        [cli(), "secrets", "put", "--scope", "aurora_writer", "--key", "aurora-user"],
        input="writer-value", capture_output=True, text=True,
    )
    assert cli_out.returncode != 0 and msg in cli_out.stderr
    with pytest.raises(fstore.SecretsError, match="cannot list scopes"):
        s.list()
