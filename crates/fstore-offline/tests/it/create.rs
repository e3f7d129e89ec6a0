//! `create`: round trips, spec in Delta metadata, partitions, canonical types.

use std::sync::Arc;

use deltalake::arrow::array::{
    ArrayRef, Int32Array, StringViewArray, TimestampNanosecondArray, UInt32Array,
};
use deltalake::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use fstore_core::spec::{PROP_PRIMARY_KEYS, PROP_TAGS};
use fstore_offline::Error;
use tempfile::TempDir;

use crate::common::*;

#[tokio::test]
async fn create_open_scan_round_trip_keeps_the_spec_in_delta_metadata() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let created = create_passengers(&store, "default.passengers").await;
    assert_eq!(created.version, 0, "data and metadata are one commit");

    let t = store.open(&name("default.passengers")).await.unwrap();
    assert_eq!(t.version, 0);
    assert_eq!(t.spec.primary_keys, vec!["PassengerId"]);
    assert_eq!(t.spec.timestamp_key, None);
    assert_eq!(t.spec.description.as_deref(), Some("Titanic passengers"));
    assert_eq!(t.spec.tags.get("team").map(String::as_str), Some("ml"));
    assert_eq!(
        column_names(&t.schema),
        ["PassengerId", "Name", "Age", "Fare"]
    );
    assert_eq!(t.location, store.table_url(&name("default.passengers")));
    assert!(
        t.location
            .to_file_path()
            .unwrap()
            .join("_delta_log")
            .is_dir()
    );

    let got = t.scan(None, None).await.unwrap();
    assert_eq!(
        got[0].schema(),
        t.schema,
        "scan returns the table's own Arrow types"
    );
    assert_eq!(
        rows(&got, &["PassengerId"]),
        [
            "1|Braund|22.0|7.25",
            "2|Cumings|38.0|71.28",
            "3|Heikkinen|26.0|7.92"
        ]
    );

    // Any Delta reader sees an ordinary table carrying the spec.
    let raw = deltalake::open_table(t.location.clone()).await.unwrap();
    let meta = raw.snapshot().unwrap().metadata().clone();
    assert_eq!(
        meta.configuration().get(PROP_PRIMARY_KEYS).unwrap(),
        r#"["PassengerId"]"#
    );
    assert_eq!(
        meta.configuration().get(PROP_TAGS).unwrap(),
        r#"{"team":"ml"}"#
    );
    assert_eq!(meta.description(), Some("Titanic passengers"));
    assert_eq!(meta.name(), Some("default.passengers"));
}

#[tokio::test]
async fn create_from_a_schema_alone_makes_an_empty_table() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let schema = passengers().schema();
    let t = store
        .create(
            &name("s.empty"),
            spec(&["PassengerId"], None),
            schema,
            vec![],
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(t.version, 0);
    assert!(rows(&t.scan(None, None).await.unwrap(), &[]).is_empty());
    assert_eq!(
        column_names(&t.schema),
        ["PassengerId", "Name", "Age", "Fare"]
    );
}

#[tokio::test]
async fn create_refuses_an_existing_table_and_leaves_it_alone() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    create_passengers(&store, "default.passengers").await;
    let b = passengers();
    let e = store
        .create(
            &name("default.passengers"),
            spec(&["PassengerId"], None),
            b.schema(),
            vec![b],
            vec![],
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TableExists { .. }));
    assert!(e.to_string().contains("already exists"), "{e}");
    assert!(e.to_string().contains("use `fstore tables write`"), "{e}");
    assert_eq!(delta_version(&store, "default.passengers").await, 0);
}

#[tokio::test]
async fn partitioned_tables_round_trip() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let b = batch(vec![
        ("id", ints(&[1, 2, 3, 4])),
        (
            "class",
            strs(&[Some("first"), Some("third"), Some("first"), Some("second")]),
        ),
        ("fare", floats(&[Some(1.0), Some(2.0), Some(3.0), None])),
    ]);
    let t = store
        .create(
            &name("s.part"),
            spec(&["id"], None),
            b.schema(),
            vec![b],
            vec!["class".into()],
        )
        .await
        .unwrap();
    assert_eq!(t.partition_columns, ["class"]);
    let dir = t.location.to_file_path().unwrap();
    assert!(dir.join("class=first").is_dir() && dir.join("class=third").is_dir());
    let got = t.scan(None, Some("class = 'first'")).await.unwrap();
    assert_eq!(rows(&got, &["id"]), ["1|first|1.0", "3|first|3.0"]);

    let e = store
        .create(
            &name("s.part2"),
            spec(&["PassengerId"], None),
            passengers().schema(),
            vec![],
            vec!["nope".into()],
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("partition column `nope` is not in the data"),
        "{e}"
    );
}

#[tokio::test]
async fn types_are_stored_the_delta_way() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let b = batch(vec![
        (
            "id",
            Arc::new(UInt32Array::from(vec![1, 4_000_000_000])) as ArrayRef,
        ),
        ("small", Arc::new(Int32Array::from(vec![1, 2]))),
        ("label", Arc::new(StringViewArray::from(vec!["a", "b"]))),
        (
            "seen",
            Arc::new(TimestampNanosecondArray::from(vec![1_000, 2_000_000])),
        ),
    ]);
    let t = store
        .create(
            &name("s.types"),
            spec(&["id"], None),
            b.schema(),
            vec![b],
            vec![],
        )
        .await
        .unwrap();
    let expected = Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("small", DataType::Int32, true),
        Field::new("label", DataType::Utf8, true),
        Field::new(
            "seen",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]);
    assert_eq!(t.schema.as_ref(), &expected);
    let got = t.scan(None, None).await.unwrap();
    assert_eq!(
        rows(&got, &["id"]),
        [
            "1|1|a|1970-01-01T00:00:00.000001Z",
            "4000000000|2|b|1970-01-01T00:00:00.002Z"
        ]
    );
}

#[tokio::test]
async fn roots_are_normalized_and_created_lazily() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("a/../lazy-root");
    let store =
        fstore_offline::OfflineStore::new(root.to_str().unwrap(), Default::default()).unwrap();
    assert!(
        !dir.path().join("lazy-root").exists(),
        "nothing is created before the first table"
    );
    assert!(store.list().await.unwrap().is_empty());
    create_passengers(&store, "default.t").await;
    assert!(dir.path().join("lazy-root/default/t/_delta_log").is_dir());
}
