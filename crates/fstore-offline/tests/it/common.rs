//! Test helpers: a store in a temp dir, small Titanic-like batches, and row formatting.

use std::collections::HashMap;
use std::sync::Arc;

use deltalake::arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use deltalake::arrow::compute::{
    SortColumn, concat_batches, lexsort_to_indices, take_record_batch,
};
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::arrow::util::display::{ArrayFormatter, FormatOptions};
use fstore_core::{TableName, TableSpec};
use fstore_offline::{FeatureTable, OfflineStore};
use tempfile::TempDir;

pub fn store(dir: &TempDir) -> OfflineStore {
    OfflineStore::new(dir.path().join("offline").to_str().unwrap(), HashMap::new()).unwrap()
}

pub fn name(s: &str) -> TableName {
    TableName::parse(s).unwrap()
}

pub fn spec(pks: &[&str], ts: Option<&str>) -> TableSpec {
    TableSpec::new(
        pks.iter().map(|s| s.to_string()).collect(),
        ts.map(str::to_string),
    )
    .unwrap()
}

pub fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(cols).unwrap()
}

pub fn ints(v: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}

pub fn floats(v: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}

pub fn strs(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

/// Microsecond UTC timestamps.
pub fn micros(v: &[i64]) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(v.to_vec()).with_timezone("UTC"))
}

/// Passengers 1..=3: PassengerId, Name, Age, Fare.
pub fn passengers() -> RecordBatch {
    batch(vec![
        ("PassengerId", ints(&[1, 2, 3])),
        (
            "Name",
            strs(&[Some("Braund"), Some("Cumings"), Some("Heikkinen")]),
        ),
        ("Age", floats(&[Some(22.0), Some(38.0), Some(26.0)])),
        ("Fare", floats(&[Some(7.25), Some(71.28), Some(7.92)])),
    ])
}

pub async fn create_passengers(store: &OfflineStore, table: &str) -> FeatureTable {
    let b = passengers();
    let mut s = spec(&["PassengerId"], None);
    s.description = Some("Titanic passengers".into());
    s.tags.insert("team".into(), "ml".into());
    store
        .create(&name(table), s, b.schema(), vec![b], vec![])
        .await
        .unwrap()
}

/// Rows as `a|b|c` strings, sorted by the first column(s) given, with the batches' schema.
pub fn rows(batches: &[RecordBatch], sort_by: &[&str]) -> Vec<String> {
    if batches.is_empty() {
        return vec![];
    }
    let schema: SchemaRef = batches[0].schema();
    let all = concat_batches(&schema, batches).unwrap();
    let sort: Vec<SortColumn> = sort_by
        .iter()
        .map(|c| SortColumn {
            values: all.column(schema.index_of(c).unwrap()).clone(),
            options: None,
        })
        .collect();
    let all = if sort.is_empty() {
        all
    } else {
        take_record_batch(&all, &lexsort_to_indices(&sort, None).unwrap()).unwrap()
    };
    let opts = FormatOptions::default().with_null("NULL");
    let fmts: Vec<ArrayFormatter> = all
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
        .collect();
    (0..all.num_rows())
        .map(|r| {
            fmts.iter()
                .map(|f| f.value(r).to_string())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

pub fn column_names(schema: &SchemaRef) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

/// Latest Delta version of the table at `<root>/<schema>/<table>`, read directly with deltalake.
pub async fn delta_version(store: &OfflineStore, table: &str) -> i64 {
    let t = deltalake::open_table(store.table_url(&name(table)))
        .await
        .unwrap();
    t.version().unwrap() as i64
}
