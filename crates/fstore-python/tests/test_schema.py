"""Schema strings: `create_table(schema="id BIGINT, ...")` (Spark DDL) and the CLI's
`"id:bigint,..."`, parsed by the same fstore-core parser as `fstore tables create --schema`;
tables created from them take rows and publish to real SQLite and the real MariaDB."""

from __future__ import annotations

import decimal
from pathlib import Path

import pandas as pd
import pytest

import fstore
from fstore.databricks import FeatureStoreClient
from fstore.databricks.online_store_spec import AmazonRdsMySqlSpec


def test_ddl_and_cli_strings_give_the_same_table(workdir: Path) -> None:
    c = fstore.Client()
    a = c.create_table("default.a", "id", schema="id BIGINT, price DECIMAL(10, 2), name STRING, ts TIMESTAMP")
    b = c.create_table("default.b", "id", schema="id:bigint,price:decimal(10,2),name:string,ts:timestamp")
    assert a.version == 0 and b.version == 0
    sa = c.read_table("default.a").to_arrow().schema
    sb = c.read_table("default.b").to_arrow().schema
    assert sa == sb
    assert [(f.name, str(f.type)) for f in sa] == [
        ("id", "int64"),
        ("price", "decimal128(10, 2)"),
        ("name", "string"),
        ("ts", "timestamp[us, tz=UTC]"),
    ]
    assert c.read_table("default.a").to_arrow().num_rows == 0


def test_bad_schema_strings_raise_and_create_nothing(workdir: Path) -> None:
    c = fstore.Client()
    with pytest.raises(ValueError, match=r"unknown type `TINYINT` for column `age`; use smallint"):
        c.create_table("default.x", "id", schema="id BIGINT, age TINYINT")
    with pytest.raises(fstore.InvalidInputError, match=r"`id` is declared twice"):
        c.create_table("default.x", "id", schema="id int, id bigint")
    with pytest.raises(ValueError, match=r"schema entry `id` has no type"):
        c.create_table("default.x", "id", schema="id")
    with pytest.raises(ValueError, match="schema must be a schema string"):
        c.create_table("default.x", "id", schema=42)
    assert c.list_tables() == []


def test_a_ddl_table_takes_rows_and_publishes_to_sqlite_and_mariadb(workdir: Path, mysql) -> None:
    fs = FeatureStoreClient()
    fs.create_table("default.scores", primary_keys="id", schema="id BIGINT, score DOUBLE, amount DECIMAL(8,2)")
    df = pd.DataFrame({"id": [1, 2], "score": [0.5, 1.5], "amount": [decimal.Decimal("1.25"), None]})
    fs.write_table("default.scores", df)
    c = fstore.Client()
    c.publish_table("default.scores", "local")
    assert c.lookup("default.scores", [2, 1]).to_arrow().to_pylist() == [
        {"id": 2, "score": 1.5, "amount": None},
        {"id": 1, "score": 0.5, "amount": decimal.Decimal("1.25")},
    ]
    spec = AmazonRdsMySqlSpec(hostname=mysql.host, port=mysql.port, read_secret_prefix="aurora_reader/aurora",
                              write_secret_prefix="aurora_writer/aurora", database_name=mysql.database,
                              table_name="scores")
    fs.publish_table(name="default.scores", online_store=spec, mode="merge")
    cols, rows = mysql.reader_rows("scores")
    assert cols[:3] == ["id", "score", "amount"]
    assert sorted(r[:3] for r in rows) == [(1, 0.5, decimal.Decimal("1.25")), (2, 1.5, None)]
