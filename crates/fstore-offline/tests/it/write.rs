//! `write`: merge semantics, schema evolution, overwrite, lossless casts, spec survival.

use std::sync::Arc;

use deltalake::arrow::array::{ArrayRef, Int32Array, StringViewArray};
use fstore_offline::{WriteMode, WriteOutcome};
use tempfile::TempDir;

use crate::common::*;

#[tokio::test]
async fn merge_updates_only_given_columns_inserts_new_keys_and_evolves_the_schema() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let before = create_passengers(&store, "default.passengers").await;
    let table_id = before
        .delta()
        .snapshot()
        .unwrap()
        .metadata()
        .id()
        .to_string();

    let changes = batch(vec![
        ("PassengerId", ints(&[2, 99])),
        ("Age", floats(&[Some(39.0), Some(5.0)])),
        ("Embarked", strs(&[Some("C"), Some("S")])),
    ]);
    let out = store
        .write(&name("default.passengers"), vec![changes], WriteMode::Merge)
        .await
        .unwrap();
    assert_eq!(out.rows, 2);
    assert_eq!(out.rows_inserted, 1);
    assert_eq!(out.rows_updated, 1);
    assert_eq!(out.new_columns, ["Embarked"]);
    assert_eq!(out.version, 2, "ADD COLUMNS then MERGE");

    let t = store.open(&name("default.passengers")).await.unwrap();
    assert_eq!(t.version, 2);
    assert_eq!(
        column_names(&t.schema),
        ["PassengerId", "Name", "Age", "Fare", "Embarked"]
    );
    assert_eq!(
        rows(&t.scan(None, None).await.unwrap(), &["PassengerId"]),
        [
            "1|Braund|22.0|7.25|NULL",
            "2|Cumings|39.0|71.28|C", // Name and Fare untouched
            "3|Heikkinen|26.0|7.92|NULL",
            "99|NULL|5.0|NULL|S", // missing columns are NULL
        ]
    );
    // The spec, description and table identity survive schema evolution.
    assert_eq!(t.spec, before.spec);
    assert_eq!(t.delta().snapshot().unwrap().metadata().id(), table_id);
}

#[tokio::test]
async fn merge_with_only_keys_inserts_new_rows_and_changes_nothing_else() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    create_passengers(&store, "s.p").await;
    let out = store
        .write(
            &name("s.p"),
            vec![batch(vec![("PassengerId", ints(&[3, 4]))])],
            WriteMode::Merge,
        )
        .await
        .unwrap();
    assert_eq!((out.rows_inserted, out.rows_updated), (1, 0));
    let t = store.open(&name("s.p")).await.unwrap();
    assert_eq!(
        rows(&t.scan(None, None).await.unwrap(), &["PassengerId"])[2..],
        ["3|Heikkinen|26.0|7.92", "4|NULL|NULL|NULL"]
    );
}

#[tokio::test]
async fn merge_casts_losslessly_to_the_table_types() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    create_passengers(&store, "s.p").await;
    // Int32 key into an Int64 column, a string view into a string column.
    let changes = batch(vec![
        (
            "PassengerId",
            Arc::new(Int32Array::from(vec![1])) as ArrayRef,
        ),
        (
            "Name",
            Arc::new(StringViewArray::from(vec!["Braund, Mr. Owen"])),
        ),
        ("Age", Arc::new(Int32Array::from(vec![23]))),
    ]);
    store
        .write(&name("s.p"), vec![changes], WriteMode::Merge)
        .await
        .unwrap();
    let t = store.open(&name("s.p")).await.unwrap();
    assert_eq!(
        column_names(&t.schema),
        ["PassengerId", "Name", "Age", "Fare"],
        "no new columns"
    );
    assert_eq!(
        rows(&t.scan(None, Some("PassengerId = 1")).await.unwrap(), &[]),
        ["1|Braund, Mr. Owen|23.0|7.25"]
    );
}

#[tokio::test]
async fn merge_on_a_time_series_table_matches_key_and_timestamp() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let b = batch(vec![
        ("id", ints(&[1, 1, 2])),
        ("ts", micros(&[1_000_000, 2_000_000, 1_000_000])),
        ("x", floats(&[Some(1.0), Some(2.0), Some(3.0)])),
    ]);
    store
        .create(
            &name("s.ts"),
            spec(&["id"], Some("ts")),
            b.schema(),
            vec![b],
            vec![],
        )
        .await
        .unwrap();
    let changes = batch(vec![
        ("id", ints(&[1, 1])),
        ("ts", micros(&[2_000_000, 3_000_000])),
        ("x", floats(&[Some(20.0), Some(30.0)])),
    ]);
    let out = store
        .write(&name("s.ts"), vec![changes], WriteMode::Merge)
        .await
        .unwrap();
    assert_eq!((out.rows_inserted, out.rows_updated), (1, 1));
    let t = store.open(&name("s.ts")).await.unwrap();
    assert_eq!(
        rows(&t.scan(None, None).await.unwrap(), &["id", "ts"]),
        [
            "1|1970-01-01T00:00:01Z|1.0",
            "1|1970-01-01T00:00:02Z|20.0",
            "1|1970-01-01T00:00:03Z|30.0",
            "2|1970-01-01T00:00:01Z|3.0",
        ]
    );
}

