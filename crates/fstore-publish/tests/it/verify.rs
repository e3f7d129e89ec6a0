//! `online verify` against real Delta tables and both online stores: a clean table reports no
//! difference; a cell updated, a row deleted and a row inserted by raw SQL behind fstore's back
//! are each found, with their keys and columns; the comparison is with the recorded version
//! (not the latest), its filter and its latest-row-per-key rule; composite keys of every key
//! type (SQLite orders decimal keys as text), nested values and floats compare as published.
//! Pages are small so every scan crosses many page boundaries. A child of `incremental` to
//! share its scratch environment.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, ListArray,
    StringArray,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use fstore_core::{NoProgress, TableName, TableSpec};
use fstore_online::OnlineStore;
use fstore_publish::PublishOptions;
use fstore_publish::verify::{DiffKind, VerifyOptions, VerifyReport, verify};
use mysql_async::prelude::Queryable;

use super::{Env, Kind, OfflineMode, create_people, events, events_schema, people, write};

impl Env {
    async fn verify(&self, online: &str, page_rows: usize) -> VerifyReport {
        let opts = VerifyOptions {
            examples: 10,
            page_rows,
        };
        verify(&self.offline, &self.store, online, &opts, &NoProgress)
            .await
            .unwrap_or_else(|e| panic!("verifying {online}: {e}"))
    }

    /// Runs SQL on the online database directly, as another tool would.
    async fn raw_sql(&self, sqlite: &str, mysql: &str) {
        match &self.store {
            OnlineStore::Sqlite(s) => {
                let c = rusqlite::Connection::open(s.path()).expect("open sqlite");
                c.execute_batch(sqlite).expect(sqlite);
            }
            OnlineStore::Mysql(m) => {
                let mut c = m.pool().get_conn().await.expect("conn");
                for stmt in mysql.split(';').filter(|s| !s.trim().is_empty()) {
                    c.query_drop(stmt).await.expect(stmt);
                }
            }
            OnlineStore::Postgres(_) => unreachable!("this suite runs on SQLite and MySQL"),
        }
    }
}

#[track_caller]
fn assert_clean(r: &VerifyReport, rows: u64) {
    assert!(r.is_clean(), "{r:#?}");
    assert_eq!((r.offline_rows, r.online_rows), (rows, rows), "{r:#?}");
    assert!(r.examples.is_empty(), "{r:#?}");
}

/// The example for `kind` whose first key value is `key`.
fn example<'r>(
    r: &'r VerifyReport,
    kind: DiffKind,
    key: &str,
) -> &'r fstore_publish::verify::Difference {
    r.examples
        .iter()
        .find(|d| d.kind == kind && d.key[0].value == key)
        .unwrap_or_else(|| panic!("no {kind:?} example for key {key}: {r:#?}"))
}

