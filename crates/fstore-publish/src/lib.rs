//! Publishing: moves a feature table from the offline Delta store into an online store.
//!
//! [`publish`] makes the online table hold the table's *published view* at its latest version:
//! the snapshot, optionally filtered and restricted to some features, latest row per key for
//! time-series tables. The first publish (and `--full`, `--mode overwrite`, and the cases below)
//! reads the whole view; later merge publishes read only what changed in the Delta log since the
//! version the online table records, and apply upserts and deletes (see
//! `fstore_offline::FeatureTable::changes_since`). A publish falls back to the whole view, and
//! says why in its [`Method`], when the log no longer covers the range, the schema, filter or
//! columns changed, or the Delta table was re-created. [`watch`] follows new versions as they
//! commit. [`stores`] opens online stores with the right identity: the write identity to
//! publish, the read identity to look up.
//!
//! Crash safety: every write is one online transaction together with the bookkeeping row that
//! names the Delta version it reached (or, for MySQL's table swap, a protocol with the same
//! effect), checked against what the row recorded before, so the recorded version moves forward
//! only with the data it names. Applying the changes since the recorded version to the table
//! it describes yields the new view; so killing a publish at any instant and running it again
//! leaves the online table equal to the offline view.
//!
//! Invariant: nothing is written online before every row of that write has been read and
//! validated (a long incremental publish writes in chunks, each complete and recorded); the
//! bookkeeping row is written by the backend with (or, MySQL swap, settled after) the data it
//! describes.

pub mod history;
pub mod init;
pub mod status;
pub mod stores;
pub mod verify;
mod watch;

pub use watch::{WatchOptions, WatchUpdate, watch};

use std::time::{Duration, Instant, SystemTime};

use arrow::datatypes::Schema;
use fstore_core::{Progress, TableName};
use fstore_offline::{CommitSummary, Coverage, FeatureTable, OfflineStore, TimeTravel};
use fstore_online::{
    Applied, ChangeSet, Expect, OnlineLayout, OnlineReader, OnlineStore, OnlineWriter,
    PublishRecord, PublishSource, PublishedTable, RowStream, Rows, StoreError, StoreErrorKind,
    WriteMeta, WriteMode, WriteReport,
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
    /// Other publishers of the same table kept moving it on.
    #[error("{0}")]
    Conflict(String),
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
    /// Publish only these features (plus all keys). Merge only, as in Databricks.
    pub features: Option<Vec<String>>,
    /// Resend the whole published view even when the changes since the last publish could be
    /// read from the Delta log (merge mode: also deletes online keys the view no longer has).
    pub full: bool,
}

impl Default for PublishOptions {
    fn default() -> Self {
        Self {
            mode: WriteMode::Merge,
            online_table: None,
            filter: None,
            features: None,
            full: false,
        }
    }
}

/// How a publish moved the rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    /// Only the changes after `from_version` were read from the Delta log and applied.
    Incremental {
        from_version: i64,
        /// Did any commit provide change data files (`delta.enableChangeDataFeed`)? Otherwise
        /// the rows of added and removed data files were compared.
        change_data_feed: bool,
    },
    /// The whole published view was read and sent; `reason` says why.
    Full { reason: String },
    /// The online table already holds the latest version; nothing was written.
    UpToDate,
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Method::Incremental {
                from_version,
                change_data_feed,
            } => write!(
                f,
                "incremental from version {from_version} ({})",
                if *change_data_feed {
                    "change data feed"
                } else {
                    "added and removed files"
                }
            ),
            Method::Full { reason } => write!(f, "full ({reason})"),
            Method::UpToDate => f.write_str("up to date"),
        }
    }
}

/// What a publish did.
#[derive(Clone, Debug)]
pub struct PublishReport {
    pub feature_table: String,
    pub online_table: String,
    /// The Delta version now online.
    pub delta_version: i64,
    /// When that version was committed, if the log says.
    pub committed_at: Option<SystemTime>,
    pub mode: WriteMode,
    pub method: Method,
    /// Rows read from the offline table: the view's rows for a full publish, the change rows
    /// (before netting) for an incremental one.
    pub rows_read: u64,
    /// Rows upserted and keys deleted online (incremental), or the rows sent (full).
    pub upserts: u64,
    pub deletes: u64,
    /// Transactions the publish committed (an incremental publish of a long range commits in
    /// chunks, each recording the version it reached).
    pub commits: u32,
    pub read_elapsed: Duration,
    /// Counts of all the writes together.
    pub write: WriteReport,
    pub elapsed: Duration,
}

