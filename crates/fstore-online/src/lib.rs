//! Online stores: where published features live for low-latency lookups.
//!
//! [`OnlineStore`] is a closed enum over the backends (`sqlite/`, `mysql/`, `postgres/`), chosen from config.
//! Each backend implements [`OnlineReader`] (lookups: serving) and [`OnlineWriter`]
//! (writes: publishing); the contract below is what the shared conformance suite
//! (`tests/it/conformance.rs`) checks for every backend.
//!
//! # The online-store contract
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
//!   transaction), and a crash at any instant MUST leave a bookkeeping row that names a version
//!   no newer than the data online (the recorded version only moves forward with its data).
//! - `apply` with [`Rows::Changes`] MUST, in ONE transaction together with the bookkeeping row,
//!   delete the given keys, then upsert the given rows (time-series never-regress rule as above);
//!   with [`ChangeSet::complete`] it MUST also delete every online key absent from the rows and
//!   replace rows whatever their timestamp (the online table then holds exactly the rows, on the
//!   layout's columns). Deleting an absent key is not an error.
//! - `apply` MUST check its [`Expect`] against the bookkeeping row while holding the table's
//!   write lock (the same transaction on SQLite, the advisory lock on MySQL), and write nothing
//!   but return [`Applied::Conflict`] when it does not hold. Writers of one table never
//!   interleave: SQLite's single write transaction (with a busy timeout) and MySQL's
//!   `GET_LOCK` per table serialise them.
//! - `apply` with [`Rows::Sync`] MUST do what a complete [`ChangeSet`] without deletes does.
//! - Nothing half-written: input values the store cannot hold are rejected by [`validate_batches`]
//!   before they are sent; streamed rows ([`RowStream`]) are validated chunk by chunk and go
//!   only into a staging/shadow table (or a transaction not yet committed) until the last chunk
//!   is in; a failed write (a bad value in any chunk, a failed read of the stream) leaves the
//!   live online table and its bookkeeping row as they were and no staging table behind.
//! - `lookup` returns one entry per requested key, in request order, `None` for absent keys.
//! - `health` does a real round trip to the database.
//! - `record_publish` appends one row to the publish history table ([`HISTORY_TABLE`],
//!   creating it when missing) in its own small transaction, never touching the data or
//!   `_fstore_published`; `history` returns a table's rows newest first (at most `limit`, empty
//!   when there is no history table yet) and is readable with the read identity. See [`crate::history`].
//! - `scan_page` returns, with the read identity, at most `limit` rows (every layout column, in
//!   layout order) whose primary key is greater than `after`, ascending in the order
//!   `key_sort` describes; successive pages from the last key of the previous one read every
//!   row exactly once. See [`crate::scan`].
//!
//! Invariant: this crate sees Arrow batches, never Delta; it never formats a value into SQL text
//! (values are bound as parameters or streamed through the bulk-load path's escaper).

pub mod arrow_values;
pub mod error;
pub mod history;
pub mod layout;
pub mod lookup_plan;
pub mod merge;
pub mod rows;
pub mod scan;
pub mod serving;
pub mod spark_json;
pub mod validate;

#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(any(feature = "mysql", feature = "postgres"))]
pub mod tls_roots;

use std::time::Duration;

use arrow::record_batch::RecordBatch;
use fstore_core::{FeatureType, Progress, Value};

pub use error::{Result, StoreError, StoreErrorKind};
pub use history::{HISTORY_TABLE, PublishHistoryEntry};
pub use layout::{OnlineColumn, OnlineLayout};
pub use rows::RowStream;
pub use scan::KeySort;
pub use serving::ServingCheck;
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

/// Where the published rows came from, beyond [`PublishRecord`]: what the next publish compares
/// to decide whether it may apply only the changes since [`PublishRecord::delta_version`].
/// Kept as JSON in the bookkeeping row's `source_json` column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishSource {
    /// The Delta table's id (its metadata id): a dropped and re-created table gets a new one.
    pub table_id: String,
    /// The filter the rows were selected with.
    pub filter: Option<String>,
    /// The published columns (keys included), in order.
    pub columns: Vec<String>,
}

