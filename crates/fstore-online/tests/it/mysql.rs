//! MySQL / MariaDB backend tests against a real server (`FSTORE_TEST_MYSQL_URL`, default
//! `mysql://root@127.0.0.1:3306`). Each test works in its own database `fstore_t_<hash of the
//! test name>`, dropped at the end of a passing test. An unreachable server fails the test with
//! instructions; it never skips.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, ListArray, StringArray, StructArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Int32Type};
use arrow::record_batch::RecordBatch;
use fstore_core::value::{days_from_civil, parse_timestamp};
use fstore_core::{NoProgress, TableSpec, Value};
use fstore_online::mysql::{BulkMode, MysqlOptions, MysqlStore};
use fstore_online::{
    OnlineLayout, OnlineReader, OnlineStore, OnlineWriter, PublishRecord, StoreErrorKind,
    WriteMode, WriteReport,
};

use crate::conformance::{self, RawColumn, RawRow};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value as MyValue};

pub(crate) use fstore_test_support::mysql::url;
use fstore_test_support::mysql::{admin as admin_conn, fresh_database, unreachable};
use fstore_test_support::{current_test, db_name, fnv};

/// A test's own database, a store on it and an admin connection for raw SQL.
pub(crate) struct Db {
    pub(crate) name: String,
    pub(crate) store: MysqlStore,
    pub(crate) admin: Conn,
}

pub(crate) async fn db(test: &str) -> Db {
    db_with(test, MysqlOptions::default()).await
}

async fn db_with(test: &str, options: MysqlOptions) -> Db {
    let name = db_name("fstore-online", test);
    let mut admin = admin_conn().await;
    fresh_database(&mut admin, &name).await;
    let store = MysqlStore::connect_url(&url(), &name, options)
        .await
        .unwrap_or_else(|e| unreachable(e));
    Db { name, store, admin }
}

impl Db {
    pub(crate) async fn finish(mut self) {
        self.admin
            .query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name))
            .await
            .unwrap();
        let _ = self.store.close().await;
        let _ = self.admin.disconnect().await;
    }

    /// Rows of `sql` through the text protocol, every cell as text (binary as `0x…` hex).
    pub(crate) async fn rows(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        let rows: Vec<Row> = self.admin.query(sql).await.unwrap();
        rows.into_iter()
            .map(|r| {
                r.unwrap_raw()
                    .into_iter()
                    .map(|v| match v.unwrap_or(MyValue::NULL) {
                        MyValue::NULL => None,
                        MyValue::Bytes(b) => Some(match String::from_utf8(b.clone()) {
                            Ok(s) => s,
                            Err(_) => format!("0x{}", hex(&b)),
                        }),
                        other => Some(other.as_sql(true)),
                    })
                    .collect()
            })
            .collect()
    }

    pub(crate) async fn one(&mut self, sql: &str) -> Option<String> {
        self.rows(sql)
            .await
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten())
    }

    async fn tables(&mut self) -> Vec<String> {
        self.rows(&format!(
            "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = '{}' ORDER BY TABLE_NAME",
            self.name
        ))
        .await
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
    }

    pub(crate) async fn write(
        &self,
        layout: &OnlineLayout,
        mode: WriteMode,
        batches: Vec<RecordBatch>,
    ) -> fstore_online::Result<WriteReport> {
        let record = PublishRecord {
            feature_table: format!("default.{}", layout.table),
            delta_version: 7,
        };
        self.store
            .write(layout, mode, batches, &record, &NoProgress)
            .await
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn layout(
    table: &str,
    batch: &RecordBatch,
    keys: &[&str],
    ts: Option<&str>,
) -> OnlineLayout {
    let spec = TableSpec::new(
        keys.iter().map(|k| k.to_string()).collect(),
        ts.map(str::to_string),
    )
    .unwrap();
    OnlineLayout::new(table, &batch.schema(), &spec).unwrap()
}

fn ts(s: &str) -> i64 {
    parse_timestamp(s).unwrap()
}

fn day(y: i64, m: u32, d: u32) -> i32 {
    days_from_civil(y, m, d) as i32
}

const BIG: usize = 3 << 20;

/// One batch holding every feature type, with NULLs, edge values and awkward text.
fn all_types() -> RecordBatch {
    let big_text = "x\t\\".repeat(BIG / 3);
    let texts: Vec<Option<&str>> = vec![
        Some("tab\there new\nline cr\r back\\slash nul\0 \\N émoji 🎉"),
        Some(""),
        None,
        Some(&big_text),
    ];
    let bins: Vec<Option<&[u8]>> = vec![
        Some(&[0u8, 255, 9, 10, 13, 92, b'N']),
        Some(&[]),
        None,
        Some(&[7u8; 70_000]),
    ];
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), None, Some(3)]),
        Some(vec![]),
        None,
        Some(vec![Some(-4)]),
    ]);
    let strukt = StructArray::from(vec![
        (
            Arc::new(Field::new("a", DataType::Int32, true)),
            Arc::new(Int32Array::from(vec![Some(1), None, Some(3), Some(4)])) as ArrayRef,
        ),
        (
            Arc::new(Field::new("b", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec![
                Some("q\"uote"),
                Some("y"),
                None,
                Some("z"),
            ])) as ArrayRef,
        ),
    ]);
    RecordBatch::try_from_iter(vec![
        (
            "id",
            Arc::new(Int64Array::from(vec![1, 2, 3, 4])) as ArrayRef,
        ),
        (
            "name",
            Arc::new(StringArray::from(vec!["clé", "b", "Ü", &"k".repeat(100)])) as ArrayRef,
        ),
        (
            "small",
            Arc::new(Int16Array::from(vec![
                Some(i16::MIN),
                Some(i16::MAX),
                None,
                Some(0),
            ])) as ArrayRef,
        ),
        (
            "i32",
            Arc::new(Int32Array::from(vec![
                Some(i32::MIN),
                Some(i32::MAX),
                None,
                Some(-1),
            ])) as ArrayRef,
        ),
        (
            "big",
            Arc::new(Int64Array::from(vec![
                Some(i64::MIN),
                Some(i64::MAX),
                None,
                Some(42),
            ])) as ArrayRef,
        ),
        (
            "f32",
            Arc::new(Float32Array::from(vec![
                Some(0.1),
                Some(f32::MAX),
                None,
                Some(-1.5e-20),
            ])) as ArrayRef,
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![
                Some(0.1),
                Some(f64::MAX),
                None,
                Some(-2.5e-300),
            ])) as ArrayRef,
        ),
        (
            "dec",
            Arc::new(
                Decimal128Array::from(vec![
                    Some(12_345),
                    Some(-99_999_999_999_999_999_999),
                    None,
                    Some(5),
                ])
                .with_precision_and_scale(22, 4)
                .unwrap(),
            ) as ArrayRef,
        ),
        (
            "flag",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                Some(true),
            ])) as ArrayRef,
        ),
        ("text", Arc::new(StringArray::from(texts)) as ArrayRef),
        ("bin", Arc::new(BinaryArray::from_opt_vec(bins)) as ArrayRef),
        (
            "day",
            Arc::new(Date32Array::from(vec![
                Some(day(1000, 1, 1)),
                Some(day(9999, 12, 31)),
                None,
                Some(day(2024, 2, 29)),
            ])) as ArrayRef,
        ),
        (
            "at",
            Arc::new(
                TimestampMicrosecondArray::from(vec![
                    Some(ts("1000-01-01T00:00:00.000001Z")),
                    Some(ts("9999-12-31T23:59:59.999999Z")),
                    None,
                    Some(ts("2024-03-10T12:34:56.789012Z")),
                ])
                .with_timezone("UTC"),
            ) as ArrayRef,
        ),
        ("list", Arc::new(list) as ArrayRef),
        ("obj", Arc::new(strukt) as ArrayRef),
    ])
    .unwrap()
}