async fn changes_behind_fstores_back(kind: Kind) {
    let env = Env::new(kind, "verify_people").await;
    let t = "default.people";
    create_people(&env, t, 1..=100).await;
    env.publish(t, &PublishOptions::default()).await;
    assert_clean(&env.verify("people", 7).await, 100);
    // One page holding everything, and pages of one row, read the same.
    assert_clean(&env.verify("people", 1000).await, 100);
    assert_clean(&env.verify("people", 1).await, 100);

    // A new offline version that is not published yet: verify compares the recorded version.
    write(&env, t, people(1..=5, "v1"), OfflineMode::Merge).await;
    let r = env.verify("people", 7).await;
    assert_clean(&r, 100);
    assert_eq!(r.delta_version, 0);
    env.publish(t, &PublishOptions::default()).await;
    let r = env.verify("people", 7).await;
    assert_clean(&r, 100);
    assert_eq!(r.delta_version, 1);

    // Behind fstore's back: a cell changed, a NULL filled in, a row deleted, a row added.
    let sql = "UPDATE people SET score = 12345.5 WHERE id = 7; \
               UPDATE people SET name = 'x' WHERE id = 9; \
               DELETE FROM people WHERE id = 8; \
               INSERT INTO people (id, name, score) VALUES (1000, 'new', 1.0);";
    env.raw_sql(sql, sql).await;
    let r = env.verify("people", 7).await;
    assert!(!r.is_clean());
    assert_eq!((r.missing, r.extra, r.different), (1, 1, 2), "{r:#?}");
    assert_eq!((r.offline_rows, r.online_rows), (100, 100), "{r:#?}");
    // In key order: 7 (different), 8 (missing), 9 (different), 1000 (extra).
    let kinds: Vec<_> = r.examples.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [
            DiffKind::Different,
            DiffKind::Missing,
            DiffKind::Different,
            DiffKind::Extra
        ]
    );
    let d = example(&r, DiffKind::Different, "7");
    assert_eq!(d.key[0].column, "id");
    assert_eq!(d.columns.len(), 1, "{d:?}");
    assert_eq!(
        (
            d.columns[0].column.as_str(),
            d.columns[0].offline.as_str(),
            d.columns[0].online.as_str()
        ),
        ("score", "3.5", "12345.5")
    );
    let d = example(&r, DiffKind::Different, "9");
    assert_eq!(
        (d.columns[0].column.as_str(), d.columns[0].offline.as_str()),
        ("name", "NULL")
    );
    example(&r, DiffKind::Missing, "8");
    example(&r, DiffKind::Extra, "1000");
    // The same counts whatever the page size; the examples are capped, the counts are not.
    let small = verify(
        &env.offline,
        &env.store,
        "people",
        &VerifyOptions {
            examples: 1,
            page_rows: 3,
        },
        &NoProgress,
    )
    .await
    .expect("verify");
    assert_eq!((small.missing, small.extra, small.different), (1, 1, 2));
    assert_eq!(small.examples.len(), 1);

    // A full republish repairs it.
    env.publish(
        t,
        &PublishOptions {
            full: true,
            ..Default::default()
        },
    )
    .await;
    assert_clean(&env.verify("people", 7).await, 100);

    // A table that is not published is an error, not a difference.
    let e = verify(
        &env.offline,
        &env.store,
        "nope",
        &VerifyOptions::default(),
        &NoProgress,
    )
    .await
    .expect_err("not published");
    assert!(e.to_string().contains("`nope` is not published"), "{e}");
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_finds_changes_behind_fstores_back_sqlite() {
    changes_behind_fstores_back(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_finds_changes_behind_fstores_back_mysql() {
    changes_behind_fstores_back(Kind::Mysql).await;
}

async fn filtered_and_time_series(kind: Kind) {
    let env = Env::new(kind, "verify_events").await;
    // A filtered publish: the rows the filter leaves out are not missing.
    let t = "default.people";
    create_people(&env, t, 1..=60).await;
    env.publish(
        t,
        &PublishOptions {
            filter: Some("id > 20".into()),
            ..Default::default()
        },
    )
    .await;
    let r = env.verify("people", 9).await;
    assert_clean(&r, 40);
    assert_eq!(r.filter.as_deref(), Some("id > 20"));

    // A time-series table: online holds the latest row per key.
    let t = "default.events";
    let mut rows = Vec::new();
    for id in 1..=30 {
        for ts in 1..=3 {
            rows.push((id, ts, id * 10 + ts));
        }
    }
    env.offline
        .clone()
        .with_change_data_feed(false)
        .create(
            &TableName::parse(t).expect("name"),
            TableSpec::new(vec!["id".into()], Some("ts".into())).expect("spec"),
            events_schema(),
            vec![events(&rows)],
            vec![],
        )
        .await
        .expect("create");
    env.publish(t, &PublishOptions::default()).await;
    assert_clean(&env.verify("events", 4).await, 30);
    // An older row put back online by hand (timestamp and value of key 5's first row).
    env.raw_sql(
        "UPDATE events SET ts = '2023-11-14 22:13:21.000000', v = 51 WHERE id = 5",
        "UPDATE events SET ts = '2023-11-14 22:13:21.000000', v = 51 WHERE id = 5",
    )
    .await;
    let r = env.verify("events", 4).await;
    assert_eq!((r.missing, r.extra, r.different), (0, 0, 1), "{r:#?}");
    let d = example(&r, DiffKind::Different, "5");
    let cols: Vec<&str> = d.columns.iter().map(|c| c.column.as_str()).collect();
    assert_eq!(cols, ["ts", "v"]);
    assert_eq!(
        (d.columns[1].offline.as_str(), d.columns[1].online.as_str()),
        ("53", "51")
    );
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_compares_the_filtered_latest_per_key_view_sqlite() {
    filtered_and_time_series(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_compares_the_filtered_latest_per_key_view_mysql() {
    filtered_and_time_series(Kind::Mysql).await;
}

fn wide_schema() -> SchemaRef {
    let item = Arc::new(Field::new("item", DataType::Int32, true));
    Arc::new(Schema::new(vec![
        Field::new("region", DataType::Utf8, false),
        Field::new("day", DataType::Date32, false),
        Field::new("amount", DataType::Decimal128(10, 2), false),
        Field::new("ratio", DataType::Float32, true),
        Field::new("exact", DataType::Float64, true),
        Field::new("flag", DataType::Boolean, true),
        Field::new("items", DataType::List(item), true),
    ]))
}

/// Rows over a composite key `(region, day, amount)` whose orders differ by type: regions
/// with non-ASCII and upper/lower case, days across years, amounts negative and of several
/// widths (text order differs from value order).
fn wide_rows() -> RecordBatch {
    let regions = ["b", "B", "é", "a", "ab"];
    let amounts: [i128; 5] = [900, 1000, -150, 5, 123_456];
    let (mut r, mut d, mut a, mut ratio, mut exact, mut flag, mut items) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut n = 0;
    for reg in regions {
        for day in [19_000, 19_001, 20_000] {
            for amt in amounts {
                n += 1;
                r.push(reg.to_string());
                d.push(day);
                a.push(amt);
                ratio.push((n % 4 != 0).then_some(n as f32 / 10.0));
                exact.push(Some(0.1 + n as f64 * 0.2));
                flag.push((n % 3 != 0).then_some(n % 2 == 0));
                items.push((n % 5 != 0).then(|| vec![Some(n), None, Some(-n)]));
            }
        }
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(r)),
        Arc::new(Date32Array::from(d)),
        Arc::new(
            Decimal128Array::from(a)
                .with_precision_and_scale(10, 2)
                .expect("decimal"),
        ),
        Arc::new(Float32Array::from(ratio)),
        Arc::new(Float64Array::from(exact)),
        Arc::new(BooleanArray::from(flag)),
        Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(items)),
    ];
    RecordBatch::try_new(wide_schema(), cols).expect("batch")
}

async fn composite_keys(kind: Kind) {
    let env = Env::new(kind, "verify_wide").await;
    let t = "default.wide";
    env.offline
        .create(
            &TableName::parse(t).expect("name"),
            TableSpec::new(vec!["region".into(), "day".into(), "amount".into()], None)
                .expect("spec"),
            wide_schema(),
            vec![wide_rows()],
            vec![],
        )
        .await
        .expect("create");
    env.publish(t, &PublishOptions::default()).await;
    assert_clean(&env.verify("wide", 4).await, 75);
    assert_clean(&env.verify("wide", 1).await, 75);

    // A nested value and a float changed on one composite key, one key of the middle removed.
    let (sqlite, mysql) = (
        "UPDATE wide SET items = '[1]', ratio = 0.5 WHERE region = 'é' AND day = '2022-01-08' AND amount = '10.00'; \
         DELETE FROM wide WHERE region = 'B' AND day = '2022-01-09' AND amount = '-1.50';",
        "UPDATE wide SET items = '[1]', ratio = 0.5 WHERE region = 'é' AND day = '2022-01-08' AND amount = 10.00; \
         DELETE FROM wide WHERE region = 'B' AND day = '2022-01-09' AND amount = -1.50;",
    );
    env.raw_sql(sqlite, mysql).await;
    let r = env.verify("wide", 4).await;
    assert_eq!((r.missing, r.extra, r.different), (1, 0, 1), "{r:#?}");
    let d = example(&r, DiffKind::Different, "\"é\"");
    let key: Vec<(&str, &str)> = d
        .key
        .iter()
        .map(|k| (k.column.as_str(), k.value.as_str()))
        .collect();
    assert_eq!(
        key,
        [
            ("region", "\"é\""),
            ("day", "2022-01-08"),
            ("amount", "10.00")
        ]
    );
    let cols: Vec<&str> = d.columns.iter().map(|c| c.column.as_str()).collect();
    assert_eq!(cols, ["ratio", "items"], "{d:?}");
    let m = example(&r, DiffKind::Missing, "\"B\"");
    assert_eq!(m.key[2].value, "-1.50");
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_orders_composite_keys_of_every_key_type_sqlite() {
    composite_keys(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_orders_composite_keys_of_every_key_type_mysql() {
    composite_keys(Kind::Mysql).await;
}
