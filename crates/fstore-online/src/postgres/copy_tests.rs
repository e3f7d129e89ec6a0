//! Expected bytes were produced by PostgreSQL 15 itself:
//! `COPY (SELECT 123.45::numeric(10,2), …) TO STDOUT (FORMAT binary)`.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Date32Array, Int16Array, StringArray};

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn numeric(v: i128, s: i8) -> Vec<u8> {
    let mut out = Vec::new();
    encode_numeric(v, s, &mut out);
    out
}

#[test]
fn numerics_match_postgres_bytes() {
    assert_eq!(
        numeric(12345, 2),
        hex("0000000c 0002 0000 0000 0002 007b 1194")
    );
    assert_eq!(numeric(-5, 2), hex("0000000a 0001 ffff 4000 0002 01f4"));
    assert_eq!(numeric(0, 2), hex("00000008 0000 0000 0000 0002"));
    assert_eq!(
        numeric(100001, 1),
        hex("0000000e 0003 0001 0000 0001 0001 0000 03e8")
    );
    assert_eq!(
        numeric(123456789012345678901234, 4),
        hex("00000014 0006 0004 0000 0004 04d2 162e 2334 0d80 1ed2 04d2")
    );
}

#[test]
fn numerics_decode_back_to_the_published_text() {
    for (v, s) in [
        (12345i128, 2i8),
        (-5, 2),
        (0, 2),
        (100001, 1),
        (-123456789012345678901234, 4),
        (7, 0),
        (i128::from(i64::MAX), 10),
    ] {
        let raw = numeric(v, s);
        let mut want = String::new();
        write_decimal(v, s, &mut want);
        assert_eq!(
            decode_numeric(&raw[4..], s).as_deref(),
            Some(want.as_str()),
            "{v} scale {s}"
        );
    }
}

#[test]
fn a_row_matches_postgres_bytes() {
    let ts_unix = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456Z")
        .unwrap()
        .timestamp_micros();
    let mut out = Vec::new();
    encode_cell(
        "ts",
        FeatureType::Timestamp,
        Cell::Timestamp(ts_unix),
        &mut out,
    )
    .unwrap();
    assert_eq!(out, hex("00000008 0002ea5dbb16f580"));

    let d: ArrayRef = Arc::new(Date32Array::from(vec![Some(0)]));
    let n: ArrayRef = Arc::new(Int16Array::from(vec![Some(7)]));
    let t: ArrayRef = Arc::new(StringArray::from(vec![None::<&str>]));
    let b: ArrayRef = Arc::new(BooleanArray::from(vec![Some(true)]));
    let cols = [
        ("d", FeatureType::Date, &d),
        ("n", FeatureType::SmallInt, &n),
        ("t", FeatureType::String, &t),
        ("b", FeatureType::Boolean, &b),
    ]
    .map(|(name, ftype, a)| CopyColumn {
        name,
        ftype,
        col: Col::new(name, a, ftype).unwrap(),
    });
    let mut out = Vec::new();
    encode_row(&cols, 0, &mut out).unwrap();
    assert_eq!(
        out,
        hex("0004 00000004 ffffd533 00000002 0007 ffffffff 00000001 01")
    );
}

#[test]
fn nul_text_and_long_names_are_refused() {
    let mut out = Vec::new();
    let err = encode_cell("city", FeatureType::String, Cell::Str("a\0b"), &mut out).unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::InvalidData);
    assert!(
        err.message.contains("`city`") && err.message.contains("NUL"),
        "{}",
        err.message
    );
    assert!(out.is_empty(), "nothing written for a refused value");

    assert!(check_identifier("column", &"x".repeat(63)).is_ok());
    // 32 two-byte characters: 32 characters, 64 bytes.
    let err = check_identifier("column", &"é".repeat(32)).unwrap_err();
    assert!(err.message.contains("64 bytes"), "{}", err.message);
}

#[test]
fn values_outside_the_column_type_are_refused() {
    let mut out = Vec::new();
    let err = encode_cell("n", FeatureType::SmallInt, Cell::Int(70_000), &mut out).unwrap_err();
    assert!(err.message.contains("`n`"), "{}", err.message);
}

#[test]
fn key_strings_compare_bytewise() {
    assert_eq!(pg_type(FeatureType::String, true), "text COLLATE \"C\"");
    assert_eq!(pg_type(FeatureType::Json, false), "json");
    assert_eq!(
        pg_type(
            FeatureType::Decimal {
                precision: 18,
                scale: 4
            },
            false
        ),
        "numeric(18,4)"
    );
}

#[test]
fn docs_type_mapping_has_the_postgres_column() {
    use fstore_core::FeatureType as T;
    let doc = include_str!("../../../../docs/type-mapping.md");
    for t in [
        T::SmallInt,
        T::Int,
        T::BigInt,
        T::Float,
        T::Double,
        T::Boolean,
        T::Binary,
        T::Date,
        T::Timestamp,
        T::Json,
    ] {
        let row = format!(
            "| {} | `{}` | `{}` | `{}` |",
            t.name(),
            t.mysql_type(false),
            t.sqlite_type(),
            pg_type(t, false)
        );
        assert!(
            doc.contains(&row),
            "docs/type-mapping.md lacks the row {row}"
        );
    }
    assert!(doc.contains(
        "| utf8 (primary key) | string | `VARCHAR(100)` | `TEXT` | `text COLLATE \"C\"` |"
    ));
}