impl PublishReport {
    /// The closing summary `fstore publish` prints (and the Python package returns): what was
    /// published where, the counts, the size and the rate, then one `note:` line per note.
    pub fn summary(&self, store: &str) -> String {
        let w = &self.write;
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.rows_read as f64 / secs
        } else {
            0.0
        };
        let versions = match &self.method {
            Method::Incremental { from_version, .. } => {
                format!("versions {}..={}", from_version + 1, self.delta_version)
            }
            _ => format!("Delta version {}", self.delta_version),
        };
        let mut text = format!(
            "published {} ({versions}) to {store}:{} in {} mode, {}\n  rows: {} read, {} inserted, {} updated, {} skipped (online newer), {} deleted\n  {:.1} MB in {:.2}s ({:.0} rows/s)",
            self.feature_table,
            self.online_table,
            self.mode.as_str(),
            self.method,
            self.rows_read,
            w.inserted,
            w.updated,
            w.skipped_older,
            w.deleted,
            w.bytes as f64 / 1e6,
            secs,
            rate,
        );
        for note in &w.notes {
            text.push_str("\n  note: ");
            text.push_str(note);
        }
        text
    }
}

/// The online table name for a feature table: its name without the schema, as Databricks does.
pub fn default_online_table(name: &TableName) -> String {
    name.table().to_string()
}

/// Parquet bytes of changes read and applied in one transaction: bounds a publish's memory.
pub const MAX_CHUNK_BYTES: u64 = 64 << 20;
/// Above this many times the table's size, reading the changes costs more than reading the
/// table: publish the whole view instead.
const MAX_CHANGE_TO_TABLE_RATIO: u64 = 8;
/// Attempts when another publisher moves the recorded version between our read and our write.
const MAX_ATTEMPTS: u32 = 5;

/// Publishes `name` from `offline` into `store`.
///
/// In merge mode, when the online table's bookkeeping row records an earlier version of the same
/// Delta table published with the same filter and columns, only the changes since that version
/// are read from the Delta log and applied (upserts and deletes, in chunks of at most
/// [`MAX_CHUNK_BYTES`] of changed data, each one transaction with its bookkeeping row).
/// Otherwise, or with [`PublishOptions::full`], the whole view is sent; the report's [`Method`]
/// says which and why. Every write checks, under the online table's write lock, that the
/// recorded version is the one this publish started from (incremental) or not newer than the one
/// it read (full); when another publisher got there first, this one starts over from what was
/// recorded.
///
/// Every call whose online table name is valid appends one row to the store's publish history
/// (see [`history`]), the failed ones included.
pub async fn publish(
    offline: &OfflineStore,
    store: &OnlineStore,
    name: &TableName,
    opts: &PublishOptions,
    progress: &dyn Progress,
) -> Result<PublishReport> {
    let online_table = match &opts.online_table {
        Some(t) => t.clone(),
        None => default_online_table(name),
    };
    fstore_core::ident::validate_online_table_name(&online_table)?;
    let started = history::Started::now(store, name, &online_table).await;
    let result = publish_once(offline, store, name, opts, progress).await;
    history::record(store, started, &result).await;
    result
}

async fn publish_once(
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

    let mut recorded = None;
    for attempt in 1..=MAX_ATTEMPTS {
        progress.set_stage("reading the offline table");
        let table = offline.open(name).await?;
        let target = Target::new(name, &table, &online_table, opts)?;
        let current = store.describe(&online_table).await?;
        let outcome = match plan(opts, &target, current.as_ref()) {
            Plan::UpToDate => Outcome::Done(target.report(started, Method::UpToDate)),
            Plan::Incremental { from } => {
                match incremental(offline, store, &target, &table, from, progress, started).await? {
                    Outcome::Fallback(reason) => {
                        tracing::warn!(table = %name, online_table, %reason, "publishing the whole table instead of the changes");
                        full(
                            store,
                            &target,
                            &table,
                            Kind::Sync,
                            reason,
                            progress,
                            started,
                        )
                        .await?
                    }
                    other => other,
                }
            }
            Plan::Full { kind, reason } => {
                tracing::info!(table = %name, online_table, %reason, "publishing the whole table");
                full(store, &target, &table, kind, reason, progress, started).await?
            }
        };
        match outcome {
            Outcome::Done(report) => {
                tracing::info!(table = %name, online_table, version = report.delta_version, method = %report.method, upserts = report.upserts, deletes = report.deletes, "published");
                return Ok(report);
            }
            Outcome::Conflict(v) => {
                recorded = v;
                tracing::info!(table = %name, online_table, attempt, recorded = ?v, "another publish moved the online table on; starting over from what it recorded");
            }
            Outcome::Fallback(reason) => {
                return Err(Error::Conflict(format!(
                    "cannot publish `{name}`: {reason}"
                )));
            }
        }
    }
    Err(Error::Conflict(format!(
        "`{online_table}` kept being changed by other publishes of `{name}` (it now records version {}); try again",
        recorded.map_or_else(|| "none".to_string(), |v: i64| v.to_string())
    )))
}

