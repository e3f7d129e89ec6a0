//! Incremental publishing against real Delta tables and both online stores (SQLite and the
//! MariaDB at `FSTORE_TEST_MYSQL_URL`, one database per test): updates and deletes made with
//! fstore's own writes and by another Delta writer (Python `deltalake`, `FSTORE_TEST_PYTHON`)
//! arrive online; time-series tables keep the latest row per key; every fallback to a full
//! publish says why; concurrent publishers do not interleave. After every publish the online
//! table is compared with the offline view cell by cell.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use fstore_core::{NoProgress, TableName, TableSpec, Value};
use fstore_offline::{OfflineStore, WriteMode as OfflineMode};
use fstore_online::arrow_values::{Col, prepare_columns};
use fstore_online::mysql::{MysqlOptions, MysqlStore};
use fstore_online::sqlite::SqliteStore;
use fstore_online::{OnlineReader, OnlineStore, WriteMode};
use fstore_publish::{Method, PublishOptions, PublishReport, publish};
use mysql_async::prelude::Queryable;

use fstore_test_support::mysql::{self as test_mysql, url as server_url};

#[derive(Clone, Copy, Debug)]
enum Kind {
    Sqlite,
    Mysql,
}

/// A scratch offline store and an online store of one kind.
struct Env {
    dir: tempfile::TempDir,
    offline: OfflineStore,
    store: OnlineStore,
    /// The MariaDB database, dropped at the end.
    database: Option<String>,
}

impl Env {
    async fn new(kind: Kind, test: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let offline = OfflineStore::new(
            dir.path().join("offline").to_str().expect("utf-8 path"),
            Default::default(),
        )
        .expect("offline store");
        let (store, database) = match kind {
            Kind::Sqlite => (
                OnlineStore::Sqlite(
                    SqliteStore::open(&dir.path().join("online.db")).expect("sqlite"),
                ),
                None,
            ),
            Kind::Mysql => {
                let db = fstore_test_support::db_name("fstore-publish", test);
                let mut c = test_mysql::admin().await;
                test_mysql::fresh_database(&mut c, &db).await;
                let _ = c.disconnect().await;
                let store = MysqlStore::connect_url(&server_url(), &db, MysqlOptions::from_env())
                    .await
                    .expect("mysql store");
                (OnlineStore::Mysql(store), Some(db))
            }
        };
        Self {
            dir,
            offline,
            store,
            database,
        }
    }

    async fn finish(self) {
        if let Some(db) = &self.database {
            let mut c = test_mysql::admin().await;
            test_mysql::drop_database(&mut c, db).await;
            let _ = c.disconnect().await;
        }
    }

    fn table_path(&self, name: &str) -> PathBuf {
        let (schema, table) = name.split_once('.').expect("schema.table");
        self.dir.path().join("offline").join(schema).join(table)
    }

    async fn publish(&self, name: &str, opts: &PublishOptions) -> PublishReport {
        publish(
            &self.offline,
            &self.store,
            &TableName::parse(name).expect("name"),
            opts,
            &NoProgress,
        )
        .await
        .unwrap_or_else(|e| panic!("publishing {name}: {e}"))
    }