impl PublishSource {
    /// Stable JSON for the bookkeeping table.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "table_id": self.table_id,
            "filter": self.filter,
            "columns": self.columns,
        })
        .to_string()
    }

    /// Parses [`PublishSource::to_json`] output; `None` when it is not one (a row written by
    /// another tool, or damaged): the next publish is then a full one.
    pub fn from_json(json: &str) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_str(json).ok()?;
        let columns = v["columns"]
            .as_array()?
            .iter()
            .map(|c| c.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            table_id: v["table_id"].as_str()?.to_string(),
            filter: match &v["filter"] {
                serde_json::Value::Null => None,
                f => Some(f.as_str()?.to_string()),
            },
            columns,
        })
    }
}

/// A precondition on the table's bookkeeping row, checked by [`OnlineWriter::apply`] under the table's
/// write lock before anything is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// No condition (what [`OnlineWriter::write`] uses).
    Any,
    /// A row recording the same Delta table (same [`PublishSource::table_id`]) records at most
    /// this version: a full publish never moves the recorded version backwards.
    AtMost(i64),
    /// The row records exactly this version of the same Delta table: an incremental publish
    /// applies the changes since this version only onto this version.
    Exactly(i64),
}

impl Expect {
    /// Does the bookkeeping row `current` (None: no row) satisfy the condition for a write from
    /// `source`?
    pub fn holds(self, current: Option<&PublishedTable>, source: Option<&PublishSource>) -> bool {
        let same_table = |p: &PublishedTable| match (&p.source, source) {
            (Some(a), Some(b)) => a.table_id == b.table_id,
            _ => false,
        };
        match self {
            Expect::Any => true,
            Expect::AtMost(v) => match current {
                Some(p) if same_table(p) => p.delta_version <= v,
                _ => true,
            },
            Expect::Exactly(v) => current.is_some_and(|p| same_table(p) && p.delta_version == v),
        }
    }
}

/// What [`OnlineWriter::apply`] writes besides the rows: the bookkeeping record, its source, and the
/// precondition.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteMeta {
    pub record: PublishRecord,
    pub source: Option<PublishSource>,
    pub expect: Expect,
}

/// Changes to a published table, applied in merge mode in one transaction.
#[derive(Clone, Debug, Default)]
pub struct ChangeSet {
    /// Rows to upsert (the layout's columns), applied after the deletes.
    pub upserts: Vec<RecordBatch>,
    /// Keys to delete first: batches holding the layout's primary-key columns (same names and
    /// types as in the layout; other columns are ignored). A key may also be in `upserts`: it is
    /// then replaced whatever its timestamp.
    pub deletes: Vec<RecordBatch>,
    /// `upserts` is the complete publication: also delete every online key absent from it, and
    /// replace rows whatever their timestamp. `deletes` is then redundant.
    pub complete: bool,
    /// `upserts` holds every row of the new publication and `deletes` exactly the keys that
    /// leave it (the online table holding the publication the change starts from). A backend
    /// may then write a new table from `upserts` and swap it in instead of applying the change:
    /// the rows are the same.
    pub whole_view: bool,
}

/// The rows of one [`OnlineWriter::apply`]. The whole-view variants stream (see [`rows`]): the
/// backend pulls and validates them chunk by chunk, so memory does not grow with the table.
#[derive(Debug)]
pub enum Rows {
    /// [`WriteMode::Merge`]: upsert.
    Merge(RowStream),
    /// [`WriteMode::Overwrite`]: replace the table atomically.
    Overwrite(RowStream),
    /// The complete publication resent in merge mode (`--full`, a fallback from incremental):
    /// like [`Rows::Changes`] with [`ChangeSet::complete`] and no deletes, streamed.
    Sync(RowStream),
    /// Deletes and upserts (recorded as mode `merge`).
    Changes(ChangeSet),
}