/// What one publish aims at: the view of one version of the feature table.
struct Target {
    name: TableName,
    online_table: String,
    columns: Vec<String>,
    layout: OnlineLayout,
    source: PublishSource,
    version: i64,
    committed_at: Option<SystemTime>,
    mode: WriteMode,
}

impl Target {
    fn new(
        name: &TableName,
        table: &FeatureTable,
        online_table: &str,
        opts: &PublishOptions,
    ) -> Result<Self> {
        let columns = select_columns(table, opts.features.as_deref())?;
        let schema = Schema::new(
            columns
                .iter()
                .map(|c| table.schema.field_with_name(c).cloned())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::BadOptions(e.to_string()))?,
        );
        let layout = OnlineLayout::new(online_table, &schema, &table.spec)?;
        Ok(Self {
            name: name.clone(),
            online_table: online_table.to_string(),
            source: PublishSource {
                table_id: table.table_id()?,
                filter: opts.filter.clone(),
                columns: columns.clone(),
            },
            columns,
            layout,
            version: table.version,
            committed_at: table.committed_at(),
            mode: opts.mode,
        })
    }

    fn meta(&self, version: i64, expect: Expect) -> WriteMeta {
        WriteMeta {
            record: PublishRecord {
                feature_table: self.name.to_string(),
                delta_version: version,
            },
            source: Some(self.source.clone()),
            expect,
        }
    }

    fn report(&self, started: Instant, method: Method) -> PublishReport {
        PublishReport {
            feature_table: self.name.to_string(),
            online_table: self.online_table.clone(),
            delta_version: self.version,
            committed_at: self.committed_at,
            mode: self.mode,
            method,
            rows_read: 0,
            upserts: 0,
            deletes: 0,
            commits: 0,
            read_elapsed: Duration::ZERO,
            write: WriteReport::default(),
            elapsed: started.elapsed(),
        }
    }
}

/// How to send the whole view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Replace the online table (`--mode overwrite`).
    Overwrite,
    /// Upsert, leaving other online rows alone (first publish, or another publication).
    Merge,
    /// Upsert and delete the online keys the view no longer has: the same publication, resent.
    Sync,
}

enum Plan {
    UpToDate,
    Incremental { from: i64 },
    Full { kind: Kind, reason: String },
}

// One value per publish attempt, moved once: boxing the report would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Outcome {
    Done(PublishReport),
    /// Another publisher moved the bookkeeping row; it records this version now.
    Conflict(Option<i64>),
    /// The changes cannot be read incrementally; why.
    Fallback(String),
}

/// Decides how to publish `target` given what the online table records.
fn plan(opts: &PublishOptions, target: &Target, current: Option<&PublishedTable>) -> Plan {
    let full = |kind, reason: String| Plan::Full { kind, reason };
    let t = &target.online_table;
    if opts.mode == WriteMode::Overwrite {
        return full(Kind::Overwrite, "--mode overwrite".into());
    }
    let Some(cur) = current else {
        return full(Kind::Merge, format!("first publish to `{t}`"));
    };
    if cur.feature_table != target.name.to_string() {
        return full(
            Kind::Merge,
            format!("`{t}` was last published from `{}`", cur.feature_table),
        );
    }
    let Some(src) = &cur.source else {
        return full(
            Kind::Merge,
            format!("`{t}` has no record of what was published last (written by an older fstore)"),
        );
    };
    if src.table_id != target.source.table_id {
        return full(
            Kind::Sync,
            "the Delta table was re-created since the last publish".into(),
        );
    }
    if src.filter != target.source.filter {
        return full(
            Kind::Merge,
            "the filter differs from the last publish; rows published under the old one stay online (--mode overwrite removes them)".into(),
        );
    }
    if src.columns != target.source.columns {
        return full(
            Kind::Sync,
            "the published columns changed since the last publish".into(),
        );
    }
    if !layout_compatible(&cur.layout, &target.layout) {
        return full(
            Kind::Sync,
            "the schema changed since the last publish".into(),
        );
    }
    if opts.full {
        return full(Kind::Sync, "--full".into());
    }
    if cur.delta_version >= target.version {
        if cur.delta_version > target.version {
            tracing::warn!(online_table = %t, recorded = cur.delta_version, latest = target.version, "the online table records a version newer than the table's latest");
        }
        return Plan::UpToDate;
    }
    Plan::Incremental {
        from: cur.delta_version,
    }
}

