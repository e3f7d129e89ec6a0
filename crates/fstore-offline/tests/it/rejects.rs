//! Every rejected input: a clear message, and nothing written.

use std::sync::Arc;

use deltalake::arrow::array::{ArrayRef, UInt64Array};
use fstore_offline::{Error, ErrorKind, WriteMode};
use tempfile::TempDir;

use crate::common::*;

/// Asserts that `create` failed and left no table behind.
async fn assert_not_created(store: &fstore_offline::OfflineStore, dir: &TempDir, table: &str) {
    assert!(matches!(
        store.open(&name(table)).await.unwrap_err(),
        Error::TableNotFound { .. }
    ));
    let n = name(table);
    let path = dir.path().join("offline").join(n.schema()).join(n.table());
    assert!(
        !path.join("_delta_log").exists(),
        "no Delta log at {}",
        path.display()
    );
    let leftovers: Vec<_> = std::fs::read_dir(&path)
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "no data files left: {leftovers:?}");
}

async fn create_err(
    store: &fstore_offline::OfflineStore,
    pks: &[&str],
    ts: Option<&str>,
    b: deltalake::arrow::array::RecordBatch,
) -> Error {
    store
        .create(&name("s.bad"), spec(pks, ts), b.schema(), vec![b], vec![])
        .await
        .unwrap_err()
}

async fn write_err(
    store: &fstore_offline::OfflineStore,
    b: deltalake::arrow::array::RecordBatch,
    mode: WriteMode,
) -> Error {
    let e = store.write(&name("s.p"), vec![b], mode).await.unwrap_err();
    assert_eq!(
        delta_version(store, "s.p").await,
        0,
        "the table version did not change"
    );
    e
}

#[tokio::test]
async fn duplicate_keys_are_refused() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let dup = batch(vec![
        ("PassengerId", ints(&[7, 8, 7])),
        ("Age", floats(&[Some(1.0), None, Some(2.0)])),
    ]);
    let e = create_err(&store, &["PassengerId"], None, dup.clone()).await;
    assert!(matches!(e, Error::DuplicateKey { .. }));
    assert!(
        e.to_string().starts_with(
            "duplicate key PassengerId=7 appears 2 times in the input for `s.bad` (rows 1, 3)"
        ),
        "{e}"
    );
    assert_eq!(e.kind(), ErrorKind::BadInput);
    assert_not_created(&store, &dir, "s.bad").await;

    create_passengers(&store, "s.p").await;
    for mode in [WriteMode::Merge, WriteMode::Overwrite] {
        let e = write_err(&store, dup.clone(), mode).await;
        assert!(
            e.to_string()
                .contains("duplicate key PassengerId=7 appears 2 times"),
            "{e}"
        );
    }
}

#[tokio::test]
async fn duplicate_key_and_timestamp_pairs_are_refused_but_distinct_timestamps_are_fine() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let ok = batch(vec![("id", ints(&[1, 1])), ("ts", micros(&[1, 2]))]);
    store
        .create(
            &name("s.ok"),
            spec(&["id"], Some("ts")),
            ok.schema(),
            vec![ok],
            vec![],
        )
        .await
        .unwrap();
    let dup = batch(vec![("id", ints(&[1, 1])), ("ts", micros(&[1, 1]))]);
    let e = create_err(&store, &["id"], Some("ts"), dup).await;
    assert!(
        e.to_string()
            .contains("duplicate key (id=1, ts='1970-01-01T00:00:00.000001Z') appears 2 times"),
        "{e}"
    );
    assert_not_created(&store, &dir, "s.bad").await;
}

