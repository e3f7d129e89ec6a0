//! `fstore online status`: per online table, what is published, how far it lags the offline
//! table, and how the last publish went. A library call returning plain structs
//! ([`TableStatus`], `serde::Serialize`) so the CLI and a web page print the same facts.
//!
//! Everything here is read-only: the bookkeeping row and history come from the store (the read
//! identity suffices), the versions and commit times from the Delta log (no data files read).
//! A feature table that cannot be opened (dropped, moved) does not fail the whole status: its
//! row says why in [`TableStatus::offline_error`].

use std::time::{SystemTime, UNIX_EPOCH};

use fstore_core::TableName;
use fstore_offline::{OfflineStore, TimeTravel};
use fstore_online::{OnlineReader, PublishHistoryEntry, PublishedTable};
use serde::Serialize;

use crate::Result;

/// The last publish attempt recorded in the history (see [`crate::history`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LastPublish {
    /// Milliseconds since the epoch when it finished.
    pub finished_at_ms: i64,
    /// `ok`, or `error: <message>`.
    pub outcome: String,
    pub ok: bool,
    /// `full`, `incremental`, `up to date`; None when it failed before choosing.
    pub method: Option<String>,
    pub seconds: f64,
}

/// One online table's status.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TableStatus {
    pub online_table: String,
    /// `<schema>.<table>` it was published from.
    pub feature_table: String,
    /// The Delta version the bookkeeping row records as online.
    pub published_version: i64,
    /// When that version was committed (ms since the epoch), if the log still has it.
    pub published_committed_at_ms: Option<i64>,
    /// The feature table's newest Delta version (None: the table could not be opened).
    pub latest_version: Option<i64>,
    pub latest_committed_at_ms: Option<i64>,
    /// `latest_version - published_version` (0 when up to date).
    pub lag_versions: Option<i64>,
    /// Seconds between the published version's commit and the latest one's (0 when up to
    /// date; None when either time is unknown).
    pub lag_seconds: Option<f64>,
    /// Milliseconds since the epoch when the bookkeeping row was written.
    pub published_at_ms: i64,
    pub last_publish: Option<LastPublish>,
    /// Why the offline side could not be read, if it could not.
    pub offline_error: Option<String>,
}

impl TableStatus {
    /// The lag for people: `up to date`, `2 versions, 3m 20s` (the time between the published
    /// and the latest commit), `2 versions` when a commit time is unknown; None when the
    /// offline table could not be read.
    pub fn lag_text(&self) -> Option<String> {
        Some(match (self.lag_versions?, self.lag_seconds) {
            (0, _) => "up to date".to_string(),
            (1, Some(s)) => format!("1 version, {}", fmt_seconds(s)),
            (1, None) => "1 version".to_string(),
            (v, Some(s)) => format!("{v} versions, {}", fmt_seconds(s)),
            (v, None) => format!("{v} versions"),
        })
    }
}

/// `3m 20s`-style duration (whole seconds, two units at most).
pub fn fmt_seconds(s: f64) -> String {
    let s = s.round() as i64;
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

fn ms(t: SystemTime) -> Option<i64> {
    t.duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_millis() as i64)
}

impl From<&PublishHistoryEntry> for LastPublish {
    fn from(e: &PublishHistoryEntry) -> Self {
        Self {
            finished_at_ms: e.finished_at_ms,
            outcome: e.outcome(),
            ok: e.error.is_none(),
            method: e.method.clone(),
            seconds: e.seconds,
        }
    }
}

/// The status of every table in `store`'s bookkeeping, sorted by online table name.
pub async fn status(offline: &OfflineStore, store: &impl OnlineReader) -> Result<Vec<TableStatus>> {
    let mut tables = store.list().await?;
    tables.sort_by(|a, b| a.layout.table.cmp(&b.layout.table));
    let mut out = Vec::with_capacity(tables.len());
    for t in &tables {
        out.push(table_status(offline, store, t).await?);
    }
    Ok(out)
}

/// The status of one published table.
pub async fn table_status(
    offline: &OfflineStore,
    store: &impl OnlineReader,
    published: &PublishedTable,
) -> Result<TableStatus> {
    let last_publish = store
        .history(&published.layout.table, 1)
        .await?
        .first()
        .map(LastPublish::from);
    let mut s = TableStatus {
        online_table: published.layout.table.clone(),
        feature_table: published.feature_table.clone(),
        published_version: published.delta_version,
        published_committed_at_ms: None,
        latest_version: None,
        latest_committed_at_ms: None,
        lag_versions: None,
        lag_seconds: None,
        published_at_ms: published.published_at.saturating_mul(1000),
        last_publish,
        offline_error: None,
    };
    if let Err(e) = fill_offline(offline, published, &mut s).await {
        s.offline_error = Some(e.to_string());
    }
    Ok(s)
}

async fn fill_offline(
    offline: &OfflineStore,
    published: &PublishedTable,
    s: &mut TableStatus,
) -> Result<()> {
    let name = TableName::parse(&published.feature_table)?;
    let latest = offline.open(&name).await?;
    s.latest_version = Some(latest.version);
    s.latest_committed_at_ms = latest.committed_at().and_then(ms);
    s.lag_versions = Some((latest.version - published.delta_version).max(0));
    s.published_committed_at_ms = if published.delta_version == latest.version {
        s.latest_committed_at_ms
    } else {
        // The log may have been cleaned up past the published version: then its time is
        // unknown, which is not an error.
        match offline
            .open_at(&name, TimeTravel::Version(published.delta_version))
            .await
        {
            Ok(t) => t.committed_at().and_then(ms),
            Err(_) => None,
        }
    };
    s.lag_seconds = if s.lag_versions == Some(0) {
        Some(0.0)
    } else {
        match (s.published_committed_at_ms, s.latest_committed_at_ms) {
            (Some(p), Some(l)) => Some((l - p).max(0) as f64 / 1000.0),
            _ => None,
        }
    };
    Ok(())
}
