//! Reading CSV, JSON lines and Parquet inputs, and writing them into tables.

use std::fs::File;

use deltalake::arrow::datatypes::{DataType, TimeUnit};
use deltalake::parquet::arrow::ArrowWriter;
use fstore_offline::input::read_file;
use fstore_offline::{Error, WriteMode};
use tempfile::TempDir;

use crate::common::*;

#[test]
fn reads_csv_with_header_and_inferred_types() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("p.csv");
    std::fs::write(
        &path,
        "PassengerId,Name,Age,Boarded\n1,Braund,22.5,2024-01-02\n2,\"Cumings, Mrs\",,2024-01-03\n",
    )
    .unwrap();
    let (schema, batches) = read_file(&path).unwrap();
    let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
    assert_eq!(
        types,
        [
            &DataType::Int64,
            &DataType::Utf8,
            &DataType::Float64,
            &DataType::Date32
        ]
    );
    assert_eq!(
        rows(&batches, &["PassengerId"]),
        ["1|Braund|22.5|2024-01-02", "2|Cumings, Mrs|NULL|2024-01-03"]
    );
}

#[test]
fn reads_json_lines_and_recognizes_iso_dates_and_timestamps() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("p.JSONL");
    std::fs::write(
        &path,
        concat!(
            r#"{"id": 1, "ts": "2024-01-02T03:04:05Z", "day": "2024-01-02", "note": "2024"}"#,
            "\n",
            r#"{"id": 2, "ts": "2024-01-02 03:04:06.5", "day": null, "note": "x", "extra": [1, 2]}"#,
            "\n"
        ),
    )
    .unwrap();
    let (schema, batches) = read_file(&path).unwrap();
    assert_eq!(
        schema.field_with_name("ts").unwrap().data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(
        schema.field_with_name("day").unwrap().data_type(),
        &DataType::Date32
    );
    assert_eq!(
        schema.field_with_name("note").unwrap().data_type(),
        &DataType::Utf8
    );
    assert_eq!(
        schema.field_with_name("id").unwrap().data_type(),
        &DataType::Int64
    );
    assert_eq!(
        rows(&batches, &["id"]),
        [
            "1|2024-01-02T03:04:05Z|2024-01-02|2024|NULL",
            "2|2024-01-02T03:04:06.500Z|NULL|x|[1, 2]"
        ]
    );
}

#[test]
fn reads_parquet_as_stored() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("p.parquet");
    let b = passengers();
    let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), b.schema(), None).unwrap();
    w.write(&b).unwrap();
    w.close().unwrap();
    let (schema, batches) = read_file(&path).unwrap();
    assert_eq!(schema, b.schema());
    assert_eq!(
        rows(&batches, &["PassengerId"]),
        rows(&[b], &["PassengerId"])
    );
}

#[test]
fn unknown_formats_and_json_arrays_are_clear_errors() {
    let dir = TempDir::new().unwrap();
    let xlsx = dir.path().join("p.xlsx");
    std::fs::write(&xlsx, "x").unwrap();
    let e = read_file(&xlsx).unwrap_err();
    assert!(matches!(e, Error::UnsupportedInput { .. }));
    assert!(e.to_string().contains("unknown extension `.xlsx`"), "{e}");
    assert!(
        e.to_string()
            .contains(".parquet, .csv, .json, .jsonl and .ndjson"),
        "{e}"
    );

    let arr = dir.path().join("p.json");
    std::fs::write(&arr, r#"[{"a": 1}]"#).unwrap();
    let e = read_file(&arr).unwrap_err();
    assert!(e.to_string().contains("JSON array"), "{e}");

    let e = read_file(&dir.path().join("missing.csv")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }));
    assert_eq!(e.kind(), fstore_offline::ErrorKind::Environment);

    let bad = dir.path().join("bad.parquet");
    std::fs::write(&bad, "not parquet").unwrap();
    assert!(matches!(
        read_file(&bad).unwrap_err(),
        Error::BadInputFile { .. }
    ));
}

#[tokio::test]
async fn create_from_csv_then_merge_json_lines() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let csv = dir.path().join("features.csv");
    std::fs::write(&csv, "PassengerId,Age,Fare\n1,22.5,7.25\n2,38,71.28\n").unwrap();
    let (schema, batches) = read_file(&csv).unwrap();
    store
        .create(
            &name("default.online_feature_table"),
            spec(&["PassengerId"], None),
            schema,
            batches,
            vec![],
        )
        .await
        .unwrap();

    // JSON infers Age as an integer here; it is stored losslessly as the table's DOUBLE. A key
    // missing from one line is NULL in that row of a column the input has, so passenger 2's Fare
    // becomes NULL (the same as Spark's JSON reader followed by a merge).
    let jsonl = dir.path().join("changes.ndjson");
    std::fs::write(
        &jsonl,
        "{\"PassengerId\": 2, \"Age\": 40}\n{\"PassengerId\": 3, \"Age\": 1.5, \"Fare\": 3}\n",
    )
    .unwrap();
    let (_, batches) = read_file(&jsonl).unwrap();
    let out = store
        .write(
            &name("default.online_feature_table"),
            batches,
            WriteMode::Merge,
        )
        .await
        .unwrap();
    assert_eq!((out.rows_inserted, out.rows_updated), (1, 1));
    let t = store
        .open(&name("default.online_feature_table"))
        .await
        .unwrap();
    assert_eq!(
        rows(&t.scan(None, None).await.unwrap(), &["PassengerId"]),
        ["1|22.5|7.25", "2|40.0|NULL", "3|1.5|3.0"]
    );
}