#[tokio::test]
async fn null_keys_are_refused() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let nulls = batch(vec![
        (
            "PassengerId",
            Arc::new(deltalake::arrow::array::Int64Array::from(vec![
                Some(1),
                Some(2),
                None,
            ])) as ArrayRef,
        ),
        ("Age", floats(&[None, None, None])),
    ]);
    let e = create_err(&store, &["PassengerId"], None, nulls.clone()).await;
    assert_eq!(
        e.to_string(),
        "input for `s.bad` has NULL in key column `PassengerId` at row 3 (1-based); key columns may not be NULL"
    );
    assert_not_created(&store, &dir, "s.bad").await;

    create_passengers(&store, "s.p").await;
    let e = write_err(&store, nulls, WriteMode::Merge).await;
    assert!(matches!(e, Error::NullKey { row: 3, .. }), "{e}");

    // The timestamp key counts as a key.
    let ts_null = batch(vec![
        ("id", ints(&[1])),
        (
            "ts",
            Arc::new(
                deltalake::arrow::array::TimestampMicrosecondArray::from(vec![None::<i64>])
                    .with_timezone("UTC"),
            ) as ArrayRef,
        ),
    ]);
    let e = create_err(&store, &["id"], Some("ts"), ts_null).await;
    assert!(
        e.to_string().contains("NULL in key column `ts` at row 1"),
        "{e}"
    );
}

#[tokio::test]
async fn missing_key_columns_are_refused() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let no_key = batch(vec![("Age", floats(&[Some(1.0)]))]);
    let e = create_err(&store, &["PassengerId"], None, no_key.clone()).await;
    assert!(
        e.to_string()
            .contains("key column `PassengerId` is not in the data"),
        "{e}"
    );
    assert_not_created(&store, &dir, "s.bad").await;

    create_passengers(&store, "s.p").await;
    for mode in [WriteMode::Merge, WriteMode::Overwrite] {
        let e = write_err(&store, no_key.clone(), mode).await;
        assert_eq!(
            e.to_string(),
            "input for `s.p` has no key column `PassengerId`; every write must include all key columns (PassengerId)"
        );
    }
}

#[tokio::test]
async fn type_conflicts_are_refused() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    create_passengers(&store, "s.p").await;
    let conflict = batch(vec![
        ("PassengerId", ints(&[1])),
        ("Age", strs(&[Some("thirty")])),
    ]);
    let e = write_err(&store, conflict, WriteMode::Merge).await;
    assert!(
        e.to_string()
            .starts_with("column `Age` is STRING in the input but DOUBLE in the table `s.p`"),
        "{e}"
    );
    // A cast that would change values is refused too: 2^53 + 1 has no exact double.
    let lossy = batch(vec![
        ("PassengerId", ints(&[1])),
        ("Age", ints(&[9_007_199_254_740_993])),
    ]);
    let e = write_err(&store, lossy, WriteMode::Overwrite).await;
    assert!(matches!(e, Error::LossyValue { .. }), "{e}");
    assert!(
        e.to_string().contains("column `Age` of `s.p`") && e.to_string().contains("row 1"),
        "{e}"
    );
    // Columns differing only in case are refused rather than silently added.
    let case = batch(vec![
        ("PassengerId", ints(&[1])),
        ("age", floats(&[Some(1.0)])),
    ]);
    let e = write_err(&store, case, WriteMode::Merge).await;
    assert!(matches!(e, Error::ColumnCaseConflict { .. }), "{e}");
}

#[tokio::test]
async fn unsupported_types_are_refused() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let big = batch(vec![
        ("PassengerId", ints(&[1])),
        ("Huge", Arc::new(UInt64Array::from(vec![1u64])) as ArrayRef),
    ]);
    let e = create_err(&store, &["PassengerId"], None, big.clone()).await;
    assert!(
        e.to_string().contains("column `Huge` has type UInt64"),
        "{e}"
    );
    assert_not_created(&store, &dir, "s.bad").await;

    create_passengers(&store, "s.p").await;
    let e = write_err(&store, big, WriteMode::Merge).await;
    assert!(
        e.to_string().contains("cast it to a signed 64-bit integer"),
        "{e}"
    );
}

#[tokio::test]
async fn writing_to_a_missing_table_is_refused() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let e = store
        .write(&name("s.none"), vec![passengers()], WriteMode::Merge)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TableNotFound { .. }), "{e}");
    assert!(!dir.path().join("offline/s/none").exists());
}
