"""The walk-through's notebook cell, with only its import lines changed, against real MariaDB."""

from __future__ import annotations

import datetime as dt
import decimal

import pandas as pd

from conftest import Mysql

# The walk-through imports `databricks.feature_store`; only these two lines change.
from fstore.databricks import FeatureStoreClient
from fstore.databricks.online_store_spec import AmazonRdsMySqlSpec


def features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "PassengerId": pd.Series([1, 2, 3, 4], dtype="int64"),
            "Age": [22.0, 38.0, None, 35.0],
            "Sex": ["male", "female", "female", None],
            "Pclass": pd.Series([3, 1, 3, 1], dtype="int32"),
            "Survived": [False, True, True, True],
        }
    )


def test_the_walkthrough_cell_publishes_what_the_reader_selects(workdir, mysql: Mysql) -> None:
    fs = FeatureStoreClient()
    df = features()
    fs.create_table(name="default.online_feature_table", primary_keys=["PassengerId"], df=df,
                    description="Titanic passenger features")
    change = pd.DataFrame({"PassengerId": [2, 5], "Age": [39.0, 54.0], "Sex": ["female", "male"],
                           "Pclass": pd.Series([1, 1], dtype="int32"), "Survived": [True, False]})
    fs.write_table(name="default.online_feature_table", df=change, mode="merge")

    # The cell, verbatim (host/port come from the test server).
    online_store = AmazonRdsMySqlSpec(hostname=mysql.host, port=mysql.port,
                                      read_secret_prefix='aurora_reader/aurora',
                                      write_secret_prefix='aurora_writer/aurora',
                                      database_name=mysql.database, table_name='online_feature_table')
    report = fs.publish_table(name='default.online_feature_table', online_store=online_store, mode='merge')

    assert report.rows_read == 5 and report.inserted == 5 and report.delta_version == 1
    assert str(report).startswith("published default.online_feature_table (Delta version 1) to ")
    assert "rows: 5 read, 5 inserted, 0 updated" in str(report)

    expected = pd.concat([df[df.PassengerId != 2], change]).sort_values("PassengerId").reset_index(drop=True)
    cols, rows = mysql.reader_rows("online_feature_table")
    assert cols == list(expected.columns)
    got = sorted(rows)
    assert len(got) == len(expected)
    for row, (_, want) in zip(got, expected.iterrows()):
        for name, cell, w in zip(cols, row, want):
            if pd.isna(w):
                assert cell is None, name
            elif name == "Survived":
                # BIT(1), one byte, as Databricks' lookup runtime decodes it.
                assert cell in (b"\x00", b"\x01"), (name, cell)
                assert (cell == b"\x01") == bool(w), name
            else:
                assert cell == w, (name, cell, w)

    # A second merge publish sends only the change.
    fs.write_table("default.online_feature_table", pd.DataFrame({"PassengerId": [1], "Age": [23.0]}), mode="merge")
    again = fs.publish_table(name='default.online_feature_table', online_store=online_store, mode='merge')
    assert again.method == "incremental" and again.delta_version == 2, again
    _, rows = mysql.reader_rows("online_feature_table")
    assert dict((r[0], r[1]) for r in rows)[1] == 23.0

    # The reader identity looks rows up in-process, in request order, missing keys as NULLs.
    got = fs.client.lookup("default.online_feature_table", [{"PassengerId": 5}, {"PassengerId": 99}, 1],
                           online_store=online_store).to_pandas()
    assert list(got.PassengerId) == [5, 99, 1]
    assert got.Age.iloc[0] == 54.0 and pd.isna(got.Age.iloc[1]) and got.Age.iloc[2] == 23.0


def test_secret_values_never_appear_in_errors_or_reprs(workdir, mysql: Mysql, monkeypatch) -> None:
    import os

    import pytest

    from fstore import OnlineStoreError

    fs = FeatureStoreClient()
    fs.create_table("default.t", "PassengerId", features())
    password = "not-the-password-" + os.urandom(4).hex()
    monkeypatch.setenv("FSTORE_SECRET_AURORA_WRITER_AURORA_PASSWORD", password)
    spec = AmazonRdsMySqlSpec(mysql.host, mysql.port, database_name=mysql.database, table_name="t",
                              read_secret_prefix="aurora_reader/aurora", write_secret_prefix="aurora_writer/aurora")
    with pytest.raises(OnlineStoreError) as e:
        fs.publish_table("default.t", spec)
    assert e.value.kind == "auth_failed"
    assert password not in str(e.value) and password not in repr(e.value) and password not in repr(spec)


def test_decimal_and_timestamps_round_trip(workdir) -> None:
    import fstore

    c = fstore.Client()
    df = pd.DataFrame({"id": [1, 2], "amount": [decimal.Decimal("1.25"), decimal.Decimal("-3.50")],
                       "seen": [dt.datetime(2026, 1, 1, 12, 0, 0, 123456), dt.datetime(2040, 5, 6)]})
    c.create_table("default.pay", "id", df)
    back = c.read_table("default.pay").to_pandas().sort_values("id").reset_index(drop=True)
    assert list(back.amount) == list(df.amount)
    assert [t.replace(tzinfo=None) for t in back.seen] == list(df.seen)
