//! Publishing: moves a feature table from the offline Delta store into an online store.
//!
//! [`publish`] reads the table's snapshot (optionally filtered and restricted to some features),
//! keeps the latest row per key for time-series tables, checks every value against what online
//! stores can hold, and hands the batches to the backend in merge or overwrite mode.
//! [`stores`] opens online stores with the right identity: the write identity to publish, the read
//! identity to look up.
//!
//! Invariant: nothing is written online before every row has been read and validated; the
//! bookkeeping row is written by the backend after (or with) the data it describes.

pub mod init;
pub mod stores;

use std::time::{Duration, Instant};

use arrow::datatypes::Schema;
use fstore_core::{Progress, TableName};
use fstore_offline::{FeatureTable, OfflineStore};
use fstore_online::{
    Backend, OnlineLayout, OnlineStore, PublishRecord, WriteMode, WriteReport, validate_batches,
};

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a publish failed. Bad-input variants say what to change.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadOptions(String),
    /// Boxed: the offline error is large and publish results travel through every call.
    #[error(transparent)]
    Offline(Box<fstore_offline::Error>),
    #[error(transparent)]
    Online(#[from] fstore_online::StoreError),
    #[error(transparent)]
    Core(#[from] fstore_core::Error),
    #[error(transparent)]
    Secrets(#[from] fstore_secrets::Error),
}

impl From<fstore_offline::Error> for Error {
    fn from(e: fstore_offline::Error) -> Self {
        Error::Offline(Box::new(e))
    }
}

/// How to publish.
#[derive(Clone, Debug)]
pub struct PublishOptions {
    pub mode: WriteMode,
    /// Online table name; default: the feature table's name without its schema.
    pub online_table: Option<String>,
    /// SQL predicate over the feature table's columns, applied before latest-per-key.
    pub filter: Option<String>,
    /// Publish only these features (plus all keys). Merge mode only, as in Databricks.
    pub features: Option<Vec<String>>,
}

impl Default for PublishOptions {
    fn default() -> Self {
        Self {
            mode: WriteMode::Merge,
            online_table: None,
            filter: None,
            features: None,
        }
    }
}

/// What a publish did.
#[derive(Clone, Debug)]
pub struct PublishReport {
    pub feature_table: String,
    pub online_table: String,
    pub delta_version: i64,
    pub mode: WriteMode,
    /// Rows selected from the offline table (after filter and latest-per-key).
    pub rows_read: u64,
    pub read_elapsed: Duration,
    pub write: WriteReport,
    pub elapsed: Duration,
}

/// The online table name for a feature table: its name without the schema, as Databricks does.
pub fn default_online_table(name: &TableName) -> String {
    name.table().to_string()
}

/// Publishes `name` from `offline` into `store`.
pub async fn publish(
    offline: &OfflineStore,
    store: &OnlineStore,
    name: &TableName,
    opts: &PublishOptions,
    progress: &dyn Progress,
) -> Result<PublishReport> {
    let started = Instant::now();
    if opts.features.is_some() && opts.mode == WriteMode::Overwrite {
        return Err(Error::BadOptions(
            "publishing selected features (--features) does not support --mode overwrite; use --mode merge".into(),
        ));
    }
    let online_table = match &opts.online_table {
        Some(t) => t.clone(),
        None => default_online_table(name),
    };
    fstore_core::ident::validate_online_table_name(&online_table)?;

    progress.set_stage("reading the offline table");
    let table = offline.open(name).await?;
    let columns = select_columns(&table, opts.features.as_deref())?;
    let batches = table
        .scan_latest(Some(&columns), opts.filter.as_deref())
        .await?;
    let read_elapsed = started.elapsed();
    let rows_read: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    tracing::info!(table = %name, version = table.version, rows = rows_read, "read offline snapshot");

    let schema = Schema::new(
        columns
            .iter()
            .map(|c| table.schema.field_with_name(c).cloned())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::BadOptions(e.to_string()))?,
    );
    let layout = OnlineLayout::new(&online_table, &schema, &table.spec)?;
    progress.set_stage("checking values");
    validate_batches(&layout, &batches)?;

    progress.set_total(rows_read);
    progress.set_stage(match opts.mode {
        WriteMode::Merge => "merging into the online table",
        WriteMode::Overwrite => "writing the new online table",
    });
    let record = PublishRecord {
        feature_table: name.to_string(),
        delta_version: table.version,
    };
    let write = store
        .write(&layout, opts.mode, batches, &record, progress)
        .await?;
    Ok(PublishReport {
        feature_table: name.to_string(),
        online_table,
        delta_version: table.version,
        mode: opts.mode,
        rows_read,
        read_elapsed,
        write,
        elapsed: started.elapsed(),
    })
}

/// The columns to publish, in feature-table order: all of them, or the keys plus the requested
/// features (matched case-insensitively, as Databricks does).
fn select_columns(table: &FeatureTable, features: Option<&[String]>) -> Result<Vec<String>> {
    let all: Vec<String> = table
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let Some(features) = features else {
        return Ok(all);
    };
    let mut wanted = Vec::new();
    let mut unknown = Vec::new();
    for f in features {
        match all.iter().find(|c| c.eq_ignore_ascii_case(f)) {
            Some(c) => wanted.push(c.clone()),
            None => unknown.push(f.clone()),
        }
    }
    if !unknown.is_empty() {
        return Err(Error::BadOptions(format!(
            "unknown feature column name(s): {}; the table has: {}",
            unknown.join(", "),
            all.join(", ")
        )));
    }
    Ok(all
        .into_iter()
        .filter(|c| table.spec.is_key(c) || wanted.contains(c))
        .collect())
}