/// Same keys, same timestamp key, and every published column online with the same type.
fn layout_compatible(online: &OnlineLayout, publish: &OnlineLayout) -> bool {
    online.primary_keys == publish.primary_keys
        && online.timestamp_key == publish.timestamp_key
        && publish
            .columns
            .iter()
            .all(|c| online.column(&c.name).is_some_and(|o| o.ftype == c.ftype))
}

/// Sends the whole view of `table`.
async fn full(
    store: &OnlineStore,
    target: &Target,
    table: &FeatureTable,
    kind: Kind,
    reason: String,
    progress: &dyn Progress,
    started: Instant,
) -> Result<Outcome> {
    progress.set_stage("reading the offline table");
    let filter = target.source.filter.as_deref();
    // The view streams from the Delta scan into the store chunk by chunk (each validated by
    // the backend before it is sent); the live table changes only after the last chunk.
    let view = table.view_stream(Some(&target.columns), filter).await?;
    let read = ReadTracker::default();
    let rows = read.track(view);
    if let Some(n) = rows.rows_hint() {
        progress.set_total(n);
    }
    progress.set_stage(match kind {
        Kind::Overwrite => "writing the new online table",
        Kind::Merge | Kind::Sync => "merging into the online table",
    });
    let rows = match kind {
        Kind::Overwrite => Rows::Overwrite(rows),
        Kind::Merge => Rows::Merge(rows),
        Kind::Sync => Rows::Sync(rows),
    };
    let meta = target.meta(table.version, Expect::AtMost(table.version));
    let applied = store.apply(&target.layout, rows, &meta, progress).await;
    // A failed read of the offline table is reported as itself, not as the store's error.
    if let Some(e) = read.take_error() {
        return Err(e.into());
    }
    match applied? {
        Applied::Conflict { recorded_version } => Ok(Outcome::Conflict(recorded_version)),
        Applied::Written(write) => {
            let rows_read = write.rows_in;
            tracing::info!(table = %target.name, version = table.version, rows = rows_read, "published offline snapshot");
            let mut report = target.report(started, Method::Full { reason });
            report.rows_read = rows_read;
            report.upserts = rows_read;
            report.deletes = write.deleted;
            report.commits = 1;
            report.read_elapsed = read.elapsed();
            report.write = write;
            report.elapsed = started.elapsed();
            Ok(Outcome::Done(report))
        }
    }
}

/// Watches the offline view while the store pulls it: keeps the first read error (so the
/// publish fails with the offline error, not a wrapped one) and the time spent reading.
#[derive(Clone, Default)]
struct ReadTracker {
    inner: std::sync::Arc<std::sync::Mutex<ReadState>>,
}

#[derive(Default)]
struct ReadState {
    error: Option<fstore_offline::Error>,
    elapsed: Duration,
}

impl ReadTracker {
    fn track(&self, view: fstore_offline::ViewStream) -> RowStream {
        use futures::StreamExt;
        use std::task::Poll;
        let tracker = self.clone();
        let mut batches = view.batches;
        let stream = futures::stream::poll_fn(move |cx| {
            let t = Instant::now();
            let polled = batches.poll_next_unpin(cx);
            let mut state = tracker.inner.lock().unwrap_or_else(|e| e.into_inner());
            state.elapsed += t.elapsed();
            match polled {
                Poll::Ready(Some(Ok(b))) => Poll::Ready(Some(Ok(b))),
                Poll::Ready(Some(Err(e))) => {
                    let msg = e.to_string();
                    state.error.get_or_insert(e);
                    Poll::Ready(Some(Err(StoreError::new(
                        StoreErrorKind::Database,
                        format!("reading the offline table failed: {msg}"),
                    ))))
                }
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            }
        });
        RowStream::new(stream, view.rows_hint)
    }

    fn take_error(&self) -> Option<fstore_offline::Error> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .error
            .take()
    }

    fn elapsed(&self) -> Duration {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).elapsed
    }
}

