//! The MySQL layout against what Databricks' readers expect: tables fstore publishes read back
//! through the conversions of Databricks' lookup runtime (`databricks-feature-lookup` 1.17.0,
//! which reads with PyMySQL), a table Databricks' publisher created adopted by a merge, an older
//! fstore layout migrated, and a merge that added columns and then failed.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int8Array, Int16Array, Int32Array, Int32Builder, Int64Array, ListArray, MapBuilder,
    StringArray, StringBuilder, StructArray, TimestampMicrosecondArray, UInt8Array, UInt16Array,
    UInt32Array,
};
use arrow::datatypes::{DataType, Field, Float64Type, Int32Type};
use arrow::record_batch::RecordBatch;
use fstore_core::value::parse_timestamp;
use fstore_core::{FeatureType, NoProgress, Value};
use fstore_online::{
    Applied, ChangeSet, Expect, OnlineLayout, OnlineReader, OnlineWriter, PublishRecord, Rows,
    StoreErrorKind, WriteMeta, WriteMode,
};
use mysql_async::Value as MyValue;
use mysql_async::consts::ColumnType as C;
use mysql_async::prelude::Queryable;
use serde_json::json;

use crate::mysql::{Db, db, layout};

/// A value as the lookup runtime hands it to a model (a Python object).
#[derive(Clone, Debug, PartialEq)]
enum Py {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    /// `decimal.Decimal`, by its text.
    Decimal(String),
    Str(String),
    Bytes(Vec<u8>),
    /// `datetime.date` / `datetime.datetime` (naive), by their ISO text.
    Date(String),
    Datetime(String),
    /// A decoded JSON document (`json.loads` with `parse_float=float`: `1` is an int, `1.0` a
    /// float — serde_json keeps the same distinction).
    Json(serde_json::Value),
}

/// What PyMySQL's text-protocol decoders (`pymysql.converters.decoders`) make of a cell: integers
/// → int, FLOAT/DOUBLE → float, NEWDECIMAL → Decimal, DATE → date, DATETIME/TIMESTAMP →
/// datetime, BIT → the raw bytes (PyMySQL has no BIT decoder), binary-charset strings → bytes,
/// other strings → str.
fn pymysql(col: &mysql_async::Column, v: MyValue) -> Py {
    const BINARY: u16 = 63;
    let b = match v {
        MyValue::NULL => return Py::None,
        MyValue::Bytes(b) => b,
        other => panic!("the text protocol gives bytes, got {other:?}"),
    };
    let text = || String::from_utf8(b.clone()).unwrap();
    match col.column_type() {
        C::MYSQL_TYPE_TINY
        | C::MYSQL_TYPE_SHORT
        | C::MYSQL_TYPE_LONG
        | C::MYSQL_TYPE_LONGLONG
        | C::MYSQL_TYPE_INT24 => Py::Int(text().parse().unwrap()),
        C::MYSQL_TYPE_FLOAT | C::MYSQL_TYPE_DOUBLE => Py::Float(text().parse().unwrap()),
        C::MYSQL_TYPE_NEWDECIMAL | C::MYSQL_TYPE_DECIMAL => Py::Decimal(text()),
        C::MYSQL_TYPE_DATE => Py::Date(text()),
        C::MYSQL_TYPE_DATETIME | C::MYSQL_TYPE_TIMESTAMP => Py::Datetime(text()),
        C::MYSQL_TYPE_BIT => Py::Bytes(b),
        _ if col.character_set() == BINARY => Py::Bytes(b),
        _ => Py::Str(text()),
    }
}

