//! Offline feature tables (Delta Lake): the library calls behind `Client`'s table methods, one
//! small function each, so changes to `fstore_offline`'s signatures stay local to this file.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use fstore_core::{FeatureType, TableName, TableSpec};
use fstore_offline::{
    FeatureTable, HistoryEntry, OfflineStore, TimeTravel, WriteMode, WriteOutcome,
};

use crate::errors::{Error, Result};

/// What `create_table` and `register_table` need besides the data.
pub struct NewTable {
    pub primary_keys: Vec<String>,
    pub timestamp_key: Option<String>,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
}

impl NewTable {
    fn spec(self) -> Result<TableSpec> {
        let mut spec = TableSpec::new(self.primary_keys, self.timestamp_key)?;
        spec.description = self.description;
        spec.tags = self.tags;
        Ok(spec)
    }
}

pub fn table_name(name: &str) -> Result<TableName> {
    Ok(TableName::parse(name)?)
}

pub fn write_mode(mode: &str) -> Result<WriteMode> {
    match mode {
        "merge" => Ok(WriteMode::Merge),
        "overwrite" => Ok(WriteMode::Overwrite),
        other => Err(Error::invalid(format!(
            "unknown write mode `{other}`; use 'merge' (upsert by key) or 'overwrite' (replace all rows)"
        ))),
    }
}

pub async fn create(
    offline: &OfflineStore,
    name: &TableName,
    table: NewTable,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    partition_columns: Vec<String>,
    change_data_feed: bool,
) -> Result<FeatureTable> {
    let spec = table.spec()?;
    Ok(offline
        .clone()
        .with_change_data_feed(change_data_feed)
        .create(name, spec, schema, batches, partition_columns)
        .await?)
}

pub async fn write(
    offline: &OfflineStore,
    name: &TableName,
    batches: Vec<RecordBatch>,
    mode: WriteMode,
) -> Result<WriteOutcome> {
    Ok(offline.write(name, batches, mode).await?)
}

/// Reads `name` at `at`: `columns` in that order, rows matching `filter`, at most `limit`.
pub async fn read(
    offline: &OfflineStore,
    name: &TableName,
    at: TimeTravel,
    columns: Option<Vec<String>>,
    filter: Option<String>,
    limit: Option<usize>,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let t = offline.open_at(name, at).await?;
    // The limit goes into the scan: `limit=5` reads five rows, not the table.
    let read = t
        .scan_stream(columns.as_deref(), filter.as_deref(), limit)
        .await?;
    let schema = read.schema.clone();
    Ok((schema, read.collect().await?))
}

/// `fstore tables describe`: the table and, per column, its fstore type name and role.
pub struct Description {
    pub table: FeatureTable,
    pub table_id: Option<String>,
    pub columns: Vec<(String, String)>,
    pub created_at: Option<String>,
}

pub async fn describe(offline: &OfflineStore, name: &TableName) -> Result<Description> {
    let table = offline.open(name).await?;
    let columns = table
        .schema
        .fields()
        .iter()
        .map(|f| {
            let ft = FeatureType::from_arrow(f.name(), f.data_type())
                .map(|t| t.name())
                .unwrap_or_else(|_| "unsupported".into());
            (f.name().clone(), ft)
        })
        .collect();
    let table_id = table.table_id().ok();
    // The oldest entry is the creation (version 0, or the oldest the log still has).
    let created_at = offline
        .history(name, None)
        .await?
        .last()
        .and_then(|h| h.timestamp)
        .map(|t| t.to_rfc3339());
    Ok(Description {
        table,
        table_id,
        columns,
        created_at,
    })
}

pub async fn list(offline: &OfflineStore) -> Result<Vec<String>> {
    Ok(offline
        .list()
        .await?
        .into_iter()
        .map(|n| n.to_string())
        .collect())
}

pub async fn history(
    offline: &OfflineStore,
    name: &TableName,
    limit: Option<usize>,
) -> Result<Vec<HistoryEntry>> {
    Ok(offline.history(name, limit).await?)
}

pub async fn drop_table(offline: &OfflineStore, name: &TableName) -> Result<()> {
    Ok(offline.drop(name).await?)
}

pub async fn register(
    offline: &OfflineStore,
    name: &TableName,
    path: Option<String>,
    table: NewTable,
) -> Result<FeatureTable> {
    let spec = table.spec()?;
    Ok(offline.register(name, path.as_deref(), spec).await?)
}

pub async fn delete(
    offline: &OfflineStore,
    name: &TableName,
    predicate: &str,
) -> Result<WriteOutcome> {
    Ok(offline.delete(name, predicate).await?)
}