/// Reads the changes of `(from, table.version]` from the Delta log and applies them, in chunks.
#[allow(clippy::too_many_arguments)]
async fn incremental(
    offline: &OfflineStore,
    store: &OnlineStore,
    target: &Target,
    table: &FeatureTable,
    from: i64,
    progress: &dyn Progress,
    started: Instant,
) -> Result<Outcome> {
    progress.set_stage("reading the Delta log");
    let commits = match table.commits_since(from, &target.columns).await? {
        Coverage::Covered(c) => c,
        Coverage::NotCovered(why) => return Ok(Outcome::Fallback(why)),
    };
    let change_bytes: u64 = commits.iter().map(|c| c.bytes).sum();
    let table_bytes = table.data_bytes()?;
    if change_bytes > MAX_CHANGE_TO_TABLE_RATIO * table_bytes.max(1 << 20) {
        return Ok(Outcome::Fallback(format!(
            "the changes since version {from} ({:.1} MB of data files) outweigh the table ({:.1} MB)",
            change_bytes as f64 / 1e6,
            table_bytes as f64 / 1e6
        )));
    }
    let mut report = target.report(
        started,
        Method::Incremental {
            from_version: from,
            change_data_feed: false,
        },
    );
    let mut used_cdf = false;
    let mut read_elapsed = Duration::ZERO;
    let mut prev = from;
    for end in chunk_ends(&commits, MAX_CHUNK_BYTES) {
        let read_start = Instant::now();
        progress.set_stage("reading changes");
        let handle = if end == table.version {
            table.clone()
        } else {
            offline
                .open_at(&target.name, TimeTravel::Version(end))
                .await?
        };
        let changes = match handle
            .changes_since(prev, &target.columns, target.source.filter.as_deref())
            .await?
        {
            Coverage::Covered(c) => c,
            Coverage::NotCovered(why) => return Ok(Outcome::Fallback(why)),
        };
        read_elapsed += read_start.elapsed();
        used_cdf |= changes.used_change_data;
        let (ups, dels) = (changes.upsert_rows(), changes.delete_rows());

        // Every row of the new view changed or is new (a daily recompute, say): the store may
        // write it as a new table instead of updating every row in place.
        let whole_view = target.source.filter.is_none()
            && target.layout.timestamp_key.is_none()
            && ups > 0
            && handle.row_count()? == Some(ups);
        tracing::info!(table = %target.name, from = prev, to = end, change_rows = changes.change_rows, upserts = ups, deletes = dels, whole_view, "read the changes");
        progress.set_total(ups);
        progress.set_stage("applying changes");
        let rows = Rows::Changes(ChangeSet {
            upserts: changes.upserts,
            deletes: changes.deletes,
            complete: false,
            whole_view,
        });
        let meta = target.meta(end, Expect::Exactly(prev));
        match store.apply(&target.layout, rows, &meta, progress).await? {
            Applied::Conflict { recorded_version } => {
                return Ok(Outcome::Conflict(recorded_version));
            }
            Applied::Written(w) => {
                report.rows_read += changes.change_rows;
                report.upserts += ups;
                report.deletes += dels;
                report.commits += 1;
                add_counts(&mut report.write, &w);
            }
        }
        prev = end;
    }
    report.method = Method::Incremental {
        from_version: from,
        change_data_feed: used_cdf,
    };
    report.read_elapsed = read_elapsed;
    report.elapsed = started.elapsed();
    Ok(Outcome::Done(report))
}

/// The last version of each chunk: consecutive commits whose changed data stays under
/// `max_bytes` (a larger commit is a chunk of its own).
fn chunk_ends(commits: &[CommitSummary], max_bytes: u64) -> Vec<i64> {
    let mut ends = Vec::new();
    let mut acc = 0u64;
    for (i, c) in commits.iter().enumerate() {
        if acc > 0 && acc.saturating_add(c.bytes) > max_bytes {
            ends.push(commits[i - 1].version);
            acc = 0;
        }
        acc = acc.saturating_add(c.bytes);
    }
    if let Some(last) = commits.last() {
        ends.push(last.version);
    }
    ends
}

fn add_counts(total: &mut WriteReport, w: &WriteReport) {
    total.rows_in += w.rows_in;
    total.inserted += w.inserted;
    total.updated += w.updated;
    total.skipped_older += w.skipped_older;
    total.deleted += w.deleted;
    total.bytes += w.bytes;
    total.elapsed += w.elapsed;
    total.notes.extend(w.notes.iter().cloned());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(version: i64, bytes: u64) -> CommitSummary {
        CommitSummary {
            version,
            timestamp: None,
            bytes,
            data_change: bytes > 0,
        }
    }

    #[test]
    fn chunks_group_commits_up_to_the_byte_budget() {
        let c = [
            commit(3, 40),
            commit(4, 50),
            commit(5, 0),
            commit(6, 200),
            commit(7, 10),
        ];
        assert_eq!(chunk_ends(&c, 100), [5, 6, 7]);
        assert_eq!(chunk_ends(&c, 1000), [7]);
        assert_eq!(chunk_ends(&c[..1], 1), [3]);
        assert!(chunk_ends(&[], 100).is_empty());
    }
}