/// The runtime's MySQL conversion (`utils/sql_type_utils.py`, `SQL_DATA_TYPE_CONVERTER_FACTORY`):
/// BOOLEAN → `PandasBitBooleanConverter.to_pandas` (`ord(value)` of one byte, 0 or 1, else an
/// error; an int from a `TINYINT(1)` raises `TypeError`); ARRAY/MAP/STRUCT →
/// `PandasString{Array,Map,Struct}TypeConverter.to_pandas` (`_decode_json_complex`:
/// `json.loads`); every other type → `PandasIdentityConverter` (PyMySQL's value as it is).
/// `return_if_none` passes NULL through.
fn to_pandas(ftype: FeatureType, v: Py) -> Result<Py, String> {
    Ok(match (ftype, v) {
        (_, Py::None) => Py::None,
        (FeatureType::Boolean, Py::Bytes(b)) if b.len() == 1 => match b[0] {
            0 => Py::Bool(false),
            1 => Py::Bool(true),
            x => return Err(format!("ValueError: Unsupported value for bool: {x}")),
        },
        (FeatureType::Boolean, other) => {
            return Err(format!(
                "TypeError: ord() expected a character, got {other:?}"
            ));
        }
        (FeatureType::Json, Py::Str(s)) => {
            Py::Json(serde_json::from_str(&s).map_err(|e| format!("JSONDecodeError: {e}"))?)
        }
        (FeatureType::Json, other) => {
            return Err(format!(
                "TypeError: the JSON object must be str, not {other:?}"
            ));
        }
        (_, other) => other,
    })
}

/// Every published column of `table` for `key_sql`, read as the runtime reads (one plain query,
/// `SELECT features FROM t WHERE pk = …`) and converted by [`to_pandas`].
async fn databricks_read(
    db: &mut Db,
    l: &OnlineLayout,
    key_sql: &str,
) -> Vec<(String, Result<Py, String>)> {
    let cols: Vec<String> = l.columns.iter().map(|c| format!("`{}`", c.name)).collect();
    let sql = format!(
        "SELECT {} FROM `{}` WHERE {key_sql}",
        cols.join(", "),
        l.table
    );
    let mut result = db.admin.query_iter(sql).await.unwrap();
    let columns = result.columns().unwrap();
    let rows: Vec<mysql_async::Row> = result.collect().await.unwrap();
    assert_eq!(rows.len(), 1, "one row for {key_sql}");
    let row = rows.into_iter().next().unwrap();
    let raw = row.unwrap_raw();
    l.columns
        .iter()
        .zip(columns.iter())
        .zip(raw)
        .map(|((c, col), v)| {
            (
                c.name.clone(),
                to_pandas(c.ftype, pymysql(col, v.unwrap_or(MyValue::NULL))),
            )
        })
        .collect()
}

fn arr(a: impl arrow::array::Array + 'static) -> ArrayRef {
    Arc::new(a)
}

fn us(s: &str) -> i64 {
    parse_timestamp(s).unwrap()
}

fn map_column() -> ArrayRef {
    let mut m = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    m.keys().append_value("a");
    m.values().append_null();
    m.keys().append_value("b");
    m.values().append_value(-7);
    m.append(true).unwrap();
    m.append(false).unwrap();
    Arc::new(m.finish())
}

