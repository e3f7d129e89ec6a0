//! The backend conformance suite: the same inputs and the same expected rows and errors for every
//! backend. A backend joins with a [`Harness`] and one line:
//!
//! ```ignore
//! conformance_tests!(mysql, MysqlHarness);
//! ```
//!
//! Every case gets a fresh harness (its own database), so cases may use fixed table names.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, ListArray, StringArray, StructArray,
    TimestampMicrosecondArray, TimestampNanosecondArray,
};
use arrow::datatypes::{DataType, Field, Int32Type};
use arrow::record_batch::RecordBatch;
use fstore_core::{FeatureType, NoProgress, TableSpec, Value};
use fstore_online::{
    Applied, ChangeSet, Expect, OnlineLayout, OnlineReader, OnlineStore, OnlineWriter,
    PublishRecord, PublishSource, RowStream, Rows, StoreErrorKind, WriteMeta, WriteMode,
    WriteReport,
};

/// A column of an online table as the database reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawColumn {
    pub name: String,
    pub not_null: bool,
    /// Position in the primary key, from 1; 0 when not a key column.
    pub pk: usize,
}

/// A row read straight from the database: each cell as text (`None` = NULL). Integers and
/// booleans as decimal digits, doubles as Rust prints them, strings as they are.
pub type RawRow = Vec<Option<String>>;

/// What the suite needs from a backend besides the store itself.
#[allow(async_fn_in_trait)]
pub trait Harness: Sized {
    /// A harness on a fresh, empty database. `None` skips the case; a harness whose server is
    /// unreachable should panic with a clear message instead (tests fail, never skip: see
    /// `scripts/test`).
    async fn new() -> Option<Self>;
    /// A store on this harness's database (may be called more than once).
    async fn store(&self) -> OnlineStore;
    /// Columns of `table` in table order.
    async fn columns(&self, table: &str) -> Vec<RawColumn>;
    /// Every row of `table`, columns in table order, sorted.
    async fn rows(&self, table: &str) -> Vec<RawRow>;
    /// Every table in the database (bookkeeping included).
    async fn tables(&self) -> Vec<String>;
    /// A blocking probe for a concurrent reader: each call returns `(count(*), sum(column))` of
    /// `table`, read in one statement on its own connection.
    fn probe(
        &self,
        table: &str,
        column: &str,
    ) -> Box<dyn FnMut() -> Result<(i64, i64), String> + Send>;
}

/// Instantiates every conformance case for one backend, in a module named `$backend`.
#[macro_export]
macro_rules! conformance_tests {
    ($backend:ident, $harness:ty) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_tests!(@cases $harness;
                first_publish_creates_the_table,
                first_publish_in_overwrite_mode_creates_the_table,
                merge_upserts_and_leaves_unpublished_columns_untouched,
                merge_adds_new_columns,
                merge_counts_unchanged_rows_as_updated,
                merge_refuses_an_incompatible_type_and_writes_nothing,
                time_series_upserts_never_regress,
                overwrite_replaces_the_table_exactly,
                overwrite_is_atomic_for_concurrent_readers,
                lookup_returns_request_order_and_round_trips_every_type,
                lookup_by_composite_key_and_bad_requests,
                invalid_values_are_rejected_and_nothing_changes,
                bookkeeping_holds_the_published_version,
                drop_table_is_idempotent,
                lookup_in_with_a_stale_layout_fails_so_the_caller_can_reread,
                health_round_trips,
                changes_delete_then_upsert_in_one_write,
                changes_create_the_table_when_it_is_missing,
                complete_changes_make_the_table_exactly_the_rows,
                whole_view_changes_write_what_the_change_writes,
                time_series_changes_replace_keys_that_lost_their_newest_row,
                writes_check_the_recorded_version_and_write_nothing_on_conflict,
                a_failed_change_set_writes_nothing,
                a_bad_value_in_the_last_chunk_of_a_stream_writes_nothing,
                streamed_writes_count_across_chunks,
                scan_pages_return_every_row_once_in_key_order,
                scan_pages_order_decimal_and_date_keys_as_key_sort_says,
            );
        }
    };
    (@cases $harness:ty; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(h) = <$harness as $crate::conformance::Harness>::new().await else {
                    eprintln!("skipped: the harness declined");
                    return;
                };
                $crate::conformance::$case(&h).await;
            }
        )*
    };
}

mod scan;
pub use scan::*;

// ---------------------------------------------------------------------------------------------
// Helpers

const TABLE: &str = "features";
const FEATURE_TABLE: &str = "default.features";

fn arr(a: impl arrow::array::Array + 'static) -> ArrayRef {
    Arc::new(a)
}

pub fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(cols).expect("valid test batch")
}

pub fn layout(b: &RecordBatch, keys: &[&str], ts: Option<&str>) -> OnlineLayout {
    let spec = TableSpec::new(
        keys.iter().map(|k| k.to_string()).collect(),
        ts.map(str::to_string),
    )
    .expect("valid spec");
    OnlineLayout::new(TABLE, &b.schema(), &spec).expect("valid layout")
}

fn record(version: i64) -> PublishRecord {
    PublishRecord {
        feature_table: FEATURE_TABLE.into(),
        delta_version: version,
    }
}