/// What a lookup of every feature of [`all_types`] returns for row `i`.
fn expected_row(i: usize) -> Vec<Value> {
    let b = all_types();
    let text = b.column(9).as_any().downcast_ref::<StringArray>().unwrap();
    let bin = b.column(10).as_any().downcast_ref::<BinaryArray>().unwrap();
    let s = |v: Option<&str>| v.map_or(Value::Null, |s| Value::String(s.to_string()));
    let rows = [
        vec![
            Value::Int(i16::MIN as i64),
            Value::Int(i32::MIN as i64),
            Value::Int(i64::MIN),
            Value::Float(0.1),
            Value::Float(0.1),
            Value::Decimal("1.2345".into()),
            Value::Bool(true),
            s(Some(text.value(0))),
            Value::Bytes(bin.value(0).to_vec()),
            Value::Date(day(1000, 1, 1)),
            Value::Timestamp(ts("1000-01-01T00:00:00.000001Z")),
            Value::Json("[1,null,3]".into()),
            Value::Json(r#"{"a":1,"b":"q\"uote"}"#.into()),
        ],
        vec![
            Value::Int(i16::MAX as i64),
            Value::Int(i32::MAX as i64),
            Value::Int(i64::MAX),
            Value::Float(f32::MAX.to_string().parse().unwrap()),
            Value::Float(f64::MAX),
            Value::Decimal("-9999999999999999.9999".into()),
            Value::Bool(false),
            Value::String(String::new()),
            Value::Bytes(Vec::new()),
            Value::Date(day(9999, 12, 31)),
            Value::Timestamp(ts("9999-12-31T23:59:59.999999Z")),
            Value::Json("[]".into()),
            Value::Json(r#"{"b":"y"}"#.into()),
        ],
        {
            let mut r = vec![Value::Null; 12];
            r.push(Value::Json(r#"{"a":3}"#.into()));
            r
        },
        vec![
            Value::Int(0),
            Value::Int(-1),
            Value::Int(42),
            Value::Float(-1.5e-20),
            Value::Float(-2.5e-300),
            Value::Decimal("0.0005".into()),
            Value::Bool(true),
            s(Some(text.value(3))),
            Value::Bytes(bin.value(3).to_vec()),
            Value::Date(day(2024, 2, 29)),
            Value::Timestamp(ts("2024-03-10T12:34:56.789012Z")),
            Value::Json("[-4]".into()),
            Value::Json(r#"{"a":4,"b":"z"}"#.into()),
        ],
    ];
    rows[i].clone()
}

fn key(id: i64, name: &str) -> Vec<Value> {
    vec![Value::Int(id), Value::String(name.to_string())]
}

fn all_keys() -> Vec<Vec<Value>> {
    vec![
        key(1, "clé"),
        key(2, "b"),
        key(3, "Ü"),
        key(4, &"k".repeat(100)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_round_trips_through_both_bulk_paths() {
    let mut db = db("every_type_round_trips_through_both_bulk_paths").await;
    let batch = all_types();
    let mut texts = Vec::new();
    for (mode, table) in [
        (BulkMode::LoadData, "t_load"),
        (BulkMode::Insert, "t_insert"),
    ] {
        db.store.set_bulk_mode(mode);
        let l = layout(table, &batch, &["id", "name"], None);
        let r = db
            .write(&l, WriteMode::Merge, vec![batch.clone()])
            .await
            .unwrap();
        assert_eq!((r.rows_in, r.inserted, r.updated), (4, 4, 0), "{mode:?}");
        assert!(r.bytes > BIG as u64, "{r:?}");

        let got = db.store.lookup(table, &all_keys(), None).await.unwrap();
        let names: Vec<&str> = got.columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "small", "i32", "big", "f32", "f64", "dec", "flag", "text", "bin", "day", "at",
                "list", "obj"
            ]
        );
        for (i, row) in got.rows.iter().enumerate() {
            let row = row
                .as_ref()
                .unwrap_or_else(|| panic!("{mode:?}: key {i} missing"));
            let want = expected_row(i);
            for (j, (g, w)) in row.iter().zip(&want).enumerate() {
                match (g, w) {
                    (Value::Json(g), Value::Json(w)) => {
                        let g: serde_json::Value = serde_json::from_str(g).unwrap();
                        let w: serde_json::Value = serde_json::from_str(w).unwrap();
                        assert_eq!(g, w, "{mode:?} row {i} column {}", names[j]);
                    }
                    _ => assert_eq!(g, w, "{mode:?} row {i} column {}", names[j]),
                }
            }
        }
        texts.push(
            db.rows(&format!("SELECT * FROM `{table}` ORDER BY id"))
                .await,
        );
    }
    // Both paths store identical rows.
    assert_eq!(texts[0], texts[1]);
    // What a plain SQL client sees.
    let rows = &texts[0];
    assert_eq!(rows.len(), 4);
    let r0 = &rows[0];
    assert_eq!(r0[0].as_deref(), Some("1"));
    assert_eq!(r0[1].as_deref(), Some("clé"));
    assert_eq!(r0[7].as_deref(), Some("1.2345"));
    // BIT(1), as Databricks writes booleans: one raw byte.
    assert_eq!(r0[8].as_deref(), Some("\u{1}"));
    assert_eq!(r0[11].as_deref(), Some("1000-01-01"));
    assert_eq!(r0[12].as_deref(), Some("1000-01-01 00:00:00.000001"));
    assert_eq!(r0[10].as_deref(), Some("0x00ff090a0d5c4e"));
    assert_eq!(rows[1][7].as_deref(), Some("-9999999999999999.9999"));
    assert_eq!(rows[1][12].as_deref(), Some("9999-12-31 23:59:59.999999"));
    assert!(rows[2][2..14].iter().all(Option::is_none), "{:?}", rows[2]);
    assert_eq!(rows[3][9].as_deref().map(str::len), Some(BIG / 3 * 3));
    for row in rows.iter().filter(|r| r[13].is_some()) {
        let json: serde_json::Value = serde_json::from_str(row[13].as_deref().unwrap()).unwrap();
        assert!(json.is_array());
        let json: serde_json::Value = serde_json::from_str(row[14].as_deref().unwrap()).unwrap();
        assert!(json.is_object());
    }
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_layout_matches_the_product_spec() {
    let mut db = db("table_layout_matches_the_product_spec").await;
    let batch = RecordBatch::try_from_iter(vec![
        ("user", Arc::new(StringArray::from(vec!["a"])) as ArrayRef),
        (
            "ts",
            Arc::new(TimestampMicrosecondArray::from(vec![0])) as ArrayRef,
        ),
        ("Age", Arc::new(Float64Array::from(vec![1.0])) as ArrayRef),
        ("day", Arc::new(Int32Array::from(vec![1])) as ArrayRef),
        ("flag", Arc::new(BooleanArray::from(vec![true])) as ArrayRef),
    ])
    .unwrap();
    let l = layout("online_feature_table", &batch, &["user", "day"], Some("ts"));
    db.write(&l, WriteMode::Merge, vec![batch]).await.unwrap();
    let cols = db
        .rows(&format!(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLLATION_NAME
             FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 'online_feature_table'
             ORDER BY ORDINAL_POSITION",
            db.name
        ))
        .await;
    let cols: Vec<(String, String, String)> = cols
        .into_iter()
        .map(|r| {
            (
                r[0].clone().unwrap(),
                r[2].clone()
                    .unwrap()
                    .replace("(20)", "")
                    .replace("(11)", ""),
                r[3].clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        cols,
        [
            (
                "user".to_string(),
                "varchar(100)".to_string(),
                "NO".to_string()
            ),
            ("ts".into(), "datetime(6)".into(), "YES".into()),
            ("Age".into(), "double".into(), "YES".into()),
            ("day".into(), "int".into(), "NO".into()),
            ("flag".into(), "bit(1)".into(), "YES".into()),
        ]
    );
    let pk = db
        .rows(&format!(
            "SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.STATISTICS WHERE TABLE_SCHEMA = '{}'
             AND TABLE_NAME = 'online_feature_table' AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
            db.name
        ))
        .await;
    assert_eq!(pk, [[Some("user".to_string())], [Some("day".to_string())]]);
    let opts = db
        .rows(&format!(
            "SELECT ENGINE, TABLE_COLLATION FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 'online_feature_table'",
            db.name
        ))
        .await;
    assert_eq!(
        opts,
        [[Some("InnoDB".to_string()), Some("utf8mb4_bin".to_string())]]
    );
    let create = db.rows("SHOW CREATE TABLE online_feature_table").await;
    let create = create[0][1].clone().unwrap();
    assert!(create.contains("PRIMARY KEY (`user`,`day`)"), "{create}");
    assert!(create.contains("utf8mb4"), "{create}");
    // Only the online table and the bookkeeping table: no housekeeping left behind.
    assert_eq!(
        db.tables().await,
        ["_fstore_published", "online_feature_table"]
    );
    let book = db
        .rows("SELECT online_table, feature_table, delta_version, mode FROM _fstore_published")
        .await;
    assert_eq!(
        book,
        [[
            Some("online_feature_table".to_string()),
            Some("default.online_feature_table".to_string()),
            Some("7".to_string()),
            Some("merge".to_string())
        ]]
    );
    let described = db
        .store
        .describe("online_feature_table")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(described.layout, l);
    assert_eq!(db.store.list().await.unwrap().len(), 1);
    db.finish().await;
}

fn id_batch(ids: &[i64], cols: &[(&str, Vec<Option<f64>>)]) -> RecordBatch {
    let mut arrays: Vec<(&str, ArrayRef)> =
        vec![("id", Arc::new(Int64Array::from(ids.to_vec())) as ArrayRef)];
    for (name, values) in cols {
        arrays.push((
            name,
            Arc::new(Float64Array::from(values.clone())) as ArrayRef,
        ));
    }
    RecordBatch::try_from_iter(arrays).unwrap()
}

async fn merge_scenario(test: &str, bulk: BulkMode) {
    let mut db = db(test).await;
    db.store.set_bulk_mode(bulk);
    let v1 = id_batch(
        &[1, 2, 3],
        &[
            ("a", vec![Some(1.0), Some(2.0), Some(3.0)]),
            ("b", vec![Some(10.0), Some(20.0), Some(30.0)]),
        ],
    );
    let l1 = layout("t", &v1, &["id"], None);
    db.write(&l1, WriteMode::Merge, vec![v1]).await.unwrap();

    // Publish a and a new column c (b is not published this time) for keys 2..4.
    let v2 = id_batch(
        &[2, 3, 4],
        &[
            ("a", vec![Some(22.0), None, Some(44.0)]),
            ("c", vec![Some(0.5), Some(0.25), None]),
        ],
    );
    let l2 = layout("t", &v2, &["id"], None);
    let r = db.write(&l2, WriteMode::Merge, vec![v2]).await.unwrap();
    assert_eq!(
        (r.rows_in, r.inserted, r.updated, r.skipped_older, r.deleted),
        (3, 1, 2, 0, 0)
    );
    let rows = db.rows("SELECT id, a, b, c FROM t ORDER BY id").await;
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        rows,
        [
            vec![s("1"), s("1"), s("10"), None],
            vec![s("2"), s("22"), s("20"), s("0.5")],
            vec![s("3"), None, s("30"), s("0.25")],
            vec![s("4"), s("44"), None, None],
        ]
    );
    // The bookkeeping layout knows every online column, so lookups see b and c.
    let got = db
        .store
        .lookup("t", &[vec![Value::Int(3)]], None)
        .await
        .unwrap();
    assert_eq!(
        got.columns
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(
        got.rows,
        [Some(vec![
            Value::Null,
            Value::Float(30.0),
            Value::Float(0.25)
        ])]
    );
    assert_eq!(db.tables().await, ["_fstore_published", "t"]);

    // An incompatible type is refused, naming the column and the remedy; nothing changes.
    let before = db.rows("SELECT * FROM t ORDER BY id").await;
    let book = db
        .rows("SELECT layout_json, delta_version FROM _fstore_published")
        .await;
    let v3 = RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 9])) as ArrayRef),
        ("a", Arc::new(StringArray::from(vec!["x", "y"])) as ArrayRef),
        (
            "d",
            Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef,
        ),
    ])
    .unwrap();
    let l3 = layout("t", &v3, &["id"], None);
    let e = db.write(&l3, WriteMode::Merge, vec![v3]).await.unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::Incompatible);
    assert_eq!(
        e.message,
        "column `a` is double online but string offline; run `fstore publish default.t --mode overwrite` to rebuild the online table"
    );
    assert_eq!(db.rows("SELECT * FROM t ORDER BY id").await, before);
    assert_eq!(
        db.rows("SELECT layout_json, delta_version FROM _fstore_published")
            .await,
        book
    );
    assert_eq!(db.tables().await, ["_fstore_published", "t"]);
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_upserts_adds_columns_and_refuses_type_changes_load_data() {
    merge_scenario("merge_load_data", BulkMode::LoadData).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_upserts_adds_columns_and_refuses_type_changes_insert() {
    merge_scenario("merge_insert", BulkMode::Insert).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_of_a_table_that_predates_fstore_compares_server_types() {
    let mut db = db("merge_of_a_table_that_predates_fstore").await;
    // As Databricks (Spark JDBC) would have created it: TEXT string, no bookkeeping row.
    db.admin
        .query_drop(
            "CREATE TABLE t (`id` BIGINT NOT NULL, `s` TEXT, `x` DOUBLE, PRIMARY KEY (`id`)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        )
        .await
        .unwrap();
    db.admin
        .query_drop("INSERT INTO t VALUES (1, 'old', 1.5)")
        .await
        .unwrap();
    let b = RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        (
            "s",
            Arc::new(StringArray::from(vec!["new", "two"])) as ArrayRef,
        ),
    ])
    .unwrap();
    let l = layout("t", &b, &["id"], None);
    let r = db.write(&l, WriteMode::Merge, vec![b]).await.unwrap();
    assert_eq!((r.inserted, r.updated), (1, 1));
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        db.rows("SELECT * FROM t ORDER BY id").await,
        [
            vec![s("1"), s("new"), s("1.5")],
            vec![s("2"), s("two"), None]
        ]
    );
    let b = RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
        ("x", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
    ])
    .unwrap();
    let e = db
        .write(&layout("t", &b, &["id"], None), WriteMode::Merge, vec![b])
        .await
        .unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::Incompatible);
    assert!(
        e.message
            .starts_with("column `x` is DOUBLE online but bigint offline"),
        "{}",
        e.message
    );
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_only_tables_merge() {
    let mut db = db("keys_only_tables_merge").await;
    let b = |ids: Vec<i64>| {
        RecordBatch::try_from_iter(vec![("id", Arc::new(Int64Array::from(ids)) as ArrayRef)])
            .unwrap()
    };
    let l = layout("k", &b(vec![1]), &["id"], None);
    db.write(&l, WriteMode::Merge, vec![b(vec![1, 2])])
        .await
        .unwrap();
    for (bulk, next) in [(BulkMode::LoadData, 3), (BulkMode::Insert, 4)] {
        db.store.set_bulk_mode(bulk);
        let r = db
            .write(&l, WriteMode::Merge, vec![b(vec![2, next])])
            .await
            .unwrap();
        assert_eq!((r.inserted, r.updated), (1, 1), "{bulk:?}");
    }
    assert_eq!(db.one("SELECT COUNT(*) FROM k").await.as_deref(), Some("4"));
    let got = db
        .store
        .lookup("k", &[vec![Value::Int(3)], vec![Value::Int(5)]], None)
        .await
        .unwrap();
    assert_eq!(got.rows, [Some(vec![]), None]);
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_series_upserts_never_regress() {
    let mut db = db("time_series_upserts_never_regress").await;
    let batch = |ids: Vec<i64>, ts: Vec<Option<i64>>, x: Vec<f64>| {
        RecordBatch::try_from_iter(vec![
            ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
            ("x", Arc::new(Float64Array::from(x)) as ArrayRef),
            (
                "ts",
                Arc::new(TimestampMicrosecondArray::from(ts)) as ArrayRef,
            ),
        ])
        .unwrap()
    };
    let v1 = batch(
        vec![1, 2, 3, 4],
        vec![Some(10), Some(10), None, Some(10)],
        vec![1.0, 1.0, 1.0, 1.0],
    );
    let l = layout("ts_t", &v1, &["id"], Some("ts"));
    db.write(&l, WriteMode::Merge, vec![v1]).await.unwrap();
    for bulk in [BulkMode::LoadData, BulkMode::Insert] {
        db.store.set_bulk_mode(bulk);
        // 1: older → kept; 2: same time → replaced; 3: online NULL → replaced; 4: NULL incoming →
        // kept; 5: new.
        let v2 = batch(
            vec![1, 2, 3, 4, 5],
            vec![Some(5), Some(10), Some(1), None, Some(1)],
            vec![9.0, 2.0, 3.0, 4.0, 5.0],
        );
        let r = db.write(&l, WriteMode::Merge, vec![v2]).await.unwrap();
        let s = |x: &str| Some(x.to_string());
        assert_eq!(
            db.rows("SELECT id, x, ts FROM ts_t ORDER BY id").await,
            [
                vec![s("1"), s("1"), s("1970-01-01 00:00:00.000010")],
                vec![s("2"), s("2"), s("1970-01-01 00:00:00.000010")],
                vec![s("3"), s("3"), s("1970-01-01 00:00:00.000001")],
                vec![s("4"), s("1"), s("1970-01-01 00:00:00.000010")],
                vec![s("5"), s("5"), s("1970-01-01 00:00:00.000001")],
            ],
            "{bulk:?}"
        );
        if bulk == BulkMode::LoadData {
            assert_eq!((r.inserted, r.updated, r.skipped_older), (1, 2, 2), "{r:?}");
        } else {
            assert_eq!((r.inserted, r.updated, r.skipped_older), (0, 3, 2), "{r:?}");
        }
    }
    db.finish().await;
}

fn snapshot(first: i64, n: i64, v: i64) -> RecordBatch {
    RecordBatch::try_from_iter(vec![
        (
            "id",
            Arc::new(Int64Array::from_iter_values(first..first + n)) as ArrayRef,
        ),
        (
            "v",
            Arc::new(Int64Array::from_iter_values((0..n).map(|_| v))) as ArrayRef,
        ),
        (
            "s",
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("row {i}")),
            )) as ArrayRef,
        ),
    ])
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overwrite_is_atomic_for_a_concurrent_reader() {
    let mut db = db("overwrite_is_atomic_for_a_concurrent_reader").await;
    const N: i64 = 50_000;
    let old = snapshot(0, N, 1);
    let l = layout("swap", &old, &["id"], None);
    db.write(&l, WriteMode::Overwrite, vec![old]).await.unwrap();
    // A shadow table left by a killed publish is dropped, not reused.
    db.admin
        .query_drop("CREATE TABLE _fstore_shadow_swap (x INT)")
        .await
        .unwrap();

    let old_sum = (0..N).sum::<i64>().to_string();
    let new_sum = (10_000..10_000 + N).sum::<i64>().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let name = db.name.clone();
        let (old_sum, new_sum) = (old_sum.clone(), new_sum.clone());
        tokio::spawn(async move {
            let mut conn = admin_conn().await;
            conn.query_drop(format!("USE `{name}`")).await.unwrap();
            let (mut reads, mut saw_old, mut saw_new) = (0u64, 0u64, 0u64);
            loop {
                let done = stop.load(Ordering::SeqCst);
                let row: (i64, String, i64, i64) = conn
                    .query_first("SELECT COUNT(*), CAST(SUM(id) AS CHAR), MIN(v), MAX(v) FROM swap")
                    .await
                    .expect("the reader never sees an error")
                    .expect("one row");
                assert_eq!(row.0, N, "the reader saw {} rows", row.0);
                assert_eq!(row.2, row.3, "the reader saw a mix of old and new rows");
                if row.1 == old_sum && row.2 == 1 {
                    saw_old += 1;
                } else if row.1 == new_sum && row.2 == 2 {
                    saw_new += 1;
                } else {
                    panic!("the reader saw an unexpected table: {row:?}");
                }
                reads += 1;
                if done {
                    break;
                }
            }
            (reads, saw_old, saw_new)
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let new = snapshot(10_000, N, 2);
    let r = db.write(&l, WriteMode::Overwrite, vec![new]).await.unwrap();
    stop.store(true, Ordering::SeqCst);
    let (reads, saw_old, saw_new) = reader.await.unwrap();
    assert!(
        saw_old > 0 && saw_new > 0,
        "reads {reads}, old {saw_old}, new {saw_new}"
    );
    assert_eq!(
        (r.rows_in, r.inserted, r.updated, r.deleted),
        (N as u64, 10_000, 40_000, 10_000)
    );
    assert_eq!(db.tables().await, ["_fstore_published", "swap"]);
    assert_eq!(
        db.one("SELECT mode FROM _fstore_published")
            .await
            .as_deref(),
        Some("overwrite")
    );
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_replaces_the_schema_and_deletes_missing_keys() {
    let mut db = db("overwrite_replaces_the_schema").await;
    let v1 = id_batch(&[1, 2, 3], &[("a", vec![Some(1.0), Some(2.0), Some(3.0)])]);
    db.write(&layout("t", &v1, &["id"], None), WriteMode::Merge, vec![v1])
        .await
        .unwrap();
    db.store.set_bulk_mode(BulkMode::Insert);
    let v2 = RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(vec![3, 4])) as ArrayRef),
        (
            "a",
            Arc::new(StringArray::from(vec!["three", "four"])) as ArrayRef,
        ),
    ])
    .unwrap();
    let l2 = layout("t", &v2, &["id"], None);
    let r = db.write(&l2, WriteMode::Overwrite, vec![v2]).await.unwrap();
    assert_eq!((r.inserted, r.updated, r.deleted), (1, 1, 2));
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        db.rows("SELECT * FROM t ORDER BY id").await,
        [vec![s("3"), s("three")], vec![s("4"), s("four")]]
    );
    let got = db
        .store
        .lookup("t", &[vec![Value::Int(4)]], None)
        .await
        .unwrap();
    assert_eq!(got.rows, [Some(vec![Value::String("four".into())])]);
    db.finish().await;
}