    /// Rows in the online table (from the store itself, not the bookkeeping).
    async fn online_count(&self, table: &str) -> usize {
        match &self.store {
            OnlineStore::Sqlite(s) => {
                let c = rusqlite::Connection::open(s.path()).expect("open sqlite");
                c.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
                    r.get::<_, i64>(0)
                })
                .expect("count") as usize
            }
            OnlineStore::Mysql(m) => {
                let mut c = m.pool().get_conn().await.expect("conn");
                let n: Option<i64> = c
                    .query_first(format!("SELECT COUNT(*) FROM `{table}`"))
                    .await
                    .expect("count");
                n.unwrap_or(0) as usize
            }
            OnlineStore::Postgres(_) => unreachable!("this suite runs on SQLite and MySQL"),
        }
    }

    /// Drops an online table with plain SQL, leaving its bookkeeping row behind.
    async fn drop_online(&self, table: &str) {
        match &self.store {
            OnlineStore::Sqlite(s) => {
                let c = rusqlite::Connection::open(s.path()).expect("open sqlite");
                c.execute_batch(&format!("DROP TABLE \"{table}\""))
                    .expect("drop");
            }
            OnlineStore::Mysql(m) => {
                let mut c = m.pool().get_conn().await.expect("conn");
                c.query_drop(format!("DROP TABLE `{table}`"))
                    .await
                    .expect("drop");
            }
            OnlineStore::Postgres(_) => unreachable!("this suite runs on SQLite and MySQL"),
        }
    }

    /// Asserts that online table `online` holds exactly the offline view of `name` (every
    /// column, latest row per key, optional filter): same number of rows, and every offline row
    /// found by key with equal cells.
    async fn assert_in_sync(&self, name: &str, online: &str, filter: Option<&str>) {
        let table = self
            .offline
            .open(&TableName::parse(name).expect("name"))
            .await
            .expect("open");
        let view = table.scan_latest(None, filter).await.expect("scan");
        let published = self
            .store
            .describe(online)
            .await
            .expect("describe")
            .expect("published");
        let layout =
            fstore_online::OnlineLayout::new(online, &table.schema, &table.spec).expect("layout");
        let mut keys = Vec::new();
        let mut expected = Vec::new();
        for b in &view {
            let arrays = prepare_columns(&layout, b).expect("prepare");
            let cols = Col::all(&layout, &arrays).expect("cols");
            for row in 0..b.num_rows() {
                let mut key = Vec::new();
                let mut values = Vec::new();
                for (c, col) in layout.columns.iter().zip(&cols) {
                    let v = col.cell(row).to_value();
                    if layout.is_primary_key(&c.name) {
                        key.push(v);
                    } else {
                        values.push(v);
                    }
                }
                keys.push(key);
                expected.push(Some(values));
            }
        }
        assert_eq!(
            self.online_count(online).await,
            keys.len(),
            "online `{online}` has another number of rows than the offline view of {name} at version {}",
            table.version
        );
        let features: Vec<String> = layout.value_columns().map(|c| c.name.clone()).collect();
        let got = self
            .store
            .lookup(online, &keys, Some(&features))
            .await
            .expect("lookup");
        for ((k, want), got) in keys.iter().zip(&expected).zip(&got.rows) {
            assert_eq!(got, want, "key {k:?} of {name} (online `{online}`)");
        }
        assert_eq!(published.delta_version, table.version, "recorded version");
    }

    /// Runs Python `deltalake` code with `PATH` bound to the table's directory.
    fn python(&self, name: &str, code: &str) {
        let py = std::env::var("FSTORE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = format!(
            "import os, sys\nPATH = {path:?}\nimport pyarrow as pa\nfrom deltalake import DeltaTable, write_deltalake\n{code}\nsys.stdout.flush()\nsys.stderr.flush()\nos._exit(0)\n",
            path = self.table_path(name).to_str().expect("utf-8 path")
        );
        let out = Command::new(&py)
            .arg("-c")
            .arg(script)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {py}: {e}; scripts/test installs what it needs")
            });
        assert!(
            out.status.success(),
            "python failed (needs `pip install deltalake pyarrow`; scripts/test does it):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn people_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
    ]))
}

/// `(id, name, score)` rows for `ids`; `tag` changes the names.
fn people(ids: impl IntoIterator<Item = i64>, tag: &str) -> RecordBatch {
    let ids: Vec<i64> = ids.into_iter().collect();
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids.clone())),
        Arc::new(StringArray::from_iter(
            ids.iter()
                .map(|i| (i % 9 != 0).then(|| format!("{tag}-{i}"))),
        )),
        Arc::new(Float64Array::from_iter(
            ids.iter().map(|i| (i % 11 != 0).then_some(*i as f64 * 0.5)),
        )),
    ];
    RecordBatch::try_new(people_schema(), cols).expect("batch")
}