async fn write(
    store: &OnlineStore,
    l: &OnlineLayout,
    mode: WriteMode,
    batches: Vec<RecordBatch>,
    version: i64,
) -> fstore_online::Result<WriteReport> {
    store
        .write(l, mode, batches, &record(version), &NoProgress)
        .await
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn sorted(mut rows: Vec<RawRow>) -> Vec<RawRow> {
    rows.sort();
    rows
}

fn names(cols: &[RawColumn]) -> Vec<&str> {
    cols.iter().map(|c| c.name.as_str()).collect()
}

/// `(id bigint key, name string, score double)`.
fn people(ids: &[i64], names: &[&str], scores: &[Option<f64>]) -> RecordBatch {
    batch(vec![
        ("id", arr(Int64Array::from(ids.to_vec()))),
        ("name", arr(StringArray::from(names.to_vec()))),
        ("score", arr(Float64Array::from(scores.to_vec()))),
    ])
}

fn assert_counts(
    r: &WriteReport,
    rows_in: u64,
    inserted: u64,
    updated: u64,
    skipped: u64,
    deleted: u64,
) {
    assert_eq!(
        (r.rows_in, r.inserted, r.updated, r.skipped_older, r.deleted),
        (rows_in, inserted, updated, skipped, deleted),
        "rows_in, inserted, updated, skipped_older, deleted of {r:?}"
    );
}

fn staging_tables(tables: &[String]) -> Vec<&String> {
    tables
        .iter()
        .filter(|t| t.as_str() != TABLE && t.as_str() != fstore_online::BOOKKEEPING_TABLE)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Cases

pub async fn first_publish_creates_the_table<H: Harness>(h: &H) {
    let store = h.store().await;
    let b = people(
        &[1, 2, 3],
        &["a", "b", "c"],
        &[Some(1.5), None, Some(-2.25)],
    );
    let l = layout(&b, &["id"], None);
    let r = write(&store, &l, WriteMode::Merge, vec![b], 1)
        .await
        .unwrap();
    assert_counts(&r, 3, 3, 0, 0, 0);
    assert!(r.bytes > 0);

    let cols = h.columns(TABLE).await;
    assert_eq!(
        cols,
        vec![
            RawColumn {
                name: "id".into(),
                not_null: true,
                pk: 1
            },
            RawColumn {
                name: "name".into(),
                not_null: false,
                pk: 0
            },
            RawColumn {
                name: "score".into(),
                not_null: false,
                pk: 0
            },
        ]
    );
    assert_eq!(
        h.rows(TABLE).await,
        sorted(vec![
            vec![s("1"), s("a"), s("1.5")],
            vec![s("2"), s("b"), None],
            vec![s("3"), s("c"), s("-2.25")],
        ])
    );
    assert!(staging_tables(&h.tables().await).is_empty());
}

pub async fn first_publish_in_overwrite_mode_creates_the_table<H: Harness>(h: &H) {
    let store = h.store().await;
    // Composite key, key columns not first: the table keeps the layout's order.
    let b = batch(vec![
        ("v", arr(Int32Array::from(vec![10, 20]))),
        ("region", arr(StringArray::from(vec!["eu", "us"]))),
        ("id", arr(Int64Array::from(vec![1, 1]))),
    ]);
    let l = layout(&b, &["id", "region"], None);
    let r = write(&store, &l, WriteMode::Overwrite, vec![b], 1)
        .await
        .unwrap();
    assert_counts(&r, 2, 2, 0, 0, 0);
    assert_eq!(
        h.columns(TABLE).await,
        vec![
            RawColumn {
                name: "v".into(),
                not_null: false,
                pk: 0
            },
            RawColumn {
                name: "region".into(),
                not_null: true,
                pk: 2
            },
            RawColumn {
                name: "id".into(),
                not_null: true,
                pk: 1
            },
        ]
    );
    assert_eq!(
        h.rows(TABLE).await,
        sorted(vec![
            vec![s("10"), s("eu"), s("1")],
            vec![s("20"), s("us"), s("1")]
        ])
    );
}

pub async fn merge_upserts_and_leaves_unpublished_columns_untouched<H: Harness>(h: &H) {
    let store = h.store().await;
    let b = people(&[1, 2], &["a", "b"], &[Some(1.5), Some(2.5)]);
    write(
        &store,
        &layout(&b, &["id"], None),
        WriteMode::Merge,
        vec![b],
        1,
    )
    .await
    .unwrap();

    // Publish only (id, score): `name` is not published this time.
    let b = batch(vec![
        ("id", arr(Int64Array::from(vec![2, 3]))),
        ("score", arr(Float64Array::from(vec![20.5, 30.5]))),
    ]);
    let l = layout(&b, &["id"], None);
    let r = write(&store, &l, WriteMode::Merge, vec![b], 2)
        .await
        .unwrap();
    assert_counts(&r, 2, 1, 1, 0, 0);
    assert_eq!(names(&h.columns(TABLE).await), ["id", "name", "score"]);
    assert_eq!(
        h.rows(TABLE).await,
        sorted(vec![
            vec![s("1"), s("a"), s("1.5")],
            vec![s("2"), s("b"), s("20.5")],
            vec![s("3"), None, s("30.5")],
        ])
    );
    // The untouched column stays readable.
    let got = store
        .lookup(
            TABLE,
            &[vec![Value::Int(2)]],
            Some(&["name".to_string(), "score".to_string()]),
        )
        .await
        .unwrap();
    assert_eq!(
        got.rows,
        vec![Some(vec![Value::String("b".into()), Value::Float(20.5)])]
    );
}

pub async fn merge_counts_unchanged_rows_as_updated<H: Harness>(h: &H) {
    let store = h.store().await;
    let b = people(
        &[1, 2, 3],
        &["a", "b", "c"],
        &[Some(1.0), Some(2.0), Some(3.0)],
    );
    let l = layout(&b, &["id"], None);
    write(&store, &l, WriteMode::Merge, vec![b], 1)
        .await
        .unwrap();
    // Every row changed: all updated, none new.
    let b = people(
        &[1, 2, 3],
        &["A", "B", "C"],
        &[Some(1.0), Some(2.0), Some(3.0)],
    );
    let r = write(&store, &l, WriteMode::Merge, vec![b], 2)
        .await
        .unwrap();
    assert_counts(&r, 3, 0, 3, 0, 0);
    // 1 identical, 2 changed, 4 new: an identical row counts as updated, not as new.
    let b = people(&[1, 2, 4], &["A", "b", "d"], &[Some(1.0), Some(2.0), None]);
    let r = write(&store, &l, WriteMode::Merge, vec![b], 3)
        .await
        .unwrap();
    assert_counts(&r, 3, 1, 2, 0, 0);
    // Every row identical.
    let b = people(&[1, 2, 4], &["A", "b", "d"], &[Some(1.0), Some(2.0), None]);
    let r = write(&store, &l, WriteMode::Merge, vec![b], 4)
        .await
        .unwrap();
    assert_counts(&r, 3, 0, 3, 0, 0);
    assert_eq!(
        h.rows(TABLE).await,
        sorted(vec![
            vec![s("1"), s("A"), s("1")],
            vec![s("2"), s("b"), s("2")],
            vec![s("3"), s("C"), s("3")],
            vec![s("4"), s("d"), None],
        ])
    );
}

pub async fn merge_adds_new_columns<H: Harness>(h: &H) {
    let store = h.store().await;
    let b = batch(vec![
        ("id", arr(Int64Array::from(vec![1, 2]))),
        ("a", arr(Int64Array::from(vec![10, 20]))),
    ]);
    write(
        &store,
        &layout(&b, &["id"], None),
        WriteMode::Merge,
        vec![b],
        1,
    )
    .await
    .unwrap();
    let b = batch(vec![
        ("id", arr(Int64Array::from(vec![2]))),
        ("a", arr(Int64Array::from(vec![21]))),
        ("c", arr(StringArray::from(vec!["new"]))),
    ]);
    let l = layout(&b, &["id"], None);
    let r = write(&store, &l, WriteMode::Merge, vec![b], 2)
        .await
        .unwrap();
    assert_counts(&r, 1, 0, 1, 0, 0);
    let cols = h.columns(TABLE).await;
    assert_eq!(names(&cols), ["id", "a", "c"]);
    assert!(!cols[2].not_null);
    assert_eq!(
        h.rows(TABLE).await,
        sorted(vec![
            vec![s("1"), s("10"), None],
            vec![s("2"), s("21"), s("new")]
        ])
    );
    let d = store.describe(TABLE).await.unwrap().unwrap();
    assert_eq!(
        d.layout.column("c").map(|c| c.ftype),
        Some(FeatureType::String)
    );
}

pub async fn merge_refuses_an_incompatible_type_and_writes_nothing<H: Harness>(h: &H) {
    let store = h.store().await;
    let b = people(&[1], &["a"], &[Some(1.5)]);
    write(
        &store,
        &layout(&b, &["id"], None),
        WriteMode::Merge,
        vec![b],
        1,
    )
    .await
    .unwrap();
    let before = h.rows(TABLE).await;

    let b = batch(vec![
        ("id", arr(Int64Array::from(vec![1, 2]))),
        ("score", arr(StringArray::from(vec!["high", "low"]))),
        ("extra", arr(Int64Array::from(vec![1, 2]))),
    ]);
    let l = layout(&b, &["id"], None);
    let e = write(&store, &l, WriteMode::Merge, vec![b], 2)
        .await
        .unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::Incompatible);
    assert_eq!(
        e.message,
        "column `score` is double online but string offline; run `fstore publish default.features --mode overwrite` to rebuild the online table"
    );
    assert_eq!(h.rows(TABLE).await, before);
    assert_eq!(names(&h.columns(TABLE).await), ["id", "name", "score"]);
    assert_eq!(
        store.describe(TABLE).await.unwrap().unwrap().delta_version,
        1
    );
}

pub async fn time_series_upserts_never_regress<H: Harness>(h: &H) {
    let store = h.store().await;
    let ts = |v: Vec<i64>| arr(TimestampMicrosecondArray::from(v).with_timezone("UTC"));
    let b = batch(vec![
        ("id", arr(Int64Array::from(vec![1, 2, 3]))),
        ("ts", ts(vec![10_000_000, 10_000_000, 10_000_000])),
        ("v", arr(Int64Array::from(vec![1, 1, 1]))),
    ]);
    let l = layout(&b, &["id"], Some("ts"));
    assert_eq!(l.primary_keys, ["id"]);
    write(&store, &l, WriteMode::Merge, vec![b], 1)
        .await
        .unwrap();
    assert_eq!(
        h.columns(TABLE).await[1],
        RawColumn {
            name: "ts".into(),
            not_null: false,
            pk: 0
        }
    );

    let b = batch(vec![
        ("id", arr(Int64Array::from(vec![1, 2, 3, 4]))),
        // older (skipped), equal (applied), newer (applied), new key (inserted)
        ("ts", ts(vec![5_000_000, 10_000_000, 20_000_000, 1_000_000])),
        ("v", arr(Int64Array::from(vec![2, 3, 4, 5]))),
    ]);
    let r = write(&store, &l, WriteMode::Merge, vec![b], 2)
        .await
        .unwrap();
    assert_counts(&r, 4, 1, 2, 1, 0);
    let got = store
        .lookup(TABLE, &[1, 2, 3, 4].map(|i| vec![Value::Int(i)]), None)
        .await
        .unwrap();
    assert_eq!(
        got.columns,
        vec![
            ("ts".into(), FeatureType::Timestamp),
            ("v".into(), FeatureType::BigInt)
        ]
    );
    assert_eq!(
        got.rows,
        vec![
            Some(vec![Value::Timestamp(10_000_000), Value::Int(1)]),
            Some(vec![Value::Timestamp(10_000_000), Value::Int(3)]),
            Some(vec![Value::Timestamp(20_000_000), Value::Int(4)]),
            Some(vec![Value::Timestamp(1_000_000), Value::Int(5)]),
        ]
    );
}

pub async fn overwrite_replaces_the_table_exactly<H: Harness>(h: &H) {
    let store = h.store().await;
    let b = batch(vec![
        ("id", arr(Int64Array::from(vec![1, 2, 3]))),
        ("a", arr(Int64Array::from(vec![10, 20, 30]))),
        ("b", arr(StringArray::from(vec!["x", "y", "z"]))),
    ]);
    write(
        &store,
        &layout(&b, &["id"], None),
        WriteMode::Merge,
        vec![b],
        1,
    )
    .await
    .unwrap();
    // New snapshot: key 1 gone, 4 new; column b dropped, c added, a changes type.
    let b = batch(vec![
        ("id", arr(Int64Array::from(vec![2, 3, 4]))),
        (
            "a",
            arr(StringArray::from(vec!["twenty", "thirty", "forty"])),
        ),
        ("c", arr(Float64Array::from(vec![0.5, 1.5, 2.5]))),
    ]);
    let l = layout(&b, &["id"], None);
    let r = write(&store, &l, WriteMode::Overwrite, vec![b], 2)
        .await
        .unwrap();
    assert_counts(&r, 3, 1, 2, 0, 1);
    assert_eq!(names(&h.columns(TABLE).await), ["id", "a", "c"]);
    assert_eq!(
        h.rows(TABLE).await,
        sorted(vec![
            vec![s("2"), s("twenty"), s("0.5")],
            vec![s("3"), s("thirty"), s("1.5")],
            vec![s("4"), s("forty"), s("2.5")],
        ])
    );
    assert!(
        staging_tables(&h.tables().await).is_empty(),
        "{:?}",
        h.tables().await
    );
    let d = store.describe(TABLE).await.unwrap().unwrap();
    assert_eq!((d.delta_version, d.mode.as_str()), (2, "overwrite"));
    assert_eq!(d.layout, l);
    let got = store
        .lookup(TABLE, &[vec![Value::Int(1)], vec![Value::Int(4)]], None)
        .await
        .unwrap();
    assert_eq!(
        got.rows,
        vec![
            None,
            Some(vec![Value::String("forty".into()), Value::Float(2.5)])
        ]
    );
}

fn numbered(range: std::ops::Range<i64>, v: i64, batch_rows: usize) -> Vec<RecordBatch> {
    let ids: Vec<i64> = range.collect();
    ids.chunks(batch_rows)
        .map(|c| {
            batch(vec![
                ("id", arr(Int64Array::from(c.to_vec()))),
                ("v", arr(Int64Array::from(vec![v; c.len()]))),
                (
                    "label",
                    arr(StringArray::from_iter_values(
                        c.iter().map(|i| format!("row-{i}")),
                    )),
                ),
            ])
        })
        .collect()
}

pub async fn overwrite_is_atomic_for_concurrent_readers<H: Harness>(h: &H) {
    let store = h.store().await;
    let old = numbered(0..100_000, 1, 30_000);
    let l = layout(&old[0], &["id"], None);
    write(&store, &l, WriteMode::Overwrite, old, 1)
        .await
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let mut probe = h.probe(TABLE, "v");
    let reader = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                seen.push(probe());
                std::thread::sleep(Duration::from_millis(1));
            }
            seen.push(probe());
            seen
        })
    };
    // Let the reader see the old table first.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let new = numbered(50_000..170_000, 2, 30_000);
    let r = write(&store, &l, WriteMode::Overwrite, new, 2)
        .await
        .unwrap();
    assert_counts(&r, 120_000, 70_000, 50_000, 0, 50_000);
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.store(true, Ordering::Relaxed);
    let seen = reader.join().expect("reader thread");

    let (old_state, new_state) = ((100_000, 100_000), (120_000, 240_000));
    let mut saw_new = false;
    for (i, s) in seen.iter().enumerate() {
        match s {
            Ok(x) if *x == old_state => {
                assert!(!saw_new, "observation {i}: old table after the new one")
            }
            Ok(x) if *x == new_state => saw_new = true,
            other => panic!(
                "observation {i} of {}: {other:?} is neither the old nor the new table",
                seen.len()
            ),
        }
    }
    assert!(seen.len() >= 3, "the reader ran only {} times", seen.len());
    assert_eq!(seen.first(), Some(&Ok(old_state)));
    assert_eq!(seen.last(), Some(&Ok(new_state)));
}