/// One row per case: every Arrow type fstore maps, with a second row of NULLs (and empty
/// nested values).
fn every_type() -> RecordBatch {
    let utc = Some(Arc::<str>::from("UTC"));
    let strukt = StructArray::from(vec![
        (
            Arc::new(Field::new("a", DataType::Int32, true)),
            arr(Int32Array::from(vec![None, Some(2)])),
        ),
        (
            Arc::new(Field::new("bin", DataType::Binary, true)),
            arr(BinaryArray::from(vec![Some(&b"\x00\xffhi"[..]), None])),
        ),
        (
            Arc::new(Field::new(
                "t",
                DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, utc.clone()),
                true,
            )),
            arr(TimestampMicrosecondArray::from(vec![
                Some(us("2024-01-02 03:04:05.123456")),
                None,
            ])
            .with_timezone("UTC")),
        ),
        (
            Arc::new(Field::new(
                "ntz",
                DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
                true,
            )),
            arr(TimestampMicrosecondArray::from(vec![
                Some(us("1969-12-31 23:59:59.5")),
                None,
            ])),
        ),
        (
            Arc::new(Field::new("d", DataType::Date32, true)),
            arr(Date32Array::from(vec![Some(19_724), None])),
        ),
        (
            Arc::new(Field::new("x", DataType::Decimal128(10, 2), true)),
            arr(Decimal128Array::from(vec![Some(1250), None])
                .with_precision_and_scale(10, 2)
                .unwrap()),
        ),
        (
            Arc::new(Field::new("f", DataType::Float64, true)),
            arr(Float64Array::from(vec![Some(1e10), None])),
        ),
    ]);
    let doubles = ListArray::from_iter_primitive::<Float64Type, _, _>(vec![
        Some(vec![
            Some(1.0),
            Some(f64::NAN),
            Some(f64::INFINITY),
            None,
            Some(0.5),
        ]),
        Some(vec![]),
    ]);
    let nested = ListArray::new(
        Arc::new(Field::new(
            "item",
            DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
            true,
        )),
        arrow::buffer::OffsetBuffer::from_lengths([2, 0]),
        arr(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), None]),
            None,
        ])),
        None,
    );
    RecordBatch::try_from_iter(vec![
        ("id", arr(Int64Array::from(vec![1, 2]))),
        (
            "name",
            arr(StringArray::from(vec![Some("clé \"q\" \t"), None])),
        ),
        ("i8", arr(Int8Array::from(vec![Some(-128), None]))),
        ("u8", arr(UInt8Array::from(vec![Some(255), None]))),
        ("small", arr(Int16Array::from(vec![Some(i16::MIN), None]))),
        ("i32", arr(Int32Array::from(vec![Some(i32::MAX), None]))),
        ("u16", arr(UInt16Array::from(vec![Some(65_535), None]))),
        ("big", arr(Int64Array::from(vec![Some(i64::MIN), None]))),
        ("u32", arr(UInt32Array::from(vec![Some(u32::MAX), None]))),
        ("f32", arr(Float32Array::from(vec![Some(0.1), None]))),
        ("f64", arr(Float64Array::from(vec![Some(-2.5e-300), None]))),
        (
            "dec",
            arr(Decimal128Array::from(vec![Some(-12345), None])
                .with_precision_and_scale(10, 2)
                .unwrap()),
        ),
        ("yes", arr(BooleanArray::from(vec![Some(true), None]))),
        ("no", arr(BooleanArray::from(vec![Some(false), None]))),
        (
            "bin",
            arr(BinaryArray::from(vec![Some(&b"\x00\x01\xff"[..]), None])),
        ),
        ("day", arr(Date32Array::from(vec![Some(19_723), None]))),
        (
            "ts",
            arr(TimestampMicrosecondArray::from(vec![
                Some(us("2024-01-02 03:04:05.123456")),
                None,
            ])
            .with_timezone("UTC")),
        ),
        (
            "ints",
            arr(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
                Some(vec![Some(1), None, Some(3)]),
                Some(vec![]),
            ])),
        ),
        ("doubles", arr(doubles)),
        ("nested", arr(nested)),
        ("m", map_column()),
        ("s", arr(strukt)),
    ])
    .unwrap()
}

