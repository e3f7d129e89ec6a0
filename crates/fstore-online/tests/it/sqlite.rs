//! The SQLite backend: the conformance suite plus SQLite-specific checks (DDL, encodings, staging
//! cleanup, error kinds, speed).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Int64Array,
    TimestampMillisecondArray,
};
use arrow::record_batch::RecordBatch;
use fstore_core::{NoProgress, Progress, TableSpec, Value};
use fstore_online::sqlite::SqliteStore;
use fstore_online::{
    OnlineLayout, OnlineReader, OnlineStore, OnlineWriter, PublishRecord, StoreErrorKind, WriteMode,
};
use rusqlite::Connection;
use rusqlite::types::ValueRef;

use crate::conformance::{Harness, RawColumn, RawRow};

pub struct SqliteHarness {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
}

impl SqliteHarness {
    fn conn(&self) -> Connection {
        Connection::open(&self.path).expect("open the test database")
    }
}

fn render(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Some(b.iter().map(|x| format!("{x:02x}")).collect()),
    }
}

impl Harness for SqliteHarness {
    async fn new() -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nested/dir/online.db");
        Some(Self { _dir: dir, path })
    }

    async fn store(&self) -> OnlineStore {
        OnlineStore::Sqlite(SqliteStore::open(&self.path).expect("open store"))
    }

    async fn columns(&self, table: &str) -> Vec<RawColumn> {
        let conn = self.conn();
        let mut st = conn
            .prepare("SELECT name, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid")
            .unwrap();
        st.query_map([table], |r| {
            Ok(RawColumn {
                name: r.get(0)?,
                not_null: r.get(1)?,
                pk: r.get::<_, i64>(2)? as usize,
            })
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    }

    async fn rows(&self, table: &str) -> Vec<RawRow> {
        let conn = self.conn();
        let mut st = conn
            .prepare(&format!(
                "SELECT * FROM {}",
                fstore_core::ident::quote_sqlite(table)
            ))
            .unwrap();
        let n = st.column_count();
        let mut rows: Vec<RawRow> = st
            .query_map([], |r| (0..n).map(|i| Ok(render(r.get_ref(i)?))).collect())
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        rows.sort();
        rows
    }

    async fn tables(&self) -> Vec<String> {
        let conn = self.conn();
        let mut st = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn probe(
        &self,
        table: &str,
        column: &str,
    ) -> Box<dyn FnMut() -> Result<(i64, i64), String> + Send> {
        let conn = self.conn();
        let sql = format!(
            "SELECT count(*), sum({}) FROM {}",
            fstore_core::ident::quote_sqlite(column),
            fstore_core::ident::quote_sqlite(table)
        );
        Box::new(move || {
            conn.query_row(&sql, [], |r| {
                Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0)))
            })
            .map_err(|e| e.to_string())
        })
    }
}

conformance_tests!(sqlite_conformance, crate::sqlite::SqliteHarness);

// ---------------------------------------------------------------------------------------------
// SQLite-specific

fn record(v: i64) -> PublishRecord {
    PublishRecord {
        feature_table: "default.t".into(),
        delta_version: v,
    }
}

fn layout_of(b: &RecordBatch, keys: &[&str], ts: Option<&str>) -> OnlineLayout {
    let spec = TableSpec::new(
        keys.iter().map(|k| k.to_string()).collect(),
        ts.map(str::to_string),
    )
    .unwrap();
    OnlineLayout::new("t", &b.schema(), &spec).unwrap()
}

#[tokio::test]
async fn tables_are_strict_without_rowid_and_values_use_the_documented_encodings() {
    let h = SqliteHarness::new().await.expect("sqlite harness");
    let store = h.store().await;
    let b = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
        ("flag", Arc::new(BooleanArray::from(vec![true]))),
        ("f", Arc::new(Float32Array::from(vec![0.1f32]))),
        ("d", Arc::new(Date32Array::from(vec![19_723]))),
        (
            "ts",
            Arc::new(
                TimestampMillisecondArray::from(vec![1_700_000_000_123])
                    .with_timezone("America/New_York"),
            ),
        ),
        (
            "dec",
            Arc::new(
                Decimal128Array::from(vec![-10_005])
                    .with_precision_and_scale(8, 3)
                    .unwrap(),
            ),
        ),
    ])
    .unwrap();
    store
        .write(
            &layout_of(&b, &["id"], None),
            WriteMode::Merge,
            vec![b],
            &record(1),
            &NoProgress,
        )
        .await
        .unwrap();
    let conn = h.conn();
    let sql: String = conn
        .query_row("SELECT sql FROM sqlite_schema WHERE name = 't'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(
        sql,
        r#"CREATE TABLE "t" ("id" INTEGER NOT NULL, "flag" INTEGER, "f" REAL, "d" TEXT, "ts" TEXT, "dec" TEXT, PRIMARY KEY ("id")) STRICT, WITHOUT ROWID"#
    );
    let row: (i64, f64, String, String, String) = conn
        .query_row("SELECT flag, f, d, ts, dec FROM t", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap();
    assert_eq!(
        row,
        (
            1,
            0.1,
            "2024-01-01".into(),
            "2023-11-14 22:13:20.123000".into(),
            "-10.005".into()
        )
    );
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
}

#[tokio::test]
async fn a_leftover_staging_table_is_cleaned_up() {
    let h = SqliteHarness::new().await.expect("sqlite harness");
    let store = h.store().await;
    let b =
        RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef)])
            .unwrap();
    let l = layout_of(&b, &["id"], None);
    store
        .write(
            &l,
            WriteMode::Merge,
            vec![b.clone()],
            &record(1),
            &NoProgress,
        )
        .await
        .unwrap();
    // As if a publish had crashed half-way through building its shadow table.
    h.conn()
        .execute_batch("CREATE TABLE _fstore_shadow_t (id INTEGER PRIMARY KEY, junk TEXT)")
        .unwrap();
    let r = store
        .write(&l, WriteMode::Overwrite, vec![b], &record(2), &NoProgress)
        .await
        .unwrap();
    assert_eq!((r.updated, r.inserted, r.deleted), (2, 0, 0));
    assert_eq!(h.tables().await, ["_fstore_published", "t"]);
}