/// One row per feature type, twice, plus nulls.
fn every_type() -> RecordBatch {
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), Some(2), None]),
        Some(vec![]),
        None,
    ]);
    let strukt = StructArray::from(vec![
        (
            Arc::new(Field::new("a", DataType::Int32, true)),
            arr(Int32Array::from(vec![Some(1), None, Some(3)])),
        ),
        (
            Arc::new(Field::new("b", DataType::Utf8, true)),
            arr(StringArray::from(vec![Some("x \"q\""), Some("y"), None])),
        ),
    ]);
    batch(vec![
        ("k", arr(StringArray::from(vec!["a", "b", "c"]))),
        (
            "small",
            arr(Int16Array::from(vec![Some(-7), Some(i16::MAX), None])),
        ),
        (
            "int",
            arr(Int32Array::from(vec![Some(i32::MIN), Some(0), None])),
        ),
        (
            "big",
            arr(Int64Array::from(vec![Some(i64::MAX), Some(-1), None])),
        ),
        (
            "f32",
            arr(Float32Array::from(vec![Some(0.1), Some(-3.5), None])),
        ),
        (
            "f64",
            arr(Float64Array::from(vec![Some(0.1), Some(1e300), None])),
        ),
        (
            "dec",
            arr(Decimal128Array::from(vec![Some(12_345), Some(-5), None])
                .with_precision_and_scale(10, 2)
                .expect("valid decimal")),
        ),
        (
            "flag",
            arr(BooleanArray::from(vec![Some(true), Some(false), None])),
        ),
        (
            "text",
            arr(StringArray::from(vec![Some("héllo ✓"), Some(""), None])),
        ),
        (
            "bin",
            arr(BinaryArray::from(vec![
                Some(&[0u8, 255, 10][..]),
                Some(&b""[..]),
                None,
            ])),
        ),
        (
            "day",
            arr(Date32Array::from(vec![Some(19_723), Some(-1), None])),
        ),
        (
            "at",
            arr(TimestampNanosecondArray::from(vec![
                Some(1_700_000_000_123_456_789),
                Some(-1_000),
                None,
            ])
            .with_timezone("+02:00")),
        ),
        ("list", arr(list)),
        ("obj", arr(strukt)),
    ])
}