/// `utf8mb4_bin` pads with spaces: `a` and `a ` are the same key to MySQL though not to the
/// validator, so the load hits a duplicate key — a failure injected after staging has begun.
fn pad_space_duplicates() -> RecordBatch {
    RecordBatch::try_from_iter(vec![
        (
            "k",
            Arc::new(StringArray::from(vec!["a", "b", "a "])) as ArrayRef,
        ),
        (
            "x",
            Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])) as ArrayRef,
        ),
    ])
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_loads_leave_no_staging_table_and_the_table_unchanged() {
    let url = url();
    let name = db_name("fstore-online", "failed_loads_leave_no_staging_table");
    // One pooled connection, so the staging table's connection is the one we inspect after.
    let mut db = db("failed_loads_leave_no_staging_table").await;
    let opts = mysql_async::Opts::from_url(&url).unwrap();
    let cfg = fstore_core::config::MysqlConfig {
        host: opts.ip_or_hostname().to_string(),
        port: opts.tcp_port(),
        database: name.clone(),
        read_secret_prefix: None,
        write_secret_prefix: None,
        tls: fstore_core::config::TlsMode::Disabled,
        tls_ca_file: None,
        connect_timeout_secs: 5,
        pool_max: 1,
    };
    let mut store = MysqlStore::connect_with(
        &cfg,
        opts.user().unwrap_or("root"),
        opts.pass().unwrap_or(""),
        MysqlOptions::default(),
    )
    .await
    .unwrap();
    let record = PublishRecord {
        feature_table: "default.t".into(),
        delta_version: 1,
    };
    let bad = pad_space_duplicates();
    let l = layout("t", &bad, &["k"], None);
    for bulk in [BulkMode::LoadData, BulkMode::Insert] {
        store.set_bulk_mode(bulk);
        // First publish fails: no table, no shadow, no bookkeeping row.
        let e = store
            .write(
                &l,
                WriteMode::Merge,
                vec![bad.clone()],
                &record,
                &NoProgress,
            )
            .await
            .unwrap_err();
        assert_eq!(
            e.kind,
            StoreErrorKind::InvalidData,
            "{bulk:?}: {}",
            e.message
        );
        assert!(e.message.contains("Duplicate entry"), "{}", e.message);
        assert_eq!(db.tables().await, ["_fstore_published"], "{bulk:?}");
        assert!(store.describe("t").await.unwrap().is_none());
    }
    let good = RecordBatch::try_from_iter(vec![
        ("k", Arc::new(StringArray::from(vec!["a", "c"])) as ArrayRef),
        (
            "x",
            Arc::new(Float64Array::from(vec![10.0, 30.0])) as ArrayRef,
        ),
    ])
    .unwrap();
    store
        .write(&l, WriteMode::Merge, vec![good], &record, &NoProgress)
        .await
        .unwrap();
    let before = db.rows("SELECT * FROM t ORDER BY k").await;
    let book = db.rows("SELECT * FROM _fstore_published").await;
    for bulk in [BulkMode::LoadData, BulkMode::Insert] {
        store.set_bulk_mode(bulk);
        for mode in [WriteMode::Merge, WriteMode::Overwrite] {
            let e = store
                .write(&l, mode, vec![bad.clone()], &record, &NoProgress)
                .await
                .unwrap_err();
            assert_eq!(
                e.kind,
                StoreErrorKind::InvalidData,
                "{bulk:?} {mode:?}: {}",
                e.message
            );
            assert_eq!(
                db.rows("SELECT * FROM t ORDER BY k").await,
                before,
                "{bulk:?} {mode:?}"
            );
            assert_eq!(db.rows("SELECT * FROM _fstore_published").await, book);
            assert_eq!(
                db.tables().await,
                ["_fstore_published", "t"],
                "{bulk:?} {mode:?}"
            );
            // The merge's TEMPORARY staging table is gone from the (only) pooled connection.
            let mut conn = store.pool().get_conn().await.unwrap();
            let e = conn
                .query_drop("SELECT COUNT(*) FROM `_fstore_stage_t`")
                .await
                .unwrap_err();
            assert!(e.to_string().contains("1146"), "{e}");
        }
    }
    let _ = store.close().await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_return_request_order_and_none_for_missing_keys() {
    let db = db("lookups_return_request_order").await;
    let n = 2_500i64;
    let b = RecordBatch::try_from_iter(vec![
        (
            "id",
            Arc::new(Int64Array::from_iter_values(0..n)) as ArrayRef,
        ),
        (
            "day",
            Arc::new(Date32Array::from_iter_values((0..n).map(|i| i as i32))) as ArrayRef,
        ),
        (
            "x",
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|i| i as f64 / 2.0),
            )) as ArrayRef,
        ),
        (
            "y",
            Arc::new(Int32Array::from_iter_values((0..n).map(|i| i as i32))) as ArrayRef,
        ),
    ])
    .unwrap();
    let l = layout("lk", &b, &["id", "day"], None);
    db.write(&l, WriteMode::Merge, vec![b]).await.unwrap();
    let k = |i: i64| vec![Value::Int(i), Value::Date(i as i32)];
    let got = db
        .store
        .lookup(
            "lk",
            &[k(7), k(-1), k(3), k(7), vec![Value::Int(5), Value::Date(6)]],
            Some(&["y".into(), "x".into()]),
        )
        .await
        .unwrap();
    assert_eq!(
        got.columns
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        ["y", "x"]
    );
    assert_eq!(
        got.rows,
        [
            Some(vec![Value::Int(7), Value::Float(3.5)]),
            None,
            Some(vec![Value::Int(3), Value::Float(1.5)]),
            Some(vec![Value::Int(7), Value::Float(3.5)]),
            None,
        ]
    );
    // Dates may be given as text; more keys than one statement holds.
    let keys: Vec<Vec<Value>> = (0..n + 10)
        .rev()
        .map(|i| {
            vec![
                Value::Int(i),
                Value::String(fstore_core::value::date_string(i as i32)),
            ]
        })
        .collect();
    let got = db
        .store
        .lookup("lk", &keys, Some(&["y".into()]))
        .await
        .unwrap();
    assert_eq!(got.rows.len(), keys.len());
    for (row, key) in got.rows.iter().zip(&keys) {
        let Value::Int(i) = key[0] else {
            unreachable!()
        };
        if i < n {
            assert_eq!(row, &Some(vec![Value::Int(i)]));
        } else {
            assert_eq!(row, &None);
        }
    }
    // Errors.
    let e = db
        .store
        .lookup("lk", &[k(1)], Some(&["nope".into()]))
        .await
        .unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::BadRequest);
    assert!(
        e.message.contains("unknown feature `nope`"),
        "{}",
        e.message
    );
    let e = db
        .store
        .lookup("lk", &[vec![Value::Int(1)]], None)
        .await
        .unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::BadRequest);
    let e = db.store.lookup("absent", &[k(1)], None).await.unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::MissingTable);
    assert!(
        db.store
            .lookup("lk", &[], None)
            .await
            .unwrap()
            .rows
            .is_empty()
    );
    // Drop is idempotent and removes the bookkeeping row.
    db.store.drop_table("lk").await.unwrap();
    db.store.drop_table("lk").await.unwrap();
    assert_eq!(
        db.store.lookup("lk", &[k(1)], None).await.unwrap_err().kind,
        StoreErrorKind::MissingTable
    );
    db.store.health().await.unwrap();
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_errors_are_mapped_to_clear_kinds() {
    let mut db = db("connection_errors_are_mapped").await;
    let opts = mysql_async::Opts::from_url(&url()).unwrap();
    let host = opts.ip_or_hostname().to_string();
    let port = opts.tcp_port();
    let cfg = |database: &str, port: u16, tls| fstore_core::config::MysqlConfig {
        host: host.clone(),
        port,
        database: database.to_string(),
        read_secret_prefix: None,
        write_secret_prefix: None,
        tls,
        tls_ca_file: None,
        connect_timeout_secs: 3,
        pool_max: 2,
    };
    use fstore_core::config::TlsMode;
    let user = format!("fstore_u_{:08x}", fnv(&db.name));
    db.admin
        .query_drop(format!("DROP USER IF EXISTS '{user}'@'%'"))
        .await
        .unwrap();
    db.admin
        .query_drop(format!(
            "CREATE USER '{user}'@'%' IDENTIFIED BY 's3cret-pw'"
        ))
        .await
        .unwrap();
    db.admin
        .query_drop(format!("GRANT SELECT ON `{}`.* TO '{user}'@'%'", db.name))
        .await
        .unwrap();

    // Wrong password: AuthFailed naming the user, never the password.
    let e = MysqlStore::connect_with(
        &cfg(&db.name, port, TlsMode::Disabled),
        &user,
        "wrong-pw",
        MysqlOptions::default(),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(e.kind, StoreErrorKind::AuthFailed, "{}", e.message);
    assert!(
        e.message.contains(&format!("user `{user}`")),
        "{}",
        e.message
    );
    assert!(
        !e.message.contains("wrong-pw") && !e.message.contains("s3cret"),
        "{}",
        e.message
    );

    // Unknown database (as root, who may see every database).
    let root = opts.user().unwrap_or("root");
    let e = MysqlStore::connect_with(
        &cfg("feature_store_absent", port, TlsMode::Disabled),
        root,
        opts.pass().unwrap_or(""),
        MysqlOptions::default(),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(e.kind, StoreErrorKind::UnknownDatabase, "{}", e.message);
    assert_eq!(
        e.message,
        format!(
            "database `feature_store_absent` does not exist on {host}:{port}; create it with `fstore online init`"
        )
    );

    // Unreachable port.
    let e = MysqlStore::connect_with(
        &cfg(&db.name, 1, TlsMode::Disabled),
        root,
        "",
        MysqlOptions::default(),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(e.kind, StoreErrorKind::Connection, "{}", e.message);
    assert!(e.message.contains(&format!("{host}:1")), "{}", e.message);

    // A read-only user cannot publish: PermissionDenied naming the statement.
    let reader = MysqlStore::connect_with(
        &cfg(&db.name, port, TlsMode::Disabled),
        &user,
        "s3cret-pw",
        MysqlOptions::default(),
    )
    .await
    .unwrap();
    let b = id_batch(&[1], &[("a", vec![Some(1.0)])]);
    let e = reader
        .write(
            &layout("t", &b, &["id"], None),
            WriteMode::Merge,
            vec![b],
            &PublishRecord {
                feature_table: "default.t".into(),
                delta_version: 1,
            },
            &NoProgress,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::PermissionDenied, "{}", e.message);
    assert!(
        e.message.contains("lacks the CREATE privilege"),
        "{}",
        e.message
    );
    reader.health().await.unwrap();
    let _ = reader.close().await;

    // TLS: `preferred` falls back to plain when the server offers no TLS, `required` refuses.
    let plain = MysqlStore::connect_with(
        &cfg(&db.name, port, TlsMode::Preferred),
        root,
        opts.pass().unwrap_or(""),
        MysqlOptions::default(),
    )
    .await
    .unwrap();
    let tls_offered = db.one("SELECT @@have_ssl").await.as_deref() == Some("YES");
    assert_eq!(plain.server().tls, tls_offered);
    let _ = plain.close().await;
    let required = MysqlStore::connect_with(
        &cfg(&db.name, port, TlsMode::Required),
        root,
        opts.pass().unwrap_or(""),
        MysqlOptions::default(),
    )
    .await;
    if tls_offered {
        assert!(required.unwrap().server().tls);
    } else {
        let e = required.err().unwrap();
        assert_eq!(e.kind, StoreErrorKind::Connection);
        assert!(e.message.contains("does not offer TLS"), "{}", e.message);
    }

    db.admin
        .query_drop(format!("DROP USER IF EXISTS '{user}'@'%'"))
        .await
        .unwrap();
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_database_is_idempotent_and_server_is_detected() {
    let mut admin = admin_conn().await;
    let name = db_name("fstore-online", "create_database_is_idempotent");
    admin
        .query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
        .await
        .unwrap();
    let opts = mysql_async::Opts::from_url(&url()).unwrap();
    let cfg = fstore_core::config::MysqlConfig {
        host: opts.ip_or_hostname().to_string(),
        port: opts.tcp_port(),
        database: name.clone(),
        read_secret_prefix: None,
        write_secret_prefix: None,
        tls: fstore_core::config::TlsMode::Preferred,
        tls_ca_file: None,
        connect_timeout_secs: 5,
        pool_max: 2,
    };
    let (user, pass) = (opts.user().unwrap_or("root"), opts.pass().unwrap_or(""));
    assert!(MysqlStore::create_database(&cfg, user, pass).await.unwrap());
    assert!(!MysqlStore::create_database(&cfg, user, pass).await.unwrap());
    let store = MysqlStore::connect(&cfg, user, pass).await.unwrap();
    let version: String = admin
        .query_first("SELECT VERSION()")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.server().version, version);
    assert_eq!(
        store.server().flavor == fstore_online::mysql::Flavor::MariaDb,
        version.contains("MariaDB")
    );
    let _ = store.close().await;
    admin
        .query_drop(format!("DROP DATABASE `{name}`"))
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// The shared conformance suite, run on MySQL twice: once per bulk path.

/// A conformance harness on its own database, named after the running test (the test thread's
/// name); the database is dropped when the harness goes away after a passing case.
/// `INSERT`: the multi-row INSERT bulk path; `REPLACE`: merges of any size take the
/// `LOAD DATA … REPLACE` path where it applies (else only large ones do).
pub struct MysqlHarness<const INSERT: bool, const REPLACE: bool> {
    name: String,
}

impl<const INSERT: bool, const REPLACE: bool> MysqlHarness<INSERT, REPLACE> {
    async fn admin(&self) -> Conn {
        let mut c = admin_conn().await;
        c.query_drop(format!("USE `{}`", self.name)).await.unwrap();
        c
    }
}

impl<const INSERT: bool, const REPLACE: bool> Drop for MysqlHarness<INSERT, REPLACE> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return; // keep the database for a look
        }
        let name = self.name.clone();
        // Drop runs inside the test's runtime: do the async work on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                if let Ok(mut c) = Conn::from_url(url()).await {
                    let _ = c
                        .query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
                        .await;
                    let _ = c.disconnect().await;
                }
            });
            Ok::<_, std::io::Error>(())
        })
        .join();
    }
}

