//! Continuous publishing (`fstore publish --watch`): follows a feature table's Delta log and
//! publishes each new version as it commits.
//!
//! Each cycle lists the log (cheap: no data is read) and, when a version newer than the one online
//! appeared, runs one [`publish`] — incremental, so its cost and memory grow with the change, in
//! chunks of at most [`crate::MAX_CHUNK_BYTES`] of changed data. Between cycles it sleeps
//! `interval`. Every cycle reports the lag: versions committed but not yet online, and how long
//! after its commit the newest applied version went online.
//!
//! Stopping: when `stop` resolves, the watcher returns after the cycle in flight (each publish
//! transaction is atomic with its bookkeeping row, so even an abrupt end leaves the record
//! consistent; finishing the cycle just keeps its work). Online connection failures and storage
//! failures are logged and retried at the next cycle; other errors end the watch.

use std::future::Future;
use std::time::{Duration, SystemTime};

use fstore_core::{Progress, TableName};
use fstore_offline::{ErrorKind, OfflineStore};
use fstore_online::OnlineStore;

use crate::{Error, PublishOptions, PublishReport, Result, publish};

/// How to watch.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// Pause between two looks at the log.
    pub interval: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
        }
    }
}

/// What one cycle of [`watch`] published.
#[derive(Clone, Debug)]
pub struct WatchUpdate {
    pub report: PublishReport,
    /// The newest version in the log when the cycle ended.
    pub latest_version: i64,
    /// Versions committed but not yet online when the cycle ended.
    pub versions_behind: i64,
    /// How long after its commit the newest applied version went online (when the commit time is
    /// known and something was applied).
    pub latency: Option<Duration>,
    /// How stale the online table is when the cycle ends: zero when no version is behind, else
    /// the age of the oldest commit not yet online (when its commit time is known).
    pub lag: Option<Duration>,
}

/// Publishes `name` now and then every new version, until `stop` resolves. `on_update` is called
/// after every cycle that published something (`Ok`), and after every failed publish that the
/// next cycle retries (`Err`; a failure that ends the watch is returned instead).
#[allow(clippy::too_many_arguments)]
pub async fn watch<S, F>(
    offline: &OfflineStore,
    store: &OnlineStore,
    name: &TableName,
    opts: &PublishOptions,
    watch: &WatchOptions,
    progress: &dyn Progress,
    stop: S,
    mut on_update: F,
) -> Result<()>
where
    S: Future<Output = ()>,
    F: FnMut(std::result::Result<&WatchUpdate, &Error>),
{
    tokio::pin!(stop);
    let mut handle = offline.open(name).await?;
    // Only the first cycle honours --full / --mode overwrite; later ones follow the log.
    let mut cycle_opts = opts.clone();
    let mut online: Option<i64> = None;
    loop {
        let latest = match handle.latest_version().await {
            Ok(v) => Some(v),
            Err(e) if e.kind() == ErrorKind::Environment => {
                tracing::warn!(table = %name, error = %e, "cannot read the Delta log; retrying");
                None
            }
            Err(e) => return Err(e.into()),
        };
        let due = match (latest, online) {
            (Some(l), Some(o)) => l > o,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if due {
            match publish(offline, store, name, &cycle_opts, progress).await {
                Ok(report) => {
                    cycle_opts.full = false;
                    cycle_opts.mode = fstore_online::WriteMode::Merge;
                    online = Some(report.delta_version);
                    // Later log listings start from here.
                    if let Ok(h) = offline.open(name).await {
                        handle = h;
                    }
                    let latest_version = handle
                        .latest_version()
                        .await
                        .unwrap_or(report.delta_version)
                        .max(report.delta_version);
                    let latency = if report.method == crate::Method::UpToDate {
                        None
                    } else {
                        report
                            .committed_at
                            .and_then(|t| SystemTime::now().duration_since(t).ok())
                    };
                    let behind = latest_version - report.delta_version;
                    let lag = if behind > 0 {
                        oldest_pending_age(offline, name, report.delta_version).await
                    } else {
                        Some(Duration::ZERO)
                    };
                    let update = WatchUpdate {
                        versions_behind: behind,
                        latest_version,
                        latency,
                        lag,
                        report,
                    };
                    tracing::info!(
                        table = %name,
                        version = update.report.delta_version,
                        method = %update.report.method,
                        versions_behind = update.versions_behind,
                        latency_secs = update.latency.map(|d| d.as_secs_f64()),
                        lag_secs = update.lag.map(|d| d.as_secs_f64()),
                        "watch: published"
                    );
                    on_update(Ok(&update));
                }
                Err(e) if retryable(&e) => {
                    tracing::warn!(table = %name, error = %e, "watch: publishing failed; retrying");
                    on_update(Err(&e));
                }
                Err(e) => return Err(e),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(watch.interval) => {}
            _ = &mut stop => return Ok(()),
        }
    }
}

/// The age of the first commit after `online` (None when unknown).
async fn oldest_pending_age(
    offline: &OfflineStore,
    name: &TableName,
    online: i64,
) -> Option<Duration> {
    let table = offline.open(name).await.ok()?;
    let commits = match table.commits_since(online, &[]).await.ok()? {
        fstore_offline::Coverage::Covered(c) => c,
        fstore_offline::Coverage::NotCovered(_) => return None,
    };
    let committed = commits.first()?.timestamp?;
    let age = chrono::Utc::now().signed_duration_since(committed);
    age.to_std().ok()
}

/// Failures worth another try at the next cycle: the online store or the offline storage was
/// unreachable, or other publishers kept moving the table on.
fn retryable(e: &Error) -> bool {
    match e {
        Error::Online(e) => e.kind.is_retryable(),
        Error::Offline(e) => e.kind() == ErrorKind::Environment,
        Error::Conflict(_) => true,
        _ => false,
    }
}