pub async fn lookup_returns_request_order_and_round_trips_every_type<H: Harness>(h: &H) {
    let store = h.store().await;
    let b = every_type();
    let l = layout(&b, &["k"], None);
    write(&store, &l, WriteMode::Merge, vec![b], 1)
        .await
        .unwrap();

    let key = |k: &str| vec![Value::String(k.into())];
    let got = store
        .lookup(
            TABLE,
            &[key("c"), key("missing"), key("a"), key("b"), key("a")],
            None,
        )
        .await
        .unwrap();
    use FeatureType as T;
    assert_eq!(
        got.columns,
        vec![
            ("small".to_string(), T::SmallInt),
            ("int".into(), T::Int),
            ("big".into(), T::BigInt),
            ("f32".into(), T::Float),
            ("f64".into(), T::Double),
            (
                "dec".into(),
                T::Decimal {
                    precision: 10,
                    scale: 2
                }
            ),
            ("flag".into(), T::Boolean),
            ("text".into(), T::String),
            ("bin".into(), T::Binary),
            ("day".into(), T::Date),
            ("at".into(), T::Timestamp),
            ("list".into(), T::Json),
            ("obj".into(), T::Json),
        ]
    );
    let row_a = vec![
        Value::Int(-7),
        Value::Int(i32::MIN as i64),
        Value::Int(i64::MAX),
        Value::Float(0.1),
        Value::Float(0.1),
        Value::Decimal("123.45".into()),
        Value::Bool(true),
        Value::String("héllo ✓".into()),
        Value::Bytes(vec![0, 255, 10]),
        Value::Date(19_723),
        Value::Timestamp(1_700_000_000_123_456),
        Value::Json("[1,2,null]".into()),
        Value::Json(r#"{"a":1,"b":"x \"q\""}"#.into()),
    ];
    let row_b = vec![
        Value::Int(i16::MAX as i64),
        Value::Int(0),
        Value::Int(-1),
        Value::Float(-3.5),
        Value::Float(1e300),
        Value::Decimal("-0.05".into()),
        Value::Bool(false),
        Value::String(String::new()),
        Value::Bytes(vec![]),
        Value::Date(-1),
        Value::Timestamp(-1),
        Value::Json("[]".into()),
        Value::Json(r#"{"b":"y"}"#.into()),
    ];
    let mut row_c = vec![Value::Null; 13];
    row_c[12] = Value::Json(r#"{"a":3}"#.into());
    assert_eq!(
        got.rows,
        vec![
            Some(row_c),
            None,
            Some(row_a.clone()),
            Some(row_b),
            Some(row_a)
        ]
    );
    for row in got.rows.iter().flatten() {
        for v in row {
            if let Value::Json(j) = v {
                serde_json::from_str::<serde_json::Value>(j).expect("valid JSON");
            }
        }
    }

    let some = store
        .lookup(
            TABLE,
            &[key("a")],
            Some(&["at".to_string(), "k".to_string(), "dec".to_string()]),
        )
        .await
        .unwrap();
    assert_eq!(
        some.rows,
        vec![Some(vec![
            Value::Timestamp(1_700_000_000_123_456),
            Value::String("a".into()),
            Value::Decimal("123.45".into()),
        ])]
    );
    let none = store.lookup(TABLE, &[], None).await.unwrap();
    assert!(none.rows.is_empty());
}

pub async fn lookup_by_composite_key_and_bad_requests<H: Harness>(h: &H) {
    let store = h.store().await;
    let n = 1_200; // more keys than one statement takes
    let b = batch(vec![
        (
            "day",
            arr(Date32Array::from_iter_values(
                (0..n).map(|i| 19_000 + (i % 7)),
            )),
        ),
        (
            "amount",
            arr(
                Decimal128Array::from_iter_values((0..n).map(|i| i as i128 * 10))
                    .with_precision_and_scale(12, 1)
                    .expect("valid decimal"),
            ),
        ),
        (
            "v",
            arr(Int64Array::from_iter_values((0..n).map(|i| i as i64))),
        ),
    ]);
    let l = layout(&b, &["day", "amount"], None);
    write(&store, &l, WriteMode::Merge, vec![b], 1)
        .await
        .unwrap();

    let key = |i: i32| {
        vec![
            Value::Date(19_000 + (i % 7)),
            Value::Decimal(format!("{}.0", i)),
        ]
    };
    let mut keys: Vec<Vec<Value>> = (0..n).rev().map(key).collect();
    keys.push(vec![Value::Date(19_001), Value::Decimal("0".into())]); // absent
    // Text forms of the same key match too (`"7"` is 7.0; a date as text).
    keys.push(vec![
        Value::String("2022-01-08".into()),
        Value::Decimal("7".into()),
    ]);
    let got = store
        .lookup(TABLE, &keys, Some(&["v".to_string()]))
        .await
        .unwrap();
    assert_eq!(got.rows.len(), n as usize + 2);
    for (j, i) in (0..n).rev().enumerate() {
        assert_eq!(got.rows[j], Some(vec![Value::Int(i as i64)]), "key {i}");
    }
    assert_eq!(got.rows[n as usize], None);
    assert_eq!(got.rows[n as usize + 1], Some(vec![Value::Int(7)]));

    let bad = |keys: Vec<Vec<Value>>, features: Option<Vec<String>>| {
        let store = &store;
        async move {
            store
                .lookup(TABLE, &keys, features.as_deref())
                .await
                .unwrap_err()
        }
    };
    let e = bad(vec![vec![Value::Date(19_000)]], None).await;
    assert_eq!(e.kind, StoreErrorKind::BadRequest);
    assert!(
        e.message
            .contains("has 1 value(s) but `features` has 2 primary key(s) (day, amount)"),
        "{}",
        e.message
    );
    let e = bad(vec![vec![Value::Int(3), Value::Decimal("1".into())]], None).await;
    assert_eq!(e.kind, StoreErrorKind::BadRequest);
    assert!(e.message.contains("`day`"), "{}", e.message);
    let e = bad(vec![key(1)], Some(vec!["nope".into()])).await;
    assert_eq!(e.kind, StoreErrorKind::BadRequest);
    assert!(
        e.message.contains("unknown feature `nope`"),
        "{}",
        e.message
    );
    let e = store.lookup("other", &[key(1)], None).await.unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::MissingTable);
    assert!(
        e.message.contains("`other` is not published"),
        "{}",
        e.message
    );
}

pub async fn invalid_values_are_rejected_and_nothing_changes<H: Harness>(h: &H) {
    let store = h.store().await;
    let b = people(&[1, 2], &["a", "b"], &[Some(1.5), Some(2.5)]);
    let l = layout(&b, &["id"], None);
    write(&store, &l, WriteMode::Merge, vec![b], 1)
        .await
        .unwrap();
    let before = h.rows(TABLE).await;

    let name_key = |name: &str| {
        batch(vec![
            ("name", arr(StringArray::from(vec![name.to_string()]))),
            ("score", arr(Float64Array::from(vec![1.0]))),
        ])
    };
    let cases: Vec<(Vec<RecordBatch>, OnlineLayout, &str)> = vec![
        (
            vec![people(&[1, 7], &["x", "y"], &[Some(9.0), Some(f64::NAN)])],
            l.clone(),
            "column `score` holds NaN for key id=7; MySQL cannot store NaN or infinity — fix or filter these rows",
        ),
        (
            vec![people(&[3], &["x"], &[Some(f64::INFINITY)])],
            l.clone(),
            "column `score` holds infinity for key id=3",
        ),
        (
            vec![batch(vec![
                ("id", arr(Int64Array::from(vec![Some(1), None]))),
                ("name", arr(StringArray::from(vec!["x", "y"]))),
                ("score", arr(Float64Array::from(vec![1.0, 2.0]))),
            ])],
            l.clone(),
            "primary key column `id` holds NULL (row 2 of the data",
        ),
        (
            vec![name_key(&"k".repeat(101))],
            layout(&name_key("k"), &["name"], None),
            "primary key column `name` holds a value of 101 characters (limit 100)",
        ),
        (
            vec![
                people(&[1, 2], &["x", "y"], &[None, None]),
                people(&[5, 2], &["z", "w"], &[None, None]),
            ],
            l.clone(),
            "primary key id=2 occurs more than once",
        ),
    ];
    for (batches, layout, want) in cases {
        for mode in [WriteMode::Merge, WriteMode::Overwrite] {
            let e = write(&store, &layout, mode, batches.clone(), 2)
                .await
                .unwrap_err();
            assert_eq!(e.kind, StoreErrorKind::InvalidData, "{want}: {e}");
            assert!(
                e.message.contains(want),
                "expected `{want}` in `{}`",
                e.message
            );
            assert_eq!(h.rows(TABLE).await, before, "{want}");
            assert_eq!(names(&h.columns(TABLE).await), ["id", "name", "score"]);
            assert_eq!(
                store.describe(TABLE).await.unwrap().unwrap().delta_version,
                1
            );
            assert!(staging_tables(&h.tables().await).is_empty());
        }
    }
}

pub async fn bookkeeping_holds_the_published_version<H: Harness>(h: &H) {
    let store = h.store().await;
    assert!(store.describe(TABLE).await.unwrap().is_none());
    assert!(store.list().await.unwrap().is_empty());
    let b = people(&[1], &["a"], &[None]);
    let l = layout(&b, &["id"], None);
    write(&store, &l, WriteMode::Merge, vec![b.clone()], 3)
        .await
        .unwrap();
    let d = store.describe(TABLE).await.unwrap().unwrap();
    assert_eq!(
        (d.feature_table.as_str(), d.delta_version, d.mode.as_str()),
        (FEATURE_TABLE, 3, "merge")
    );
    assert_eq!(d.layout, l);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now - d.published_at).abs() < 120,
        "published_at {}",
        d.published_at
    );

    write(&store, &l, WriteMode::Overwrite, vec![b], 5)
        .await
        .unwrap();
    let all = store.list().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].delta_version, all[0].mode.as_str()),
        (5, "overwrite")
    );
    // A second store on the same database sees the same bookkeeping.
    let again = h.store().await;
    assert_eq!(
        again.describe(TABLE).await.unwrap().unwrap().delta_version,
        5
    );
}

