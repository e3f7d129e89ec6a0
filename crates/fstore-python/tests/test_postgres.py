"""`publish_table` and `lookup` with a `PostgresSpec` (no fstore.toml entry) against the real
PostgreSQL: the reader role SELECTs exactly the published rows with a plain client, merges go
incrementally, overwrites replace the table, lookups keep request order; bad specs are refused
before anything connects."""

from __future__ import annotations

import pandas as pd
import psycopg
import pytest

import fstore
from conftest import Postgres
from fstore import InvalidInputError, PostgresSpec

TABLE = "default.pg_features"


def spec(pg: Postgres, **kw: object) -> PostgresSpec:
    return PostgresSpec(pg.host, pg.port, database_name=pg.database, read_secret_prefix="pg_reader/pg",
                        write_secret_prefix="pg_writer/pg", **kw)  # type: ignore[arg-type]


def features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": pd.Series([1, 2, 3, 4], dtype="int64"),
            "name": ["ann", "Zoë", None, "dan"],
            "score": [0.5, None, 2.25, -1.0],
            "n": pd.Series([10, 20, 30, 40], dtype="int32"),
            "ok": [True, False, None, True],
        }
    )


def test_publish_to_a_postgres_spec_is_what_the_reader_selects(workdir, postgres: Postgres) -> None:
    client = fstore.Client()
    df = features()
    client.create_table(TABLE, primary_keys=["id"], df=df)
    store = spec(postgres)
    report = client.publish_table(TABLE, store, mode="merge")
    assert report.rows_read == 4 and report.inserted == 4 and report.delta_version == 0, report

    cols, rows = postgres.reader_rows("pg_features")
    assert cols == list(df.columns)
    got = sorted(rows, key=lambda r: r[0])  # type: ignore[arg-type,return-value]
    want = list(df.itertuples(index=False, name=None))
    for row, w in zip(got, want, strict=True):
        for name, cell, v in zip(cols, row, w, strict=True):
            if v is None or (isinstance(v, float) and pd.isna(v)):
                assert cell is None, (name, cell)
            else:
                assert cell == v, (name, cell, v)
    # bigint, text, double precision, integer, boolean.
    assert [type(c) for c in got[0]] == [int, str, float, int, bool]

    # A merge of one changed and one new row goes incrementally.
    client.write_table(TABLE, pd.DataFrame({"id": [2, 5], "name": ["bea", "eve"], "score": [1.5, 9.0],
                                            "n": pd.Series([21, 50], dtype="int32"), "ok": [True, False]}),
                       mode="merge")
    again = client.publish_table(TABLE, store)
    assert again.method == "incremental" and again.delta_version == 1, again
    _, rows = postgres.reader_rows("pg_features")
    assert {r[0]: r[1] for r in rows} == {1: "ann", 2: "bea", 3: None, 4: "dan", 5: "eve"}

    # Lookups with the reader identity, in request order, a missing key as NULLs.
    got_df = client.lookup(TABLE, [{"id": 5}, {"id": 99}, 2], online_store=store).to_pandas()
    assert list(got_df.id) == [5, 99, 2]
    assert list(got_df.name.iloc[[0, 2]]) == ["eve", "bea"] and pd.isna(got_df.name.iloc[1])

    # An overwrite publish replaces the table with the view: the deleted key is gone.
    client.write_table(TABLE, df[df.id != 4], mode="overwrite")
    over = client.publish_table(TABLE, store, mode="overwrite")
    assert over.delta_version == 2, over
    _, rows = postgres.reader_rows("pg_features")
    assert sorted(r[0] for r in rows) == [1, 2, 3]  # type: ignore[type-var]

    # Dropping the online table drops it in PostgreSQL.
    client.drop_online_table(TABLE, store)
    with pytest.raises(psycopg.errors.UndefinedTable):
        postgres.reader_rows("pg_features")


def test_postgres_specs_are_checked_before_connecting(workdir) -> None:
    with pytest.raises(InvalidInputError, match="does not take user= or password="):
        PostgresSpec("db.example.com", 5432, write_secret_prefix="pg_writer/pg", password="hunter2")
    with pytest.raises(InvalidInputError, match="write_secret_prefix is required"):
        PostgresSpec("db.example.com")
    with pytest.raises(InvalidInputError, match="<scope>/<prefix>"):
        PostgresSpec("db.example.com", write_secret_prefix="no-slash")
    with pytest.raises(InvalidInputError, match="port"):
        PostgresSpec("db.example.com", 0, write_secret_prefix="pg_writer/pg")
    s = PostgresSpec("db.example.com", write_secret_prefix="pg_writer/pg", table_name="t")
    assert s.port == 5432 and s.schema_name == "public" and s.store_type == "postgres"
    assert s.clone(schema_name="features").schema_name == "features"
    assert "hunter2" not in repr(s) and "PostgresSpec(hostname='db.example.com'" in repr(s)
    # A schema name PostgreSQL would mangle is refused by the library, nothing connects.
    client = fstore.Client()
    client.create_table(TABLE, primary_keys=["id"], df=features())
    with pytest.raises(InvalidInputError):
        client.publish_table(TABLE, s.clone(schema_name="bad-name; drop"))