fn render_cell(col: &mysql_async::Column, v: MyValue) -> Option<String> {
    use mysql_async::consts::ColumnType as C;
    const BINARY_CHARSET: u16 = 63;
    Some(match v {
        MyValue::NULL => return None,
        MyValue::Int(i) => i.to_string(),
        MyValue::UInt(u) => u.to_string(),
        MyValue::Float(f) => f.to_string(),
        MyValue::Double(d) => d.to_string(),
        // BIT(1) booleans come back as one raw byte.
        MyValue::Bytes(b) if col.column_type() == C::MYSQL_TYPE_BIT => b
            .iter()
            .fold(0u64, |acc, x| (acc << 8) | u64::from(*x))
            .to_string(),
        MyValue::Bytes(b) => {
            let blob = matches!(
                col.column_type(),
                C::MYSQL_TYPE_BLOB
                    | C::MYSQL_TYPE_TINY_BLOB
                    | C::MYSQL_TYPE_MEDIUM_BLOB
                    | C::MYSQL_TYPE_LONG_BLOB
                    | C::MYSQL_TYPE_VAR_STRING
                    | C::MYSQL_TYPE_STRING
            ) && col.character_set() == BINARY_CHARSET;
            if blob {
                hex(&b)
            } else {
                String::from_utf8_lossy(&b).into_owned()
            }
        }
        MyValue::Date(y, m, d, h, i, s, us) => {
            if col.column_type() == C::MYSQL_TYPE_DATE {
                format!("{y:04}-{m:02}-{d:02}")
            } else {
                format!("{y:04}-{m:02}-{d:02} {h:02}:{i:02}:{s:02}.{us:06}")
            }
        }
        other => other.as_sql(true),
    })
}

