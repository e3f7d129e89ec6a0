//! Online stores: where published features live for low-latency lookups.
//!
//! [`OnlineStore`] is a closed enum over the backends (`sqlite/`, `mysql/`), chosen from config.
//! Each backend implements [`Backend`]; the contract below is what the shared conformance suite
//! (`tests/it/conformance.rs`) checks for every backend.
//!
//! # The `Backend` contract
//!
//! - `write` in [`WriteMode::Merge`] MUST upsert keyed on the layout's primary keys, MUST leave
//!   online columns that are not in the layout untouched, MUST add layout columns the online table
//!   lacks, and MUST refuse (with [`StoreErrorKind::Incompatible`]) a column whose online type
//!   differs from the layout's, writing nothing.
//! - For a layout with a timestamp key, an upsert MUST NOT replace an online row whose timestamp is
//!   newer than the incoming row's (equal timestamps do replace).
//! - `write` in [`WriteMode::Overwrite`] MUST make the table exactly the given rows, atomically: a
//!   concurrent reader sees either the old table or the new one, never a missing, empty or mixed one.
//! - The first write of either mode creates the table: same column names and order as the layout,
//!   primary key = layout primary keys, key columns NOT NULL.
//! - `write` MUST record the published table in the store's bookkeeping table
//!   ([`BOOKKEEPING_TABLE`]) only after the data it describes is committed (or in the same
//!   transaction).
//! - Nothing half-written: input values the store cannot hold are rejected by [`validate_batches`]
//!   before any statement runs; a failed write leaves the online table as it was and no staging
//!   table behind.
//! - `lookup` returns one entry per requested key, in request order, `None` for absent keys.
//! - `health` does a real round trip to the database.
//!
//! Invariant: this crate sees Arrow batches, never Delta; it never formats a value into SQL text
//! (values are bound as parameters or streamed through the bulk-load path's escaper).

pub mod arrow_values;
pub mod error;
pub mod layout;
pub mod merge;
pub mod validate;

#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::time::Duration;

use arrow::record_batch::RecordBatch;
use fstore_core::{FeatureType, Progress, Value};

pub use error::{Result, StoreError, StoreErrorKind};
pub use layout::{OnlineColumn, OnlineLayout};
pub use validate::validate_batches;

/// Name of the bookkeeping table fstore keeps in every online database: one row per published
/// table (feature table, online table, Delta version, columns and types, mode, time).
pub const BOOKKEEPING_TABLE: &str = "_fstore_published";

/// How a write treats rows already online.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// Upsert by primary key.
    Merge,
    /// Replace the whole table atomically.
    Overwrite,
}

impl WriteMode {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteMode::Merge => "merge",
            WriteMode::Overwrite => "overwrite",
        }
    }
}

/// What a publish records about itself in the bookkeeping table.
#[derive(Clone, Debug, PartialEq)]
pub struct PublishRecord {
    /// `<schema>.<table>` of the offline feature table.
    pub feature_table: String,
    /// Delta version that is now online.
    pub delta_version: i64,
}

/// What is known about a published online table: its layout (from the bookkeeping row) and the
/// Delta version it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct PublishedTable {
    pub layout: OnlineLayout,
    pub feature_table: String,
    pub delta_version: i64,
    pub mode: String,
    /// Seconds since the epoch.
    pub published_at: i64,
}

/// Counts from one write, shaped like delta-rs's `MergeMetrics`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteReport {
    /// Rows handed to the store.
    pub rows_in: u64,
    /// Keys that were not online before.
    pub inserted: u64,
    /// Keys that were online and were replaced.
    pub updated: u64,
    /// Rows not applied because the online row has a newer timestamp.
    pub skipped_older: u64,
    /// Rows removed (overwrite: old keys absent from the new snapshot).
    pub deleted: u64,
    /// Approximate bytes of values sent to the database.
    pub bytes: u64,
    pub elapsed: Duration,
}

/// Feature values for a batch of keys, in request order.
#[derive(Clone, Debug, PartialEq)]
pub struct LookupResult {
    /// Returned columns (the requested features, or all non-key columns) with their types.
    pub columns: Vec<(String, FeatureType)>,
    /// One entry per requested key; `None` when the key is not online.
    pub rows: Vec<Option<Vec<Value>>>,
}

/// Everything an online backend must do. See the module docs for the contract.
#[allow(async_fn_in_trait)] // Backends are used through the closed `OnlineStore` enum, never `dyn`.
pub trait Backend {
    /// Writes `batches` (already validated, already latest-per-key) into `layout.table`.
    async fn write(
        &self,
        layout: &OnlineLayout,
        mode: WriteMode,
        batches: Vec<RecordBatch>,
        record: &PublishRecord,
        progress: &dyn Progress,
    ) -> Result<WriteReport>;

    /// Looks up feature rows by primary key. `keys[i]` holds one value per primary key, in the
    /// layout's primary-key order. `features = None` returns every non-key column.
    async fn lookup(
        &self,
        table: &str,
        keys: &[Vec<Value>],
        features: Option<&[String]>,
    ) -> Result<LookupResult>;

    /// The bookkeeping entry of `table`, if it was published by fstore.
    async fn describe(&self, table: &str) -> Result<Option<PublishedTable>>;

    /// Every table in the bookkeeping table.
    async fn list(&self) -> Result<Vec<PublishedTable>>;

    /// Drops the online table and its bookkeeping row. Dropping an absent table is not an error.
    async fn drop_table(&self, table: &str) -> Result<()>;

    /// A real round trip to the database.
    async fn health(&self) -> Result<()>;
}

/// The configured online store: a closed set of backends.
pub enum OnlineStore {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlite::SqliteStore),
    #[cfg(feature = "mysql")]
    Mysql(mysql::MysqlStore),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            #[cfg(feature = "sqlite")]
            OnlineStore::Sqlite($s) => $e,
            #[cfg(feature = "mysql")]
            OnlineStore::Mysql($s) => $e,
        }
    };
}

impl OnlineStore {
    /// Backend name for messages: `sqlite` or `mysql`.
    pub fn kind(&self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            OnlineStore::Sqlite(_) => "sqlite",
            #[cfg(feature = "mysql")]
            OnlineStore::Mysql(_) => "mysql",
        }
    }
}

impl Backend for OnlineStore {
    async fn write(
        &self,
        layout: &OnlineLayout,
        mode: WriteMode,
        batches: Vec<RecordBatch>,
        record: &PublishRecord,
        progress: &dyn Progress,
    ) -> Result<WriteReport> {
        dispatch!(self, s => s.write(layout, mode, batches, record, progress).await)
    }

    async fn lookup(
        &self,
        table: &str,
        keys: &[Vec<Value>],
        features: Option<&[String]>,
    ) -> Result<LookupResult> {
        dispatch!(self, s => s.lookup(table, keys, features).await)
    }

    async fn describe(&self, table: &str) -> Result<Option<PublishedTable>> {
        dispatch!(self, s => s.describe(table).await)
    }

    async fn list(&self) -> Result<Vec<PublishedTable>> {
        dispatch!(self, s => s.list().await)
    }

    async fn drop_table(&self, table: &str) -> Result<()> {
        dispatch!(self, s => s.drop_table(table).await)
    }

    async fn health(&self) -> Result<()> {
        dispatch!(self, s => s.health().await)
    }
}