impl Rows {
    /// The mode the bookkeeping row records.
    pub fn mode(&self) -> WriteMode {
        match self {
            Rows::Overwrite(_) => WriteMode::Overwrite,
            Rows::Merge(_) | Rows::Sync(_) | Rows::Changes(_) => WriteMode::Merge,
        }
    }
}

/// What [`OnlineWriter::apply`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Applied {
    /// Committed together with the bookkeeping row.
    Written(WriteReport),
    /// The bookkeeping row did not meet the [`Expect`]; nothing was written. Holds the version
    /// the row records (None: no row).
    Conflict { recorded_version: Option<i64> },
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
    /// Where the rows came from (None: recorded by an older fstore or another tool).
    pub source: Option<PublishSource>,
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
    /// What the write changed besides rows, for the publish report: an online table adopted or
    /// migrated to the current layout (see `mysql::adopt`).
    pub notes: Vec<String>,
}

/// Feature values for a batch of keys, in request order.
#[derive(Clone, Debug, PartialEq)]
pub struct LookupResult {
    /// Returned columns (the requested features, or all non-key columns) with their types.
    pub columns: Vec<(String, FeatureType)>,
    /// One entry per requested key; `None` when the key is not online.
    pub rows: Vec<Option<Vec<Value>>>,
}

/// The read half of the online-store contract: what serving and `fstore lookup` need. See the
/// module docs for the rules.
#[allow(async_fn_in_trait)] // Backends are used through the closed `OnlineStore` enum, never `dyn`.
pub trait OnlineReader {
    /// Looks up feature rows by primary key. `keys[i]` holds one value per primary key, in the
    /// layout's primary-key order. `features = None` returns every non-key column. Reads the
    /// table's layout from the bookkeeping table first; a server that caches layouts calls
    /// [`OnlineReader::lookup_in`].
    async fn lookup(
        &self,
        table: &str,
        keys: &[Vec<Value>],
        features: Option<&[String]>,
    ) -> Result<LookupResult>;

    /// [`OnlineReader::lookup`] with a layout the caller already holds (one round trip, no
    /// bookkeeping read). When the layout is stale (a publish dropped a column, changed a type or
    /// the table) the lookup fails with `BadRequest`, `MissingTable` or `Database`: re-read it
    /// with [`OnlineReader::describe`] and retry.
    async fn lookup_in(
        &self,
        layout: &OnlineLayout,
        keys: &[Vec<Value>],
        features: Option<&[String]>,
    ) -> Result<LookupResult>;

    /// The bookkeeping entry of `table`, if it was published by fstore.
    async fn describe(&self, table: &str) -> Result<Option<PublishedTable>>;

    /// Every table in the bookkeeping table.
    async fn list(&self) -> Result<Vec<PublishedTable>>;

    /// The publish history of `table`, newest first, at most `limit` rows (see [`crate::history`]).
    async fn history(&self, table: &str, limit: usize) -> Result<Vec<PublishHistoryEntry>>;

    /// A real round trip to the database.
    async fn health(&self) -> Result<()>;