impl<const INSERT: bool, const REPLACE: bool> conformance::Harness
    for MysqlHarness<INSERT, REPLACE>
{
    async fn new() -> Option<Self> {
        let name = db_name("fstore-online", &current_test());
        let mut admin = admin_conn().await;
        fresh_database(&mut admin, &name).await;
        let _ = admin.disconnect().await;
        Some(Self { name })
    }

    async fn store(&self) -> OnlineStore {
        let mut store = MysqlStore::connect_url(&url(), &self.name, MysqlOptions::default())
            .await
            .unwrap_or_else(|e| unreachable(e));
        if INSERT {
            store.set_bulk_mode(BulkMode::Insert);
        }
        if REPLACE {
            store.set_replace_min_rows(0);
        }
        OnlineStore::Mysql(store)
    }

    async fn columns(&self, table: &str) -> Vec<RawColumn> {
        let mut c = self.admin().await;
        let rows: Vec<(String, String, Option<u32>)> = c
            .exec(
                "SELECT c.COLUMN_NAME, c.IS_NULLABLE, s.SEQ_IN_INDEX
                 FROM INFORMATION_SCHEMA.COLUMNS c
                 LEFT JOIN INFORMATION_SCHEMA.STATISTICS s ON s.TABLE_SCHEMA = c.TABLE_SCHEMA
                   AND s.TABLE_NAME = c.TABLE_NAME AND s.COLUMN_NAME = c.COLUMN_NAME AND s.INDEX_NAME = 'PRIMARY'
                 WHERE c.TABLE_SCHEMA = DATABASE() AND c.TABLE_NAME = ? ORDER BY c.ORDINAL_POSITION",
                (table,),
            )
            .await
            .unwrap();
        rows.into_iter()
            .map(|(name, nullable, pk)| RawColumn {
                name,
                not_null: nullable == "NO",
                pk: pk.unwrap_or(0) as usize,
            })
            .collect()
    }

    async fn rows(&self, table: &str) -> Vec<RawRow> {
        let mut c = self.admin().await;
        // The binary protocol, so numbers render as Rust prints them.
        let rows: Vec<Row> = c
            .exec(
                format!("SELECT * FROM {}", fstore_core::ident::quote_mysql(table)),
                (),
            )
            .await
            .unwrap();
        let mut out: Vec<RawRow> = rows
            .into_iter()
            .map(|r| {
                let cols = r.columns();
                r.unwrap_raw()
                    .into_iter()
                    .zip(cols.iter())
                    .map(|(v, col)| render_cell(col, v.unwrap_or(MyValue::NULL)))
                    .collect()
            })
            .collect();
        out.sort();
        out
    }

    async fn tables(&self) -> Vec<String> {
        let mut c = self.admin().await;
        let mut names: Vec<String> = c
            .query(
                "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = DATABASE()",
            )
            .await
            .unwrap();
        names.sort();
        names
    }

    fn probe(
        &self,
        table: &str,
        column: &str,
    ) -> Box<dyn FnMut() -> Result<(i64, i64), String> + Send> {
        let sql = format!(
            "SELECT COUNT(*), CAST(COALESCE(SUM({}), 0) AS SIGNED) FROM {}",
            fstore_core::ident::quote_mysql(column),
            fstore_core::ident::quote_mysql(table)
        );
        let name = self.name.clone();
        let mut state: Option<(tokio::runtime::Runtime, Option<Conn>)> = None;
        Box::new(move || {
            if state.is_none() {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                state = Some((rt, None));
            }
            let Some((rt, conn)) = state.as_mut() else {
                return Err("no runtime".into());
            };
            rt.block_on(async {
                if conn.is_none() {
                    let mut c = Conn::from_url(url()).await.map_err(|e| e.to_string())?;
                    c.query_drop(format!("USE `{name}`"))
                        .await
                        .map_err(|e| e.to_string())?;
                    *conn = Some(c);
                }
                let c = conn.as_mut().ok_or("no connection")?;
                let row: Option<(i64, i64)> = c
                    .query_first(sql.as_str())
                    .await
                    .map_err(|e| e.to_string())?;
                row.ok_or_else(|| "no row".to_string())
            })
        })
    }
}