pub async fn drop_table_is_idempotent<H: Harness>(h: &H) {
    let store = h.store().await;
    store.drop_table(TABLE).await.unwrap();
    let b = people(&[1], &["a"], &[None]);
    write(
        &store,
        &layout(&b, &["id"], None),
        WriteMode::Merge,
        vec![b],
        1,
    )
    .await
    .unwrap();
    store.drop_table(TABLE).await.unwrap();
    store.drop_table(TABLE).await.unwrap();
    assert!(store.describe(TABLE).await.unwrap().is_none());
    assert!(!h.tables().await.iter().any(|t| t == TABLE));
    let e = store
        .lookup(TABLE, &[vec![Value::Int(1)]], None)
        .await
        .unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::MissingTable);
}

/// `lookup_in` skips the bookkeeping read; after a publish changed the table, a lookup with the
/// old layout must fail with a kind the server retries on (never return wrong values).
pub async fn lookup_in_with_a_stale_layout_fails_so_the_caller_can_reread<H: Harness>(h: &H) {
    let store = h.store().await;
    let b = batch(vec![
        ("id", arr(Int64Array::from(vec![1, 2]))),
        ("a", arr(Int64Array::from(vec![10, 20]))),
        ("b", arr(StringArray::from(vec!["x", "y"]))),
    ]);
    write(
        &store,
        &layout(&b, &["id"], None),
        WriteMode::Merge,
        vec![b],
        1,
    )
    .await
    .unwrap();
    let old = store.describe(TABLE).await.unwrap().unwrap().layout;
    let key = [vec![Value::Int(2)]];
    let got = store.lookup_in(&old, &key, None).await.unwrap();
    assert_eq!(
        got.rows,
        vec![Some(vec![Value::Int(20), Value::String("y".into())])]
    );

    // Column b dropped, a now a string.
    let b = batch(vec![
        ("id", arr(Int64Array::from(vec![2]))),
        ("a", arr(StringArray::from(vec!["twenty"]))),
    ]);
    let new = layout(&b, &["id"], None);
    write(&store, &new, WriteMode::Overwrite, vec![b], 2)
        .await
        .unwrap();
    let gone = ["b".to_string()];
    let e = store.lookup_in(&old, &key, Some(&gone)).await.unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::BadRequest, "{e}");
    let retyped = ["a".to_string()];
    let e = store
        .lookup_in(&old, &key, Some(&retyped))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.kind,
            StoreErrorKind::BadRequest | StoreErrorKind::Database
        ),
        "{e:?}"
    );
    let got = store.lookup_in(&new, &key, None).await.unwrap();
    assert_eq!(got.rows, vec![Some(vec![Value::String("twenty".into())])]);

    store.drop_table(TABLE).await.unwrap();
    let e = store.lookup_in(&new, &key, None).await.unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::MissingTable, "{e}");
}