    /// At most `limit` rows of `layout.table` whose primary key comes after `after` (None: from
    /// the first), in primary-key order ([`OnlineReader::key_sort`]); each row holds every layout
    /// column in layout order. Pass the key of the last row of a page to read the next one
    /// (see [`crate::scan`]).
    async fn scan_page(
        &self,
        layout: &OnlineLayout,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Vec<Value>>>;

    /// How [`OnlineReader::scan_page`] orders the values of a primary-key column of `ftype`.
    fn key_sort(&self, ftype: FeatureType) -> KeySort {
        let _ = ftype;
        KeySort::Value
    }
}

/// The write half of the online-store contract: what publishing needs. Only a store opened with
/// the write identity implements it; the reader side holds a [`ReadStore`], which does not, so it
/// cannot write, alter or drop a table by type.
#[allow(async_fn_in_trait)] // Backends are used through the closed `OnlineStore` enum, never `dyn`.
pub trait OnlineWriter: OnlineReader {
    /// Writes `batches` (already validated, already latest-per-key) into `layout.table`: [`OnlineWriter::apply`]
    /// with no source and no precondition.
    async fn write(
        &self,
        layout: &OnlineLayout,
        mode: WriteMode,
        batches: Vec<RecordBatch>,
        record: &PublishRecord,
        progress: &dyn Progress,
    ) -> Result<WriteReport> {
        let rows = match mode {
            WriteMode::Merge => Rows::Merge(RowStream::from_batches(batches)),
            WriteMode::Overwrite => Rows::Overwrite(RowStream::from_batches(batches)),
        };
        let meta = WriteMeta {
            record: record.clone(),
            source: None,
            expect: Expect::Any,
        };
        match self.apply(layout, rows, &meta, progress).await? {
            Applied::Written(r) => Ok(r),
            // `Expect::Any` always holds.
            Applied::Conflict { .. } => Ok(WriteReport::default()),
        }
    }

    /// Writes `rows` into `layout.table` and records `meta` in the bookkeeping table, if the
    /// bookkeeping row meets `meta.expect` (checked under the table's write lock).
    async fn apply(
        &self,
        layout: &OnlineLayout,
        rows: Rows,
        meta: &WriteMeta,
        progress: &dyn Progress,
    ) -> Result<Applied>;

    /// Drops the online table and its bookkeeping row. Dropping an absent table is not an error.
    async fn drop_table(&self, table: &str) -> Result<()>;

    /// Appends `entry` (its `id` ignored) to the publish history, in its own transaction.
    async fn record_publish(&self, entry: &PublishHistoryEntry) -> Result<()>;
}

/// The configured online store: a closed set of backends.
pub enum OnlineStore {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlite::SqliteStore),
    #[cfg(feature = "mysql")]
    Mysql(mysql::MysqlStore),
    #[cfg(feature = "postgres")]
    Postgres(postgres::PostgresStore),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            #[cfg(feature = "sqlite")]
            OnlineStore::Sqlite($s) => $e,
            #[cfg(feature = "mysql")]
            OnlineStore::Mysql($s) => $e,
            #[cfg(feature = "postgres")]
            OnlineStore::Postgres($s) => $e,
        }
    };
}

impl OnlineStore {
    /// Backend name for messages: `sqlite`, `mysql` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            OnlineStore::Sqlite(_) => "sqlite",
            #[cfg(feature = "mysql")]
            OnlineStore::Mysql(_) => "mysql",
            #[cfg(feature = "postgres")]
            OnlineStore::Postgres(_) => "postgres",
        }
    }
}

impl OnlineReader for OnlineStore {
    async fn lookup(
        &self,
        table: &str,
        keys: &[Vec<Value>],
        features: Option<&[String]>,
    ) -> Result<LookupResult> {
        dispatch!(self, s => s.lookup(table, keys, features).await)
    }

    async fn lookup_in(
        &self,
        layout: &OnlineLayout,
        keys: &[Vec<Value>],
        features: Option<&[String]>,
    ) -> Result<LookupResult> {
        dispatch!(self, s => s.lookup_in(layout, keys, features).await)
    }

    async fn describe(&self, table: &str) -> Result<Option<PublishedTable>> {
        dispatch!(self, s => s.describe(table).await)
    }

    async fn list(&self) -> Result<Vec<PublishedTable>> {
        dispatch!(self, s => s.list().await)
    }

    async fn history(&self, table: &str, limit: usize) -> Result<Vec<PublishHistoryEntry>> {
        dispatch!(self, s => s.history(table, limit).await)
    }

    async fn health(&self) -> Result<()> {
        dispatch!(self, s => s.health().await)
    }