conformance_tests!(mysql_conformance, crate::mysql::MysqlHarness<false, false>);
conformance_tests!(mysql_insert_conformance, crate::mysql::MysqlHarness<true, false>);
conformance_tests!(mysql_replace_conformance, crate::mysql::MysqlHarness<false, true>);

/// A swap interrupted between its shadow row and the rename, or between the rename and the
/// promotion of the row, is read and settled by whether the shadow table still exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_swap_is_settled_by_whether_its_shadow_table_exists() {
    let mut d = db("an_interrupted_swap_is_settled").await;
    let b = id_batch(&[1, 2], &[("x", vec![Some(1.0), Some(2.0)])]);
    let l = layout("t", &b, &["id"], None);
    d.write(&l, WriteMode::Merge, vec![b.clone()])
        .await
        .unwrap();
    let shadow_row = |version: i64| {
        format!(
            "INSERT INTO _fstore_published SELECT '_fstore_shadow_t', feature_table, {version}, layout_json, 'overwrite', published_at, source_json FROM _fstore_published WHERE online_table = 't'"
        )
    };
    // Crashed before the rename: the shadow table and its row exist; the table is the old one.
    d.admin
        .query_drop("CREATE TABLE _fstore_shadow_t LIKE t")
        .await
        .unwrap();
    d.admin.query_drop(shadow_row(9)).await.unwrap();
    assert_eq!(
        d.store.describe("t").await.unwrap().unwrap().delta_version,
        7
    );
    let r = d
        .write(&l, WriteMode::Merge, vec![b.clone()])
        .await
        .unwrap();
    assert_eq!(r.updated, 2);
    assert_eq!(d.tables().await, ["_fstore_published", "t"]);
    assert_eq!(
        d.rows("SELECT online_table, delta_version FROM _fstore_published")
            .await,
        [[Some("t".to_string()), Some("7".to_string())]]
    );

    // Crashed after the rename: the shadow row exists, its table does not; the row stands for
    // the table, for readers and for the next write.
    d.admin.query_drop(shadow_row(9)).await.unwrap();
    let seen = d.store.describe("t").await.unwrap().unwrap();
    assert_eq!((seen.delta_version, seen.mode.as_str()), (9, "overwrite"));
    let all = d.store.list().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].delta_version, 9);
    d.write(&l, WriteMode::Merge, vec![b]).await.unwrap();
    assert_eq!(
        d.rows("SELECT online_table, delta_version FROM _fstore_published")
            .await,
        [[Some("t".to_string()), Some("7".to_string())]]
    );
    d.finish().await;
}

