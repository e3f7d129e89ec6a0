//! The publish history, backend-neutral: what [`crate::publish`] records about each call (one
//! row per publish, `--watch` cycles included) and the status of published tables.
//!
//! The row is written after the publish ended, as a separate small write
//! ([`OnlineWriter::record_publish`]): a failed publish has written nothing online, and recording it
//! does not change that; a failure to record is logged and never replaces the publish's own
//! result.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use fstore_core::TableName;
use fstore_online::{OnlineReader, OnlineStore, OnlineWriter, PublishHistoryEntry};

use crate::{Method, PublishReport, Result};

fn epoch_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What is known when a publish starts.
pub(crate) struct Started {
    entry: PublishHistoryEntry,
    clock: Instant,
}

impl Started {
    /// Reads the version the online table records now (None when unpublished or unreadable:
    /// the publish itself reports a store that cannot be read).
    pub(crate) async fn now(store: &OnlineStore, name: &TableName, online_table: &str) -> Self {
        let started_at_ms = epoch_ms(SystemTime::now());
        let clock = Instant::now();
        let version_from = match store.describe(online_table).await {
            Ok(p) => p.map(|p| p.delta_version),
            Err(_) => None,
        };
        Self {
            entry: PublishHistoryEntry {
                online_table: online_table.to_string(),
                feature_table: name.to_string(),
                version_from,
                started_at_ms,
                ..Default::default()
            },
            clock,
        }
    }
}

/// The history row of a publish that started as `started` and ended with `result`.
pub(crate) fn entry(started: Started, result: &Result<PublishReport>) -> PublishHistoryEntry {
    let mut e = started.entry;
    e.seconds = started.clock.elapsed().as_secs_f64();
    e.finished_at_ms = epoch_ms(SystemTime::now());
    match result {
        Ok(r) => {
            let (method, detail) = method_fields(&r.method);
            e.method = Some(method.to_string());
            e.method_detail = detail;
            e.version_to = Some(r.delta_version);
            e.inserted = r.write.inserted;
            e.updated = r.write.updated;
            e.deleted = r.write.deleted;
            e.bytes = r.write.bytes;
        }
        Err(err) => e.error = Some(err.to_string()),
    }
    e
}

/// `full` / `incremental` / `up to date`, and why.
pub fn method_fields(m: &Method) -> (&'static str, Option<String>) {
    match m {
        Method::Incremental {
            from_version,
            change_data_feed,
        } => (
            "incremental",
            Some(format!(
                "changes after version {from_version} from {}",
                if *change_data_feed {
                    "the change data feed"
                } else {
                    "added and removed files"
                }
            )),
        ),
        Method::Full { reason } => ("full", Some(reason.clone())),
        Method::UpToDate => ("up to date", None),
    }
}

/// Records the publish; a failure to record is logged, never returned.
pub(crate) async fn record(store: &OnlineStore, started: Started, result: &Result<PublishReport>) {
    let e = entry(started, result);
    if let Err(err) = store.record_publish(&e).await {
        tracing::warn!(online_table = %e.online_table, error = %err, "could not record the publish in the publish history");
    }
}