#[tokio::test]
async fn overwrite_replaces_the_rows_and_allows_new_columns() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let before = create_passengers(&store, "default.passengers").await;
    let input = batch(vec![
        ("PassengerId", ints(&[10, 11])),
        ("Age", floats(&[Some(1.0), None])),
        ("Survived", ints(&[1, 0])),
    ]);
    let out = store
        .write(
            &name("default.passengers"),
            vec![input],
            WriteMode::Overwrite,
        )
        .await
        .unwrap();
    assert_eq!(out.version, 1);
    assert_eq!(out.rows_inserted, 2);
    assert_eq!(out.rows_deleted, Some(3));
    assert_eq!(out.new_columns, ["Survived"]);
    assert!(out.files_added >= 1 && out.files_removed >= 1, "{out:?}");

    let t = store.open(&name("default.passengers")).await.unwrap();
    assert_eq!(
        column_names(&t.schema),
        ["PassengerId", "Name", "Age", "Fare", "Survived"]
    );
    assert_eq!(
        rows(&t.scan(None, None).await.unwrap(), &["PassengerId"]),
        ["10|NULL|1.0|NULL|1", "11|NULL|NULL|NULL|0"]
    );
    assert_eq!(t.spec, before.spec, "the spec survives an overwrite");
    assert_eq!(
        t.delta().snapshot().unwrap().metadata().id(),
        before.delta().snapshot().unwrap().metadata().id()
    );

    // An empty batch empties the table.
    let empty = deltalake::arrow::array::RecordBatch::new_empty(
        batch(vec![("PassengerId", ints(&[]))]).schema(),
    );
    store
        .write(
            &name("default.passengers"),
            vec![empty],
            WriteMode::Overwrite,
        )
        .await
        .unwrap();
    let t = store.open(&name("default.passengers")).await.unwrap();
    assert!(rows(&t.scan(None, None).await.unwrap(), &[]).is_empty());
    assert_eq!(t.spec, before.spec);
}

#[tokio::test]
async fn the_spec_survives_every_kind_of_write() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let created = create_passengers(&store, "s.p").await;
    let n = name("s.p");
    let writes: Vec<(WriteMode, deltalake::arrow::array::RecordBatch)> = vec![
        (
            WriteMode::Merge,
            batch(vec![
                ("PassengerId", ints(&[1])),
                ("Age", floats(&[Some(1.0)])),
            ]),
        ),
        (
            WriteMode::Merge,
            batch(vec![("PassengerId", ints(&[5])), ("New", ints(&[1]))]),
        ),
        (WriteMode::Overwrite, passengers()),
        (
            WriteMode::Overwrite,
            batch(vec![("PassengerId", ints(&[7])), ("Newer", ints(&[2]))]),
        ),
    ];
    let mut version = 0;
    for (mode, b) in writes {
        let out: WriteOutcome = store.write(&n, vec![b], mode).await.unwrap();
        assert!(out.version > version);
        version = out.version;
        let t = store.open(&n).await.unwrap();
        assert_eq!(t.spec, created.spec, "after {mode:?} to version {version}");
        let raw = deltalake::open_table(t.location.clone()).await.unwrap();
        assert_eq!(
            raw.snapshot().unwrap().metadata().description(),
            Some("Titanic passengers")
        );
    }
}

#[tokio::test]
async fn an_empty_merge_changes_nothing() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    create_passengers(&store, "s.p").await;
    let out = store
        .write(&name("s.p"), vec![], WriteMode::Merge)
        .await
        .unwrap();
    assert_eq!((out.version, out.rows), (0, 0));
    let empty = deltalake::arrow::array::RecordBatch::new_empty(passengers().schema());
    let out = store
        .write(&name("s.p"), vec![empty], WriteMode::Merge)
        .await
        .unwrap();
    assert_eq!((out.version, out.rows), (0, 0));
    assert_eq!(delta_version(&store, "s.p").await, 0);
}