/// A bookkeeping table made before `source_json` existed is read as is and upgraded by the next
/// write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_bookkeeping_table_is_read_and_upgraded() {
    let mut d = db("an_old_bookkeeping_table_is_read_and_upgraded").await;
    let b = id_batch(&[1], &[("x", vec![Some(1.0)])]);
    let l = layout("t", &b, &["id"], None);
    d.write(&l, WriteMode::Merge, vec![b.clone()])
        .await
        .unwrap();
    d.admin
        .query_drop("ALTER TABLE _fstore_published DROP COLUMN source_json")
        .await
        .unwrap();
    let seen = d.store.describe("t").await.unwrap().unwrap();
    assert_eq!((seen.delta_version, seen.source), (7, None));
    assert_eq!(d.store.list().await.unwrap().len(), 1);
    d.write(&l, WriteMode::Merge, vec![b]).await.unwrap();
    assert_eq!(
        d.one("SELECT COUNT(*) FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_fstore_published' AND COLUMN_NAME = 'source_json'").await,
        Some("1".to_string())
    );
    d.finish().await;
}

/// InnoDB's id of table `t` in `db`: a table swapped in has a new one.
async fn innodb_table_id(db: &mut Db, table: &str) -> Option<String> {
    let sql = format!(
        "SELECT TABLE_ID FROM INFORMATION_SCHEMA.INNODB_SYS_TABLES WHERE NAME = '{}/{table}'",
        db.name
    );
    db.one(&sql).await
}