    async fn scan_page(
        &self,
        layout: &OnlineLayout,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Vec<Value>>> {
        dispatch!(self, s => s.scan_page(layout, after, limit).await)
    }

    fn key_sort(&self, ftype: FeatureType) -> KeySort {
        dispatch!(self, s => s.key_sort(ftype))
    }
}

impl OnlineWriter for OnlineStore {
    async fn apply(
        &self,
        layout: &OnlineLayout,
        rows: Rows,
        meta: &WriteMeta,
        progress: &dyn Progress,
    ) -> Result<Applied> {
        dispatch!(self, s => s.apply(layout, rows, meta, progress).await)
    }

    async fn drop_table(&self, table: &str) -> Result<()> {
        dispatch!(self, s => s.drop_table(table).await)
    }

    async fn record_publish(&self, entry: &PublishHistoryEntry) -> Result<()> {
        dispatch!(self, s => s.record_publish(entry).await)
    }
}

/// An online store opened with the read identity (`fstore serve`, `fstore lookup`): it implements
/// [`OnlineReader`] and [`ServingCheck`] but not [`OnlineWriter`], so code that holds one cannot
/// write, alter or drop a table, whatever the database would allow.
pub struct ReadStore(OnlineStore);

impl ReadStore {
    /// Takes `store` for reading only. The identity it was opened with is the caller's choice;
    /// `fstore_publish::stores::open_reader` opens the reader identity.
    pub fn new(store: OnlineStore) -> Self {
        Self(store)
    }

    /// Backend name for messages: `sqlite`, `mysql` or `postgres`.
    pub fn kind(&self) -> &'static str {
        self.0.kind()
    }
}

impl From<OnlineStore> for ReadStore {
    fn from(store: OnlineStore) -> Self {
        Self::new(store)
    }
}

impl OnlineReader for ReadStore {
    async fn lookup(
        &self,
        table: &str,
        keys: &[Vec<Value>],
        features: Option<&[String]>,
    ) -> Result<LookupResult> {
        self.0.lookup(table, keys, features).await
    }

    async fn lookup_in(
        &self,
        layout: &OnlineLayout,
        keys: &[Vec<Value>],
        features: Option<&[String]>,
    ) -> Result<LookupResult> {
        self.0.lookup_in(layout, keys, features).await
    }

    async fn describe(&self, table: &str) -> Result<Option<PublishedTable>> {
        self.0.describe(table).await
    }

    async fn list(&self) -> Result<Vec<PublishedTable>> {
        self.0.list().await
    }

    async fn history(&self, table: &str, limit: usize) -> Result<Vec<PublishHistoryEntry>> {
        self.0.history(table, limit).await
    }

    async fn health(&self) -> Result<()> {
        self.0.health().await
    }

    async fn scan_page(
        &self,
        layout: &OnlineLayout,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Vec<Value>>> {
        self.0.scan_page(layout, after, limit).await
    }

    fn key_sort(&self, ftype: FeatureType) -> KeySort {
        self.0.key_sort(ftype)
    }
}

#[cfg(test)]
mod tests {
    use std::marker::PhantomData;

    use super::*;

    /// `Probe::<T>::WRITES` is true exactly when `T: OnlineWriter`: the inherent constant exists
    /// only under that bound, and the trait's `false` is the fallback (the `impls` crate's trick).
    struct Probe<T>(PhantomData<T>);
    trait NoWrite {
        const WRITES: bool = false;
    }
    impl<T> NoWrite for Probe<T> {}
    #[allow(dead_code)] // Read through the path below, which clippy does not see as a use.
    impl<T: OnlineWriter> Probe<T> {
        const WRITES: bool = true;
    }

    /// Checked when the test target compiles (a const block), so a `ReadStore` that could write
    /// fails the build of the tests.
    #[test]
    fn the_read_store_cannot_write_by_type() {
        const { assert!(Probe::<OnlineStore>::WRITES) };
        const { assert!(!Probe::<ReadStore>::WRITES) };
    }
}