#[tokio::test]
async fn reserved_and_invalid_table_names_are_refused() {
    let h = SqliteHarness::new().await.expect("sqlite harness");
    let store = h.store().await;
    let e = store.drop_table("_fstore_published").await.unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::BadRequest);
    let e = store.drop_table("a;b").await.unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::BadRequest);
}

#[tokio::test]
async fn errors_map_to_kinds() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be: SQLite cannot open it.
    let e = SqliteStore::open(dir.path())
        .err()
        .expect("opening a directory fails");
    assert_eq!(e.kind, StoreErrorKind::Connection, "{e}");
    // Not a database.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
    let e = SqliteStore::open(&junk).err().expect("junk fails");
    assert_eq!(e.kind, StoreErrorKind::Database, "{e}");
    assert!(e.message.contains("junk.db"), "{e}");
}

#[tokio::test]
async fn progress_counts_every_row() {
    #[derive(Default)]
    struct Count(std::sync::atomic::AtomicU64, std::sync::Mutex<Vec<String>>);
    impl Progress for Count {
        fn inc(&self, n: u64) {
            self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        }
        fn set_stage(&self, s: &str) {
            self.1.lock().unwrap().push(s.to_string());
        }
    }
    let h = SqliteHarness::new().await.expect("sqlite harness");
    let store = h.store().await;
    let batches: Vec<RecordBatch> = (0..3)
        .map(|i| {
            RecordBatch::try_from_iter([(
                "id",
                Arc::new(Int64Array::from_iter_values(i * 100..i * 100 + 100)) as ArrayRef,
            )])
            .unwrap()
        })
        .collect();
    let l = layout_of(&batches[0], &["id"], None);
    let p = Count::default();
    let r = store
        .write(&l, WriteMode::Merge, batches.clone(), &record(1), &p)
        .await
        .unwrap();
    assert_eq!(r.inserted, 300);
    assert_eq!(p.0.load(std::sync::atomic::Ordering::Relaxed), 300);
    // Keys-only table: a merge of existing keys counts them as updated.
    let r = store
        .write(&l, WriteMode::Merge, batches, &record(2), &p)
        .await
        .unwrap();
    assert_eq!((r.inserted, r.updated, r.skipped_older), (0, 300, 0));
    assert!(p.1.lock().unwrap().iter().any(|s| s == "merging"));
}

#[tokio::test]
async fn lookups_use_the_primary_key_index() {
    let h = SqliteHarness::new().await.expect("sqlite harness");
    let _store = h.store().await;
    let conn = h.conn();
    conn.execute_batch(
        "CREATE TABLE t (a TEXT NOT NULL, b INTEGER NOT NULL, v INTEGER, PRIMARY KEY (a, b)) STRICT, WITHOUT ROWID",
    )
    .unwrap();
    let plan: Vec<String> = conn
        .prepare("EXPLAIN QUERY PLAN SELECT a, b, v FROM t WHERE (a, b) IN (VALUES (?, ?), (?, ?))")
        .unwrap()
        .query_map([1, 2, 3, 4], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(plan.iter().any(|p| p.contains("PRIMARY KEY")), "{plan:?}");
}

#[tokio::test]
async fn the_store_and_its_futures_are_send() {
    fn is_send<T: Send>(_: &T) {}
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<SqliteStore>();
    let h = SqliteHarness::new().await.expect("sqlite harness");
    let store = h.store().await;
    let keys = vec![vec![Value::Int(1)]];
    let b = RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef)])
        .unwrap();
    let l = layout_of(&b, &["id"], None);
    let rec = record(1);
    let write = store.write(&l, WriteMode::Merge, vec![b], &rec, &NoProgress);
    is_send(&write);
    write.await.unwrap();
    let lookup = store.lookup("t", &keys, None);
    is_send(&lookup);
    assert_eq!(lookup.await.unwrap().rows, vec![Some(vec![])]);
    let (describe, list, health, drop) = (
        store.describe("t"),
        store.list(),
        store.health(),
        store.drop_table("t"),
    );
    is_send(&describe);
    is_send(&list);
    is_send(&health);
    is_send(&drop);
}

/// A bookkeeping table made before `source_json` existed is read as is and upgraded by the next
/// write.
#[tokio::test]
async fn an_old_bookkeeping_table_is_read_and_upgraded() {
    let h = SqliteHarness::new().await.expect("sqlite harness");
    let store = h.store().await;
    let b =
        RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef)])
            .unwrap();
    let l = layout_of(&b, &["id"], None);
    store
        .write(
            &l,
            WriteMode::Merge,
            vec![b.clone()],
            &record(1),
            &NoProgress,
        )
        .await
        .unwrap();
    h.conn()
        .execute_batch("ALTER TABLE _fstore_published DROP COLUMN source_json")
        .unwrap();
    let seen = store.describe("t").await.unwrap().unwrap();
    assert_eq!((seen.delta_version, seen.source), (1, None));
    assert_eq!(store.list().await.unwrap().len(), 1);
    store
        .write(&l, WriteMode::Merge, vec![b], &record(2), &NoProgress)
        .await
        .unwrap();
    let n: i64 = h
        .conn()
        .query_row(
            "SELECT count(*) FROM pragma_table_info('_fstore_published') WHERE name = 'source_json'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}