async fn apply_whole_view(db: &Db, layout: &OnlineLayout, rows: RecordBatch) -> WriteReport {
    let meta = fstore_online::WriteMeta {
        record: PublishRecord {
            feature_table: format!("default.{}", layout.table),
            delta_version: 8,
        },
        source: None,
        expect: fstore_online::Expect::Any,
    };
    let change = fstore_online::Rows::Changes(fstore_online::ChangeSet {
        upserts: vec![rows],
        deletes: vec![],
        complete: false,
        whole_view: true,
    });
    match db
        .store
        .apply(layout, change, &meta, &NoProgress)
        .await
        .unwrap()
    {
        fstore_online::Applied::Written(r) => r,
        other => panic!("expected a write, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_view_changes_swap_in_a_copy_of_the_table_unless_a_trigger_is_attached() {
    let mut db = db("whole_view_changes_swap_in_a_copy").await;
    let l = layout("t", &snapshot(1, 10, 1), &["id"], None);
    db.write(&l, WriteMode::Merge, vec![snapshot(1, 10, 1)])
        .await
        .unwrap();
    db.admin
        .query_drop("CREATE INDEX by_v ON t (v)")
        .await
        .unwrap();
    let before = innodb_table_id(&mut db, "t").await;
    assert!(before.is_some());
    db.store.set_replace_min_rows(0);

    // Every row changed: a copy of the table's definition, filled and swapped in.
    let r = apply_whole_view(&db, &l, snapshot(1, 10, 2)).await;
    assert_eq!((r.inserted, r.updated, r.deleted), (0, 10, 0));
    let swapped = innodb_table_id(&mut db, "t").await;
    assert_ne!(swapped, before, "the table was not swapped");
    assert_eq!(
        db.one("SELECT COUNT(*) FROM t WHERE v = 2")
            .await
            .as_deref(),
        Some("10")
    );
    let index = format!(
        "SELECT COUNT(*) FROM INFORMATION_SCHEMA.STATISTICS WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 't' AND INDEX_NAME = 'by_v'",
        db.name
    );
    assert_eq!(db.one(&index).await.as_deref(), Some("1"), "index lost");
    assert_eq!(db.tables().await, [fstore_online::BOOKKEEPING_TABLE, "t"]);

    // A trigger would go with the old table: the rows are updated in place instead.
    db.admin
        .query_drop("CREATE TRIGGER t_keep BEFORE UPDATE ON t FOR EACH ROW SET NEW.s = NEW.s")
        .await
        .unwrap();
    let r = apply_whole_view(&db, &l, snapshot(1, 10, 3)).await;
    assert_eq!((r.inserted, r.updated, r.deleted), (0, 10, 0));
    assert_eq!(innodb_table_id(&mut db, "t").await, swapped);
    assert_eq!(
        db.one("SELECT COUNT(*) FROM t WHERE v = 3")
            .await
            .as_deref(),
        Some("10")
    );
    let trigger = format!(
        "SELECT COUNT(*) FROM INFORMATION_SCHEMA.TRIGGERS WHERE TRIGGER_SCHEMA = '{}' AND TRIGGER_NAME = 't_keep'",
        db.name
    );
    assert_eq!(db.one(&trigger).await.as_deref(), Some("1"));
    db.finish().await;
}