fn ok(v: Py) -> Result<Py, String> {
    Ok(v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_reads_back_through_databricks_lookup_conversions() {
    let mut db = db("every_type_reads_back_through_databricks_lookup_conversions").await;
    let b = every_type();
    let l = layout("t", &b, &["id"], None);
    db.write(&l, WriteMode::Overwrite, vec![b]).await.unwrap();
    assert_eq!(db.one("SELECT COLUMN_TYPE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't' AND COLUMN_NAME = 'yes'").await.as_deref(), Some("bit(1)"));
    let s = |x: &str| Py::Str(x.into());
    let want_1: Vec<(&str, Result<Py, String>)> = vec![
        ("id", ok(Py::Int(1))),
        ("name", ok(s("clé \"q\" \t"))),
        ("i8", ok(Py::Int(-128))),
        ("u8", ok(Py::Int(255))),
        ("small", ok(Py::Int(i16::MIN as i128))),
        ("i32", ok(Py::Int(i32::MAX as i128))),
        ("u16", ok(Py::Int(65_535))),
        ("big", ok(Py::Int(i64::MIN as i128))),
        ("u32", ok(Py::Int(u32::MAX as i128))),
        ("f32", ok(Py::Float(0.1))),
        ("f64", ok(Py::Float(-2.5e-300))),
        ("dec", ok(Py::Decimal("-123.45".into()))),
        ("yes", ok(Py::Bool(true))),
        ("no", ok(Py::Bool(false))),
        ("bin", ok(Py::Bytes(vec![0, 1, 255]))),
        ("day", ok(Py::Date("2024-01-01".into()))),
        ("ts", ok(Py::Datetime("2024-01-02 03:04:05.123456".into()))),
        ("ints", ok(Py::Json(json!([1, null, 3])))),
        // Spark's to_json: NaN and infinity as quoted strings, doubles always with a point.
        (
            "doubles",
            ok(Py::Json(json!([1.0, "NaN", "Infinity", null, 0.5]))),
        ),
        ("nested", ok(Py::Json(json!([[1, null], null])))),
        // Map entries with null values are kept.
        ("m", ok(Py::Json(json!({"a": null, "b": -7})))),
        // Struct fields with null values are omitted (ignoreNullFields); binary is base64,
        // timestamps are milliseconds with `Z` (or none without a zone), decimals numbers.
        (
            "s",
            ok(Py::Json(json!({
                "bin": "AP9oaQ==",
                "t": "2024-01-02T03:04:05.123Z",
                "ntz": "1969-12-31T23:59:59.500",
                "d": "2024-01-02",
                "x": 12.5,
                "f": 1.0e10
            }))),
        ),
    ];
    let got = databricks_read(&mut db, &l, "`id` = 1").await;
    assert_eq!(got.len(), want_1.len());
    for ((name, got), (wname, want)) in got.iter().zip(&want_1) {
        assert_eq!(name, wname);
        assert_eq!(got, want, "column `{name}`, key 1");
    }
    // The JSON text itself, as Spark writes it (a reader comparing text sees the same).
    assert_eq!(
        db.one("SELECT `m` FROM t WHERE id = 1").await.as_deref(),
        Some(r#"{"a":null,"b":-7}"#)
    );
    assert_eq!(
        db.one("SELECT `doubles` FROM t WHERE id = 1")
            .await
            .as_deref(),
        Some(r#"[1.0,"NaN","Infinity",null,0.5]"#)
    );
    let got = databricks_read(&mut db, &l, "`id` = 2").await;
    for (name, v) in &got {
        let want = match name.as_str() {
            "id" => Py::Int(2),
            "ints" | "doubles" => Py::Json(json!([])),
            "nested" => Py::Json(json!([])),
            "s" => Py::Json(json!({"a": 2})),
            _ => Py::None,
        };
        assert_eq!(v, &Ok(want), "column `{name}`, key 2");
    }
    // fstore's own lookup reads the same table.
    let r = db
        .store
        .lookup(
            "t",
            &[vec![Value::Int(1)]],
            Some(&["yes".into(), "no".into()]),
        )
        .await
        .unwrap();
    assert_eq!(r.rows[0], Some(vec![Value::Bool(true), Value::Bool(false)]));
    db.finish().await;
}

/// Spark's JDBC MySQL DDL for a Titanic-like table (Databricks' publisher, recent runtime).
const DATABRICKS_DDL: [&str; 2] = [
    "CREATE TABLE online_feature_table (`PassengerId` VARCHAR(100) NOT NULL, `Age` DOUBLE PRECISION , `Survived` BIT(1) , `Name` LONGTEXT , `Cabin` TEXT , `Boarded` TIMESTAMP NULL , `Tags` TEXT , `Fare` DECIMAL(10,2) , `Pclass` INTEGER ) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "ALTER TABLE `online_feature_table` ADD PRIMARY KEY(`PassengerId`)",
];

fn titanic(ids: &[&str], survived: &[Option<bool>]) -> RecordBatch {
    let n = ids.len();
    RecordBatch::try_from_iter(vec![
        ("PassengerId", arr(StringArray::from(ids.to_vec()))),
        ("Age", arr(Float64Array::from(vec![Some(22.5); n]))),
        ("Survived", arr(BooleanArray::from(survived.to_vec()))),
        (
            "Name",
            arr(StringArray::from(vec![Some("Braund, Mr. Owen"); n])),
        ),
        ("Cabin", arr(StringArray::from(vec![None::<&str>; n]))),
        (
            "Boarded",
            arr(
                TimestampMicrosecondArray::from(vec![Some(us("2024-04-10 12:00:00")); n])
                    .with_timezone("UTC"),
            ),
        ),
        (
            "Tags",
            arr(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
                Some(
                    vec![Some(7), None]
                );
                n
            ])),
        ),
        (
            "Fare",
            arr(Decimal128Array::from(vec![Some(725); n])
                .with_precision_and_scale(10, 2)
                .unwrap()),
        ),
        ("Pclass", arr(Int32Array::from(vec![Some(3); n]))),
    ])
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_databricks_published_is_adopted_by_a_merge() {
    let mut db = db("a_table_databricks_published_is_adopted_by_a_merge").await;
    for sql in DATABRICKS_DDL {
        db.admin.query_drop(sql).await.unwrap();
    }
    // Filled as Spark's JDBC writer does: BIT(1) booleans, to_json text, TIMESTAMP instants.
    db.admin
        .query_drop(
            "INSERT INTO online_feature_table VALUES ('1', 22.0, b'0', 'Old name', 'C85', '2024-04-09 10:00:00', '[1,null]', 7.25, 3), ('9', 40.0, b'1', 'Kept', NULL, NULL, '[]', NULL, 1)",
        )
        .await
        .unwrap();
    let types_before = db.rows("SELECT COLUMN_NAME, COLUMN_TYPE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'online_feature_table' ORDER BY ORDINAL_POSITION").await;

    let b = titanic(&["1", "2"], &[Some(true), Some(false)]);
    let l = layout("online_feature_table", &b, &["PassengerId"], None);
    let r = db.write(&l, WriteMode::Merge, vec![b]).await.unwrap();
    assert_eq!((r.inserted, r.updated), (1, 1));
    assert!(
        r.notes.iter().any(|n| n
            .contains("adopted the existing online table `online_feature_table`")
            && n.contains("`Cabin` TEXT, `Boarded` TIMESTAMP, `Tags` TEXT")),
        "{:?}",
        r.notes
    );
    // Adopted as it is: same column types, and now recorded.
    assert_eq!(
        db.rows("SELECT COLUMN_NAME, COLUMN_TYPE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'online_feature_table' ORDER BY ORDINAL_POSITION").await,
        types_before
    );
    assert!(
        db.store
            .describe("online_feature_table")
            .await
            .unwrap()
            .is_some()
    );

    // The raw reader (Databricks' runtime) and fstore's lookup agree, for fstore's rows and
    // for the row Spark wrote.
    let features: Vec<String> = l.columns.iter().skip(1).map(|c| c.name.clone()).collect();
    let keys = vec![
        vec![Value::String("1".into())],
        vec![Value::String("2".into())],
        vec![Value::String("9".into())],
    ];
    let looked = db
        .store
        .lookup("online_feature_table", &keys, Some(&features))
        .await
        .unwrap();
    for (key, row) in ["1", "2", "9"].iter().zip(&looked.rows) {
        let raw = databricks_read(&mut db, &l, &format!("`PassengerId` = '{key}'")).await;
        let row = row.as_ref().unwrap();
        for ((name, py), fv) in raw.iter().skip(1).zip(row) {
            let py = py
                .as_ref()
                .unwrap_or_else(|e| panic!("runtime fails on `{name}` of key {key}: {e}"));
            let same = match (py, fv) {
                (Py::None, Value::Null) => true,
                (Py::Bool(a), Value::Bool(b)) => a == b,
                (Py::Int(a), Value::Int(b)) => *a == *b as i128,
                (Py::Float(a), Value::Float(b)) => a == b,
                (Py::Decimal(a), Value::Decimal(b)) => a == b,
                (Py::Str(a), Value::String(b)) => a == b,
                (Py::Json(a), Value::Json(b)) => {
                    *a == serde_json::from_str::<serde_json::Value>(b).unwrap()
                }
                (Py::Datetime(a), Value::Timestamp(b)) => parse_timestamp(a) == Some(*b),
                _ => false,
            };
            assert!(same, "key {key}, `{name}`: runtime {py:?}, fstore {fv:?}");
        }
    }
    let raw = databricks_read(&mut db, &l, "`PassengerId` = '1'").await;
    assert_eq!(raw[2], ("Survived".into(), Ok(Py::Bool(true))));
    assert_eq!(
        raw[5],
        (
            "Boarded".into(),
            Ok(Py::Datetime("2024-04-10 12:00:00".into()))
        )
    );
    assert_eq!(raw[6], ("Tags".into(), Ok(Py::Json(json!([7, null])))));

    // A column whose type cannot hold the values is refused, naming it, before anything moves.
    db.admin
        .query_drop("ALTER TABLE online_feature_table ADD COLUMN `Ticket` DATE")
        .await
        .unwrap();
    let bad = RecordBatch::try_from_iter(vec![
        ("PassengerId", arr(StringArray::from(vec!["1"]))),
        ("Ticket", arr(StringArray::from(vec!["A/5 21171"]))),
    ])
    .unwrap();
    let e = db
        .write(
            &layout("online_feature_table", &bad, &["PassengerId"], None),
            WriteMode::Merge,
            vec![bad],
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::Incompatible);
    assert!(
        e.message
            .starts_with("column `Ticket` is DATE online but string offline; run `fstore publish"),
        "{}",
        e.message
    );
    db.finish().await;
}

fn flags(ids: &[i64], m: &[Option<i32>]) -> RecordBatch {
    let mut b = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    for v in m {
        b.keys().append_value("k");
        match v {
            Some(x) => b.values().append_value(*x),
            None => b.values().append_null(),
        }
        b.append(true).unwrap();
    }
    RecordBatch::try_from_iter(vec![
        ("id", arr(Int64Array::from(ids.to_vec()))),
        (
            "flag",
            arr(BooleanArray::from(
                ids.iter().map(|i| i % 2 == 1).collect::<Vec<_>>(),
            )),
        ),
        ("m", Arc::new(b.finish()) as ArrayRef),
    ])
    .unwrap()
}

fn record() -> PublishRecord {
    PublishRecord {
        feature_table: "default.t".into(),
        delta_version: 8,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_in_the_older_fstore_layout_is_migrated_by_the_next_merge() {
    let mut db = db("a_table_in_the_older_fstore_layout_is_migrated").await;
    let b = flags(&[1, 2], &[None, Some(1)]);
    let l = layout("t", &b, &["id"], None);
    db.write(&l, WriteMode::Overwrite, vec![b]).await.unwrap();
    // Make it what fstore before this layout wrote: TINYINT(1) booleans, arrow-json text (map
    // entries with null values dropped), no encoding in the record.
    for sql in [
        "ALTER TABLE t MODIFY COLUMN flag TINYINT(1)",
        "UPDATE t SET m = '{}' WHERE id = 1",
        "UPDATE _fstore_published SET layout_json = JSON_REMOVE(layout_json, '$.encoding')",
    ] {
        db.admin.query_drop(sql).await.unwrap();
    }
    let flag_type = "SELECT COLUMN_TYPE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't' AND COLUMN_NAME = 'flag'";
    // The runtime fails on such a table.
    assert!(databricks_read(&mut db, &l, "id = 1").await[1].1.is_err());

    // An incremental change would leave old JSON text in the rows it does not touch: refused,
    // saying how to rewrite every row, and nothing is changed.
    let meta = WriteMeta {
        record: record(),
        source: None,
        expect: Expect::Any,
    };
    let rows = Rows::Changes(ChangeSet {
        upserts: vec![flags(&[2], &[Some(5)])],
        deletes: vec![],
        complete: false,
        whole_view: false,
    });
    let e = db
        .store
        .apply(&l, rows, &meta, &NoProgress)
        .await
        .unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::Incompatible);
    assert!(
        e.message.contains("published by an older fstore")
            && e.message.contains("`m`")
            && e.message.contains("`fstore publish default.t --full`"),
        "{}",
        e.message
    );
    assert_eq!(db.one(flag_type).await.as_deref(), Some("tinyint(1)"));

    // A merge of every row migrates: BIT(1) booleans, Spark's JSON, the current encoding recorded.
    let r = db
        .write(&l, WriteMode::Merge, vec![flags(&[1, 2], &[None, Some(1)])])
        .await
        .unwrap();
    assert_eq!(db.one(flag_type).await.as_deref(), Some("bit(1)"));
    assert_eq!(
        r.notes,
        [
            "migrated `t` from fstore's older layout: boolean column(s) `flag` converted from TINYINT(1) to BIT(1), as Databricks' publisher writes them",
            "migrated `t` from fstore's older layout: JSON column(s) `m` rewritten in Spark's to_json form by this publish",
        ]
    );
    let raw = databricks_read(&mut db, &l, "id = 1").await;
    assert_eq!(raw[1].1, Ok(Py::Bool(true)));
    assert_eq!(raw[2].1, Ok(Py::Json(json!({"k": null}))));
    assert_eq!(
        databricks_read(&mut db, &l, "id = 2").await[1].1,
        Ok(Py::Bool(false))
    );
    assert_eq!(
        db.one("SELECT JSON_VALUE(layout_json, '$.encoding') FROM _fstore_published")
            .await
            .as_deref(),
        Some("2")
    );
    // Nothing left to migrate: the next change set goes through without notes.
    let rows = Rows::Changes(ChangeSet {
        upserts: vec![flags(&[2], &[Some(5)])],
        deletes: vec![],
        complete: false,
        whole_view: false,
    });
    match db.store.apply(&l, rows, &meta, &NoProgress).await.unwrap() {
        Applied::Written(w) => assert!(w.notes.is_empty(), "{:?}", w.notes),
        other => panic!("{other:?}"),
    }
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_that_added_columns_and_failed_removes_them_and_a_rerun_converges() {
    let mut db = db("a_merge_that_added_columns_and_failed").await;
    let first = RecordBatch::try_from_iter(vec![
        ("id", arr(Int64Array::from(vec![1, 2]))),
        ("a", arr(Int64Array::from(vec![10, 20]))),
    ])
    .unwrap();
    db.write(
        &layout("t", &first, &["id"], None),
        WriteMode::Overwrite,
        vec![first],
    )
    .await
    .unwrap();
    // Something the merge's transaction trips over after the columns were added.
    db.admin
        .query_drop("CREATE TRIGGER no_updates BEFORE UPDATE ON t FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'updates are blocked'")
        .await
        .unwrap();
    let more = RecordBatch::try_from_iter(vec![
        ("id", arr(Int64Array::from(vec![1, 3]))),
        ("a", arr(Int64Array::from(vec![11, 30]))),
        ("b", arr(StringArray::from(vec!["x", "z"]))),
        ("c", arr(BooleanArray::from(vec![true, false]))),
    ])
    .unwrap();
    let l = layout("t", &more, &["id"], None);
    let e = db
        .write(&l, WriteMode::Merge, vec![more.clone()])
        .await
        .unwrap_err();
    assert!(e.message.contains("updates are blocked"), "{}", e.message);
    assert!(
        e.message.ends_with("column(s) `b`, `c`, added to `t` for this merge, were removed again; the table is as before"),
        "{}",
        e.message
    );
    let cols = "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't'";
    assert_eq!(db.one(cols).await.as_deref(), Some("id,a"));
    assert_eq!(
        db.one("SELECT GROUP_CONCAT(a ORDER BY id) FROM t")
            .await
            .as_deref(),
        Some("10,20")
    );
    let recorded = db.store.describe("t").await.unwrap().unwrap();
    assert_eq!(recorded.layout.columns.len(), 2);

    // The rerun, once the obstacle is gone, adds, fills and records the columns.
    db.admin
        .query_drop("DROP TRIGGER no_updates")
        .await
        .unwrap();
    let r = db.write(&l, WriteMode::Merge, vec![more]).await.unwrap();
    assert_eq!((r.inserted, r.updated), (1, 1));
    assert_eq!(db.one(cols).await.as_deref(), Some("id,a,b,c"));
    let got = db
        .store
        .lookup(
            "t",
            &[vec![Value::Int(1)], vec![Value::Int(2)]],
            Some(&["b".into(), "c".into()]),
        )
        .await
        .unwrap();
    assert_eq!(
        got.rows[0],
        Some(vec![Value::String("x".into()), Value::Bool(true)])
    );
    assert_eq!(got.rows[1], Some(vec![Value::Null, Value::Null]));
    db.finish().await;
}