/// Creates `name` without the change data feed (the tests that want it say so).
async fn create_people(env: &Env, name: &str, ids: impl IntoIterator<Item = i64>) {
    create_people_cdf(env, name, ids, false).await;
}

/// Creates `name`; `cdf` = the store's default (the change data feed on).
async fn create_people_cdf(env: &Env, name: &str, ids: impl IntoIterator<Item = i64>, cdf: bool) {
    let offline = if cdf {
        env.offline.clone()
    } else {
        env.offline.clone().with_change_data_feed(false)
    };
    offline
        .create(
            &TableName::parse(name).expect("name"),
            TableSpec::new(vec!["id".into()], None).expect("spec"),
            people_schema(),
            vec![people(ids, "v0")],
            vec![],
        )
        .await
        .expect("create");
}

async fn write(env: &Env, name: &str, batch: RecordBatch, mode: OfflineMode) {
    env.offline
        .write(&TableName::parse(name).expect("name"), vec![batch], mode)
        .await
        .expect("offline write");
}

#[track_caller]
fn assert_incremental(r: &PublishReport, from: i64, cdf: bool) {
    assert_eq!(
        r.method,
        Method::Incremental {
            from_version: from,
            change_data_feed: cdf
        },
        "{r:?}"
    );
}

#[track_caller]
fn assert_full(r: &PublishReport, reason_part: &str) {
    match &r.method {
        Method::Full { reason } => assert!(reason.contains(reason_part), "reason: {reason}"),
        other => panic!("expected a full publish ({reason_part}), got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------

async fn updates_and_deletes_from_fstore_writes_arrive(kind: Kind, cdf: bool) {
    let env = Env::new(kind, &format!("fstore_writes_{cdf}")).await;
    let t = "default.people";
    create_people_cdf(&env, t, 1..=50, cdf).await;
    let v0 = 0;
    let r = env.publish(t, &PublishOptions::default()).await;
    assert_full(&r, "first publish");
    env.assert_in_sync(t, "people", None).await;

    // Merge: 5 updates (one of them unchanged: the netting drops it), 5 inserts.
    let mut changed = people(1..=5, "v1");
    let same = people([9], "v0");
    changed = arrow::compute::concat_batches(&people_schema(), &[changed, same]).expect("concat");
    write(&env, t, changed, OfflineMode::Merge).await;
    write(&env, t, people(51..=55, "v1"), OfflineMode::Merge).await;
    let r = env.publish(t, &PublishOptions::default()).await;
    assert_incremental(&r, v0, cdf);
    assert_eq!((r.upserts, r.deletes), (10, 0), "{r:?}");
    assert_eq!((r.write.inserted, r.write.updated), (5, 5));
    env.assert_in_sync(t, "people", None).await;

    // Deletes by predicate, then an overwrite that keeps only some keys.
    env.offline
        .delete(&TableName::parse(t).expect("name"), "id <= 3 OR id = 50")
        .await
        .expect("delete");
    let r = env.publish(t, &PublishOptions::default()).await;
    assert_incremental(&r, v0 + 2, cdf);
    assert_eq!((r.upserts, r.deletes, r.write.deleted), (0, 4, 4), "{r:?}");
    env.assert_in_sync(t, "people", None).await;

    write(&env, t, people(10..=60, "v2"), OfflineMode::Overwrite).await;
    let r = env.publish(t, &PublishOptions::default()).await;
    assert!(matches!(r.method, Method::Incremental { .. }), "{r:?}");
    env.assert_in_sync(t, "people", None).await;

    // Nothing new: nothing written.
    let r = env.publish(t, &PublishOptions::default()).await;
    assert_eq!(r.method, Method::UpToDate);
    assert_eq!(r.write.rows_in, 0);
    env.finish().await;
}

/// InnoDB's id of the online table (a table swapped in has a new one); `None` on SQLite.
async fn innodb_table_id(env: &Env, table: &str) -> Option<i64> {
    let OnlineStore::Mysql(m) = &env.store else {
        return None;
    };
    let mut c = m.pool().get_conn().await.expect("conn");
    c.query_first(format!(
        "SELECT TABLE_ID FROM INFORMATION_SCHEMA.INNODB_SYS_TABLES WHERE NAME = '{}/{table}'",
        env.database.as_deref().unwrap_or_default()
    ))
    .await
    .expect("table id")
}

/// A full recompute offline (an overwrite in which every row changed or is new) arrives as an
/// incremental publish; on MySQL the new view is written as a new table and swapped in.
async fn full_recompute(kind: Kind) {
    let mut env = Env::new(kind, "full_recompute").await;
    if let OnlineStore::Mysql(m) = &mut env.store {
        // The swap is for large changes; this one is small.
        m.set_replace_min_rows(0);
    }
    let t = "default.people";
    create_people(&env, t, 1..=200).await;
    env.publish(t, &PublishOptions::default()).await;
    let before = innodb_table_id(&env, "people").await;

    // 1..=50 leave, 51..=200 all change, 201..=250 are new.
    let ids: Vec<i64> = (51..=250).collect();
    let recomputed = RecordBatch::try_new(
        people_schema(),
        vec![
            Arc::new(Int64Array::from(ids.clone())) as ArrayRef,
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("r-{i}")),
            )),
            Arc::new(Float64Array::from_iter_values(
                ids.iter().map(|i| *i as f64 + 0.25),
            )),
        ],
    )
    .expect("batch");
    write(&env, t, recomputed, OfflineMode::Overwrite).await;
    let r = env.publish(t, &PublishOptions::default()).await;
    assert_incremental(&r, 0, false);
    assert_eq!((r.upserts, r.deletes), (200, 50), "{r:?}");
    assert_eq!(
        (r.write.inserted, r.write.updated, r.write.deleted),
        (50, 150, 50),
        "{r:?}"
    );
    env.assert_in_sync(t, "people", None).await;
    if matches!(kind, Kind::Mysql) {
        let after = innodb_table_id(&env, "people").await;
        assert!(
            after.is_some() && after != before,
            "not swapped: {before:?} → {after:?}"
        );
    }
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_recompute_publishes_incrementally_sqlite() {
    full_recompute(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_recompute_is_swapped_in_mysql() {
    full_recompute(Kind::Mysql).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fstore_writes_arrive_incrementally_sqlite() {
    updates_and_deletes_from_fstore_writes_arrive(Kind::Sqlite, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fstore_writes_arrive_incrementally_mysql() {
    updates_and_deletes_from_fstore_writes_arrive(Kind::Mysql, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fstore_writes_arrive_through_the_change_data_feed_sqlite() {
    updates_and_deletes_from_fstore_writes_arrive(Kind::Sqlite, true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fstore_writes_arrive_through_the_change_data_feed_mysql() {
    updates_and_deletes_from_fstore_writes_arrive(Kind::Mysql, true).await;
}

async fn another_writers_changes_arrive(kind: Kind) {
    let env = Env::new(kind, "another_writer").await;
    let t = "default.people";
    create_people(&env, t, 1..=20).await;
    env.publish(t, &PublishOptions::default()).await;
    env.python(
        t,
        r#"
dt = DeltaTable(PATH)
dt.delete("id = 3")
dt.update(predicate="id = 4", updates={"name": "'from python'", "score": "-1.5"})
write_deltalake(PATH, pa.table({
    "id": pa.array([100, 101, 102], pa.int64()),
    "name": pa.array(["a", None, "c"], pa.string()),
    "score": pa.array([1.0, 2.0, None], pa.float64()),
}), mode="append")
"#,
    );
    let r = env.publish(t, &PublishOptions::default()).await;
    assert_incremental(&r, 0, false);
    assert_eq!((r.upserts, r.deletes), (4, 1), "{r:?}");
    env.assert_in_sync(t, "people", None).await;

    // The same with the change data feed switched on by the other writer.
    env.python(
        t,
        r#"
dt = DeltaTable(PATH)
dt.alter.set_table_properties({"delta.enableChangeDataFeed": "true"})
dt = DeltaTable(PATH)
dt.delete("id = 5")
dt.update(predicate="id >= 100", updates={"score": "score + 10"})
"#,
    );
    let r = env.publish(t, &PublishOptions::default()).await;
    assert_incremental(&r, 3, true);
    assert_eq!((r.upserts, r.deletes), (2, 1), "{r:?}");
    env.assert_in_sync(t, "people", None).await;
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn another_delta_writers_changes_arrive_sqlite() {
    another_writers_changes_arrive(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn another_delta_writers_changes_arrive_mysql() {
    another_writers_changes_arrive(Kind::Mysql).await;
}

fn events_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("v", DataType::Int64, true),
    ]))
}

/// One row per `(id, ts seconds, v)`.
fn events(rows: &[(i64, i64, i64)]) -> RecordBatch {
    RecordBatch::try_new(
        events_schema(),
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    rows.iter().map(|r| 1_700_000_000_000_000 + r.1 * 1_000_000),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.2))),
        ],
    )
    .expect("batch")
}

async fn time_series_keep_the_latest_row(kind: Kind) {
    let env = Env::new(kind, "time_series").await;
    let t = "default.events";
    let name = TableName::parse(t).expect("name");
    let mut rows = Vec::new();
    for id in 1..=8 {
        for ts in 1..=3 {
            rows.push((id, ts, id * 10 + ts));
        }
    }
    env.offline
        .clone()
        .with_change_data_feed(false)
        .create(
            &name,
            TableSpec::new(vec!["id".into()], Some("ts".into())).expect("spec"),
            events_schema(),
            vec![events(&rows)],
            vec![],
        )
        .await
        .expect("create");
    env.publish(t, &PublishOptions::default()).await;
    env.assert_in_sync(t, "events", None).await;

    // fstore merge: a newer row for 2, an older one for 3 (never regresses), the latest of 4
    // updated in place.
    write(
        &env,
        t,
        events(&[(2, 4, 240), (3, 0, 300), (4, 3, 999)]),
        OfflineMode::Merge,
    )
    .await;
    let r = env.publish(t, &PublishOptions::default()).await;
    assert_incremental(&r, 0, false);
    assert_eq!(r.write.skipped_older, 1, "{r:?}");
    env.assert_in_sync(t, "events", None).await;

    // Another writer deletes 1's latest row (online falls back to its previous one), all of 5,
    // and an old row of 6 (online keeps 6's latest).
    env.python(
        t,
        r#"
dt = DeltaTable(PATH)
dt.delete("(id = 1 AND ts = '2023-11-14T22:13:23Z') OR id = 5 OR (id = 6 AND ts = '2023-11-14T22:13:21Z')")
"#,
    );
    let r = env.publish(t, &PublishOptions::default()).await;
    assert!(matches!(r.method, Method::Incremental { .. }), "{r:?}");
    env.assert_in_sync(t, "events", None).await;
    let got = env
        .store
        .lookup("events", &[vec![Value::Int(1)], vec![Value::Int(5)]], None)
        .await
        .expect("lookup");
    assert_eq!(
        got.rows,
        vec![
            Some(vec![
                Value::Timestamp(1_700_000_002_000_000),
                Value::Int(12)
            ]),
            None
        ]
    );
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn time_series_tables_keep_the_latest_row_per_key_sqlite() {
    time_series_keep_the_latest_row(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn time_series_tables_keep_the_latest_row_per_key_mysql() {
    time_series_keep_the_latest_row(Kind::Mysql).await;
}

async fn fallbacks_say_why(kind: Kind) {
    let env = Env::new(kind, "fallbacks").await;
    let t = "default.people";
    let name = TableName::parse(t).expect("name");
    create_people(&env, t, 1..=30).await;
    let filtered = PublishOptions {
        filter: Some("id > 5".into()),
        ..PublishOptions::default()
    };
    env.publish(t, &filtered).await;
    env.assert_in_sync(t, "people", Some("id > 5")).await;

    // Same filter: incremental, and a row leaving the filter is deleted online.
    write(&env, t, people([6, 7], "v1"), OfflineMode::Merge).await;
    env.offline.delete(&name, "id = 6").await.expect("delete");
    let r = env.publish(t, &filtered).await;
    assert_incremental(&r, 0, false);
    env.assert_in_sync(t, "people", Some("id > 5")).await;

    // Another filter: a plain full merge; rows of the old filter stay.
    let r = env.publish(t, &PublishOptions::default()).await;
    assert_full(&r, "filter differs");
    env.assert_in_sync(t, "people", None).await;

    // --full resends everything and deletes what the view lost.
    env.offline.delete(&name, "id = 1").await.expect("delete");
    let r = env
        .publish(
            t,
            &PublishOptions {
                full: true,
                ..PublishOptions::default()
            },
        )
        .await;
    assert_full(&r, "--full");
    assert_eq!(r.write.deleted, 1);
    env.assert_in_sync(t, "people", None).await;

    // Overwrite is always full; the next merge continues incrementally from it.
    write(&env, t, people(20..=40, "v3"), OfflineMode::Merge).await;
    let r = env
        .publish(
            t,
            &PublishOptions {
                mode: WriteMode::Overwrite,
                ..PublishOptions::default()
            },
        )
        .await;
    assert_full(&r, "--mode overwrite");
    write(&env, t, people([41], "v4"), OfflineMode::Merge).await;
    let r = env.publish(t, &PublishOptions::default()).await;
    assert!(matches!(r.method, Method::Incremental { .. }), "{r:?}");
    env.assert_in_sync(t, "people", None).await;

    // Vacuumed files: the removed data is gone, so the whole view is sent (and deletes arrive).
    env.offline.delete(&name, "id <= 25").await.expect("delete");
    env.python(
        t,
        r#"
dt = DeltaTable(PATH)
dt.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
"#,
    );
    let r = env.publish(t, &PublishOptions::default()).await;
    assert_full(&r, "vacuumed");
    env.assert_in_sync(t, "people", None).await;

    // Log entries cleaned up after a checkpoint.
    write(&env, t, people([42], "v5"), OfflineMode::Merge).await;
    write(&env, t, people([43], "v5"), OfflineMode::Merge).await;
    env.python(
        t,
        r#"
dt = DeltaTable(PATH)
dt.create_checkpoint()
v = dt.version()
log = os.path.join(PATH, "_delta_log")
os.remove(os.path.join(log, "%020d.json" % (v - 1)))
"#,
    );
    let r = env.publish(t, &PublishOptions::default()).await;
    assert_full(&r, "no longer has commit");
    env.assert_in_sync(t, "people", None).await;

    // A new column: the published columns changed.
    let wider = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("extra", DataType::Int64, true),
    ]));
    let b = RecordBatch::try_new(
        wider,
        vec![
            Arc::new(Int64Array::from(vec![30, 31])),
            Arc::new(Int64Array::from(vec![Some(1), None])),
        ],
    )
    .expect("batch");
    write(&env, t, b, OfflineMode::Merge).await;
    let r = env.publish(t, &PublishOptions::default()).await;
    assert_full(&r, "columns changed");
    env.assert_in_sync(t, "people", None).await;

    // The table dropped and re-created: versions start again, and the online table follows.
    env.offline.drop(&name).await.expect("drop");
    create_people(&env, t, 100..=105).await;
    write(&env, t, people([106], "x"), OfflineMode::Merge).await;
    let r = env.publish(t, &PublishOptions::default()).await;
    assert!(
        matches!(&r.method, Method::Full { reason } if reason.contains("re-created") || reason.contains("columns changed")),
        "{r:?}"
    );
    env.assert_in_sync(t, "people", None).await;

    // The online table dropped behind fstore's back: its record is forgotten, the view resent.
    write(&env, t, people([107], "y"), OfflineMode::Merge).await;
    env.drop_online("people").await;
    let r = env.publish(t, &PublishOptions::default()).await;
    assert_full(&r, "first publish");
    env.assert_in_sync(t, "people", None).await;
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fallbacks_to_a_full_publish_say_why_sqlite() {
    fallbacks_say_why(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fallbacks_to_a_full_publish_say_why_mysql() {
    fallbacks_say_why(Kind::Mysql).await;
}

async fn concurrent_publishers(kind: Kind) {
    let env = Arc::new(Env::new(kind, "concurrent").await);
    let t = "default.people";
    create_people(&env, t, 1..=200).await;
    env.publish(t, &PublishOptions::default()).await;
    for round in 0..3 {
        write(
            &env,
            t,
            people((round * 10)..(round * 10 + 30), &format!("r{round}")),
            OfflineMode::Merge,
        )
        .await;
        env.offline
            .delete(
                &TableName::parse(t).expect("name"),
                &format!("id = {}", 100 + round),
            )
            .await
            .expect("delete");
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let env = env.clone();
                tokio::spawn(async move { env.publish(t, &PublishOptions::default()).await })
            })
            .collect();
        let mut methods = Vec::new();
        for task in tasks {
            methods.push(task.await.expect("task").method);
        }
        assert!(
            methods
                .iter()
                .any(|m| matches!(m, Method::Incremental { .. })),
            "{methods:?}"
        );
        env.assert_in_sync(t, "people", None).await;
    }
    if let Ok(env) = Arc::try_unwrap(env) {
        env.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_publishers_do_not_interleave_sqlite() {
    concurrent_publishers(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_publishers_do_not_interleave_mysql() {
    concurrent_publishers(Kind::Mysql).await;
}

async fn partitioned_tables_publish_incrementally(kind: Kind) {
    let env = Env::new(kind, "partitioned").await;
    let t = "default.rides";
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("city", DataType::Utf8, true),
        Field::new("fare", DataType::Float64, true),
    ]));
    let rides = |ids: &[i64], city: &str, fare: f64| {
        RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(ids.to_vec())) as ArrayRef,
                Arc::new(StringArray::from(vec![city; ids.len()])),
                Arc::new(Float64Array::from(vec![fare; ids.len()])),
            ],
        )
        .expect("batch")
    };
    env.offline
        .clone()
        .with_change_data_feed(false)
        .create(
            &TableName::parse(t).expect("name"),
            TableSpec::new(vec!["id".into()], None).expect("spec"),
            schema.clone(),
            vec![
                rides(&[1, 2, 3], "paris", 10.5),
                rides(&[4, 5], "lyon", 7.25),
            ],
            vec!["city".into()],
        )
        .await
        .expect("create");
    env.publish(t, &PublishOptions::default()).await;
    // A ride moves to another partition, one is deleted, one appended in a new partition.
    env.python(
        t,
        r#"
dt = DeltaTable(PATH)
dt.update(predicate="id = 2", updates={"city": "'nice'"})
dt.delete("id = 4")
write_deltalake(PATH, pa.table({
    "id": pa.array([6], pa.int64()),
    "city": pa.array(["lille"], pa.string()),
    "fare": pa.array([3.5], pa.float64()),
}), mode="append", partition_by=["city"])
"#,
    );
    write(&env, t, rides(&[5], "lyon", 8.75), OfflineMode::Merge).await;
    let r = env.publish(t, &PublishOptions::default()).await;
    assert_incremental(&r, 0, false);
    assert_eq!((r.upserts, r.deletes), (3, 1), "{r:?}");
    env.assert_in_sync(t, "rides", None).await;
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn partitioned_tables_publish_incrementally_sqlite() {
    partitioned_tables_publish_incrementally(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn partitioned_tables_publish_incrementally_mysql() {
    partitioned_tables_publish_incrementally(Kind::Mysql).await;
}

#[path = "history.rs"]
mod history;
#[path = "status.rs"]
mod status;
#[path = "verify.rs"]
mod verify;