pub async fn health_round_trips<H: Harness>(h: &H) {
    h.store().await.health().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Change sets (incremental publishing) and preconditions

fn source(table_id: &str) -> PublishSource {
    PublishSource {
        table_id: table_id.into(),
        filter: Some("score > 0".into()),
        columns: vec!["id".into(), "name".into(), "score".into()],
    }
}

fn meta(version: i64, expect: Expect) -> WriteMeta {
    WriteMeta {
        record: record(version),
        source: Some(source("t-1")),
        expect,
    }
}

fn changes(upserts: Vec<RecordBatch>, deletes: Vec<RecordBatch>, complete: bool) -> Rows {
    Rows::Changes(ChangeSet {
        upserts,
        deletes,
        complete,
        whole_view: false,
    })
}

/// A change set whose upserts are the whole new view and whose deletes are the keys that leave.
fn whole_view(upserts: Vec<RecordBatch>, deletes: Vec<RecordBatch>) -> Rows {
    Rows::Changes(ChangeSet {
        upserts,
        deletes,
        complete: false,
        whole_view: true,
    })
}

fn ids(v: &[i64]) -> RecordBatch {
    batch(vec![("id", arr(Int64Array::from(v.to_vec())))])
}

async fn apply(store: &OnlineStore, l: &OnlineLayout, rows: Rows, m: WriteMeta) -> WriteReport {
    match store.apply(l, rows, &m, &NoProgress).await.unwrap() {
        Applied::Written(r) => r,
        other => panic!("expected a write, got {other:?}"),
    }
}

pub async fn changes_delete_then_upsert_in_one_write<H: Harness>(h: &H) {
    let store = h.store().await;
    let b = people(
        &[1, 2, 3],
        &["a", "b", "c"],
        &[Some(1.0), Some(2.0), Some(3.0)],
    );
    let l = layout(&b, &["id"], None);
    let m = meta(1, Expect::Any);
    apply(&store, &l, Rows::Merge(RowStream::from_batches(vec![b])), m).await;
    let d = store.describe(TABLE).await.unwrap().unwrap();
    assert_eq!(d.source, Some(source("t-1")));

    // Update 2, insert 4, delete 3 (and 99, which is not online: not an error).
    let up = people(&[2, 4], &["B", "d"], &[Some(20.0), None]);
    let r = apply(
        &store,
        &l,
        changes(vec![up], vec![ids(&[3, 99])], false),
        meta(2, Expect::Exactly(1)),
    )
    .await;
    assert_counts(&r, 2, 1, 1, 0, 1);
    assert_eq!(
        sorted(h.rows(TABLE).await),
        vec![
            vec![s("1"), s("a"), s("1")],
            vec![s("2"), s("B"), s("20")],
            vec![s("4"), s("d"), None],
        ]
    );
    let d = store.describe(TABLE).await.unwrap().unwrap();
    assert_eq!((d.delta_version, d.mode.as_str()), (2, "merge"));
    // Deletes only, and a key batch with extra columns (ignored).
    let r = apply(
        &store,
        &l,
        changes(vec![], vec![people(&[1], &["x"], &[None])], false),
        meta(3, Expect::Exactly(2)),
    )
    .await;
    assert_counts(&r, 0, 0, 0, 0, 1);
    assert_eq!(h.rows(TABLE).await.len(), 2);
    assert!(staging_tables(&h.tables().await).is_empty());
}

pub async fn changes_create_the_table_when_it_is_missing<H: Harness>(h: &H) {
    let store = h.store().await;
    let b = people(&[1, 2], &["a", "b"], &[None, Some(2.5)]);
    let l = layout(&b, &["id"], None);
    let r = apply(
        &store,
        &l,
        changes(vec![b], vec![ids(&[7])], false),
        meta(4, Expect::AtMost(4)),
    )
    .await;
    assert_counts(&r, 2, 2, 0, 0, 0);
    assert_eq!(h.rows(TABLE).await.len(), 2);
    assert_eq!(
        store.describe(TABLE).await.unwrap().unwrap().delta_version,
        4
    );
}

pub async fn whole_view_changes_write_what_the_change_writes<H: Harness>(h: &H) {
    let store = h.store().await;
    let b = people(
        &[1, 2, 3, 4, 5],
        &["a", "b", "c", "d", "e"],
        &[Some(1.0), Some(2.0), Some(3.0), Some(4.0), Some(5.0)],
    );
    let l = layout(&b, &["id"], None);
    apply(
        &store,
        &l,
        Rows::Merge(RowStream::from_batches(vec![b])),
        meta(1, Expect::Any),
    )
    .await;
    // 1 changes, 2 stays as it is, 6 is new; 3, 4 and 5 leave.
    let up = people(&[1, 2, 6], &["A", "b", "f"], &[Some(10.0), Some(2.0), None]);
    let r = apply(
        &store,
        &l,
        whole_view(vec![up], vec![ids(&[3, 4, 5])]),
        meta(2, Expect::Exactly(1)),
    )
    .await;
    assert_counts(&r, 3, 1, 2, 0, 3);
    assert_eq!(
        sorted(h.rows(TABLE).await),
        vec![
            vec![s("1"), s("A"), s("10")],
            vec![s("2"), s("b"), s("2")],
            vec![s("6"), s("f"), None],
        ]
    );
    let d = store.describe(TABLE).await.unwrap().unwrap();
    assert_eq!((d.delta_version, d.mode.as_str()), (2, "merge"));
    assert_eq!(d.layout, l);
    assert!(staging_tables(&h.tables().await).is_empty());

    // A publication without `name`: the online `name` values stay (no new table for it).
    let narrow_rows = |ids: Vec<i64>, scores: Vec<Option<f64>>| {
        batch(vec![
            ("id", arr(Int64Array::from(ids))),
            ("score", arr(Float64Array::from(scores))),
        ])
    };
    let b = narrow_rows(vec![1, 6, 7], vec![Some(11.0), Some(6.0), Some(7.0)]);
    let narrow = layout(&b, &["id"], None);
    let r = apply(
        &store,
        &narrow,
        whole_view(vec![b], vec![ids(&[2])]),
        meta(3, Expect::Exactly(2)),
    )
    .await;
    assert_counts(&r, 3, 1, 2, 0, 1);
    assert_eq!(
        sorted(h.rows(TABLE).await),
        vec![
            vec![s("1"), s("A"), s("11")],
            vec![s("6"), s("f"), s("6")],
            vec![s("7"), None, s("7")],
        ]
    );
    assert!(staging_tables(&h.tables().await).is_empty());
}

pub async fn complete_changes_make_the_table_exactly_the_rows<H: Harness>(h: &H) {
    let store = h.store().await;
    let ts = |v: Vec<i64>| arr(TimestampMicrosecondArray::from(v).with_timezone("UTC"));
    let b = batch(vec![
        ("id", arr(Int64Array::from(vec![1, 2, 3]))),
        ("ts", ts(vec![10, 10, 10])),
        ("v", arr(Int64Array::from(vec![1, 1, 1]))),
        ("extra", arr(StringArray::from(vec!["x", "y", "z"]))),
    ]);
    let wide = layout(&b, &["id"], Some("ts"));
    apply(
        &store,
        &wide,
        Rows::Merge(RowStream::from_batches(vec![b])),
        meta(1, Expect::Any),
    )
    .await;
    // The publication has no `extra`: kept keys keep it; 1 goes; 2 goes back in time; 4 is new.
    let b = batch(vec![
        ("id", arr(Int64Array::from(vec![2, 3, 4]))),
        ("ts", ts(vec![5, 10, 1])),
        ("v", arr(Int64Array::from(vec![2, 3, 4]))),
    ]);
    let narrow = layout(&b, &["id"], Some("ts"));
    let r = apply(
        &store,
        &narrow,
        changes(vec![b], vec![], true),
        meta(2, Expect::AtMost(2)),
    )
    .await;
    assert_counts(&r, 3, 1, 2, 0, 1);
    let rows = sorted(h.rows(TABLE).await);
    let got: Vec<(Option<String>, Option<String>, Option<String>)> = rows
        .into_iter()
        .map(|r| (r[0].clone(), r[2].clone(), r[3].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (s("2"), s("2"), s("y")),
            (s("3"), s("3"), s("z")),
            (s("4"), s("4"), None),
        ]
    );
    let got = store
        .lookup(TABLE, &[vec![Value::Int(2)]], Some(&["ts".to_string()]))
        .await
        .unwrap();
    assert_eq!(got.rows, vec![Some(vec![Value::Timestamp(5)])]);
    // Complete and empty: the table is emptied, and stays.
    let r = apply(
        &store,
        &narrow,
        changes(vec![], vec![], true),
        meta(3, Expect::AtMost(3)),
    )
    .await;
    assert_eq!(r.deleted, 3);
    assert!(h.rows(TABLE).await.is_empty());
    assert!(h.tables().await.iter().any(|t| t == TABLE));
}

pub async fn time_series_changes_replace_keys_that_lost_their_newest_row<H: Harness>(h: &H) {
    let store = h.store().await;
    let ts = |v: Vec<i64>| arr(TimestampMicrosecondArray::from(v).with_timezone("UTC"));
    let b = batch(vec![
        ("id", arr(Int64Array::from(vec![1, 2]))),
        ("ts", ts(vec![10_000_000, 10_000_000])),
        ("v", arr(Int64Array::from(vec![1, 1]))),
    ]);
    let l = layout(&b, &["id"], Some("ts"));
    apply(
        &store,
        &l,
        Rows::Merge(RowStream::from_batches(vec![b])),
        meta(1, Expect::Any),
    )
    .await;
    // 1 lost its newest row offline: deleted and replaced by an older one. 2 gets an older
    // row without a delete: never regresses.
    let up = batch(vec![
        ("id", arr(Int64Array::from(vec![1, 2]))),
        ("ts", ts(vec![5_000_000, 5_000_000])),
        ("v", arr(Int64Array::from(vec![7, 7]))),
    ]);
    let r = apply(
        &store,
        &l,
        changes(vec![up], vec![ids(&[1])], false),
        meta(2, Expect::Exactly(1)),
    )
    .await;
    assert_eq!((r.deleted, r.inserted, r.skipped_older), (1, 1, 1));
    let got = store
        .lookup(TABLE, &[1, 2].map(|i| vec![Value::Int(i)]), None)
        .await
        .unwrap();
    assert_eq!(
        got.rows,
        vec![
            Some(vec![Value::Timestamp(5_000_000), Value::Int(7)]),
            Some(vec![Value::Timestamp(10_000_000), Value::Int(1)]),
        ]
    );
}

pub async fn writes_check_the_recorded_version_and_write_nothing_on_conflict<H: Harness>(h: &H) {
    let store = h.store().await;
    let b = people(&[1], &["a"], &[None]);
    let l = layout(&b, &["id"], None);
    // Exactly(..) needs a row: none yet.
    let got = store
        .apply(
            &l,
            changes(vec![b.clone()], vec![], false),
            &meta(1, Expect::Exactly(0)),
            &NoProgress,
        )
        .await
        .unwrap();
    assert_eq!(
        got,
        Applied::Conflict {
            recorded_version: None
        }
    );
    assert!(!h.tables().await.iter().any(|t| t == TABLE));
    apply(
        &store,
        &l,
        Rows::Merge(RowStream::from_batches(vec![b])),
        meta(5, Expect::AtMost(5)),
    )
    .await;

    let other = people(&[1, 2], &["z", "z"], &[None, None]);
    for (rows, expect) in [
        (
            changes(vec![other.clone()], vec![ids(&[1])], false),
            Expect::Exactly(4),
        ),
        (
            Rows::Merge(RowStream::from_batches(vec![other.clone()])),
            Expect::AtMost(4),
        ),
        (
            Rows::Overwrite(RowStream::from_batches(vec![other.clone()])),
            Expect::AtMost(4),
        ),
    ] {
        let got = store
            .apply(&l, rows, &meta(6, expect), &NoProgress)
            .await
            .unwrap();
        assert_eq!(
            got,
            Applied::Conflict {
                recorded_version: Some(5)
            },
            "{expect:?}"
        );
        assert_eq!(h.rows(TABLE).await, vec![vec![s("1"), s("a"), None]]);
        assert_eq!(
            store.describe(TABLE).await.unwrap().unwrap().delta_version,
            5
        );
    }
    // Another Delta table (re-created under the same name) is not held to the old versions.
    let m = WriteMeta {
        source: Some(source("t-2")),
        ..meta(1, Expect::AtMost(1))
    };
    apply(
        &store,
        &l,
        Rows::Overwrite(RowStream::from_batches(vec![other])),
        m,
    )
    .await;
    let d = store.describe(TABLE).await.unwrap().unwrap();
    assert_eq!(
        (d.delta_version, d.source.unwrap().table_id.as_str()),
        (1, "t-2")
    );
    assert!(staging_tables(&h.tables().await).is_empty());
}

pub async fn a_failed_change_set_writes_nothing<H: Harness>(h: &H) {
    let store = h.store().await;
    let b = people(&[1, 2], &["a", "b"], &[None, None]);
    let l = layout(&b, &["id"], None);
    apply(
        &store,
        &l,
        Rows::Merge(RowStream::from_batches(vec![b])),
        meta(1, Expect::Any),
    )
    .await;
    // A NaN among the upserts: refused before the deletes run.
    let bad = people(&[3], &["c"], &[Some(f64::NAN)]);
    let e = store
        .apply(
            &l,
            changes(vec![bad], vec![ids(&[1])], false),
            &meta(2, Expect::Exactly(1)),
            &NoProgress,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::InvalidData);
    // A NULL key among the deletes.
    let null_key = batch(vec![("id", arr(Int64Array::from(vec![Some(2), None])))]);
    let e = store
        .apply(
            &l,
            changes(vec![], vec![null_key], false),
            &meta(2, Expect::Exactly(1)),
            &NoProgress,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::InvalidData);
    assert_eq!(h.rows(TABLE).await.len(), 2);
    assert_eq!(
        store.describe(TABLE).await.unwrap().unwrap().delta_version,
        1
    );
    assert!(staging_tables(&h.tables().await).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Streamed writes (full publishes)

/// `batches` as a stream the backend reads in chunks of `chunk_rows` rows.
fn stream(batches: Vec<RecordBatch>, chunk_rows: usize) -> RowStream {
    RowStream::from_batches(batches).with_chunk_rows(chunk_rows)
}

/// A full publish whose stream holds a bad value in its last chunk, after several good chunks
/// went to the database: the live table, its bookkeeping row and the table list stay exactly
/// as they were, for every streamed kind of write.
pub async fn a_bad_value_in_the_last_chunk_of_a_stream_writes_nothing<H: Harness>(h: &H) {
    let store = h.store().await;
    let first = numbered(0..1_000, 1, 100);
    let l = layout(&first[0], &["id"], None);
    apply(
        &store,
        &l,
        Rows::Merge(stream(first, 300)),
        meta(1, Expect::Any),
    )
    .await;
    let rows_before = h.rows(TABLE).await;
    let book_before = store.describe(TABLE).await.unwrap();
    let tables_before = h.tables().await;

    let bad_tail = || {
        let mut b = numbered(0..5_000, 2, 500);
        b.push(batch(vec![
            ("id", arr(Int64Array::from(vec![Some(9_000), None]))),
            ("v", arr(Int64Array::from(vec![2, 2]))),
            ("label", arr(StringArray::from(vec!["x", "y"]))),
        ]));
        stream(b, 1_000)
    };
    for (what, rows) in [
        ("merge", Rows::Merge(bad_tail())),
        ("overwrite", Rows::Overwrite(bad_tail())),
        ("sync", Rows::Sync(bad_tail())),
    ] {
        let e = store
            .apply(&l, rows, &meta(2, Expect::AtMost(2)), &NoProgress)
            .await
            .unwrap_err();
        assert_eq!(e.kind, StoreErrorKind::InvalidData, "{what}: {e}");
        assert!(
            e.message.contains("primary key column `id` holds NULL"),
            "{what}: {}",
            e.message
        );
        assert_eq!(h.rows(TABLE).await, rows_before, "{what}: rows changed");
        assert_eq!(
            store.describe(TABLE).await.unwrap(),
            book_before,
            "{what}: bookkeeping changed"
        );
        assert_eq!(
            h.tables().await,
            tables_before,
            "{what}: tables left behind"
        );
    }
    // The first publish too: no table, no bookkeeping row, nothing left behind.
    store.drop_table(TABLE).await.unwrap();
    let e = store
        .apply(
            &l,
            Rows::Merge(bad_tail()),
            &meta(2, Expect::Any),
            &NoProgress,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::InvalidData, "{e}");
    assert_eq!(store.describe(TABLE).await.unwrap(), None);
    assert!(staging_tables(&h.tables().await).is_empty());
    assert!(!h.tables().await.contains(&TABLE.to_string()));
}

/// Streamed writes of many chunks count rows like one write of all of them.
pub async fn streamed_writes_count_across_chunks<H: Harness>(h: &H) {
    let store = h.store().await;
    let first = numbered(0..1_000, 1, 100);
    let l = layout(&first[0], &["id"], None);
    let r = apply(
        &store,
        &l,
        Rows::Merge(stream(first, 300)),
        meta(1, Expect::Any),
    )
    .await;
    assert_counts(&r, 1_000, 1_000, 0, 0, 0);
    // The complete view 500..5000: 500 keys leave, 500 stay (replaced), 4000 are new.
    let view = numbered(500..5_000, 2, 400);
    let r = apply(
        &store,
        &l,
        Rows::Sync(stream(view, 1_000)),
        meta(2, Expect::AtMost(2)),
    )
    .await;
    assert_counts(&r, 4_500, 4_000, 500, 0, 500);
    let rows = h.rows(TABLE).await;
    assert_eq!(rows.len(), 4_500);
    assert!(rows.iter().all(|r| r[1] == s("2")), "every row has v = 2");
    assert_eq!(
        store.describe(TABLE).await.unwrap().unwrap().delta_version,
        2
    );
    let r = apply(
        &store,
        &l,
        Rows::Overwrite(stream(numbered(0..2_000, 3, 250), 700)),
        meta(3, Expect::AtMost(3)),
    )
    .await;
    assert_counts(&r, 2_000, 500, 1_500, 0, 3_000);
    assert_eq!(h.rows(TABLE).await.len(), 2_000);
    assert!(staging_tables(&h.tables().await).is_empty());
}
