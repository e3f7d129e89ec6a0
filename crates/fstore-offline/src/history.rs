//! A table's commit history: one [`HistoryEntry`] per Delta version, newest first, read from the
//! commit-info action of each commit (what `DESCRIBE HISTORY` shows in Spark).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use deltalake::DeltaTable;
use deltalake::kernel::{Action, Version};
use deltalake::logstore::{LogStore, get_actions};
use serde::Serialize;

use crate::error::{Error, Result};

/// One commit of a feature table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub version: i64,
    /// When the commit was made (the writer's clock), if recorded.
    pub timestamp: Option<DateTime<Utc>>,
    /// Delta's operation name: `CREATE TABLE`, `WRITE`, `MERGE`, `SET TBLPROPERTIES`, ...
    pub operation: String,
    /// Operation parameters (mode, predicate, partition columns, ...).
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Operation metrics (rows inserted/updated, files added/removed, ...), when recorded.
    pub metrics: BTreeMap<String, serde_json::Value>,
    /// The writer, e.g. `delta-rs:1.1.3` or `Apache-Spark/3.5.0 Delta-Lake/3.1.0`.
    pub engine: Option<String>,
}

impl HistoryEntry {
    /// The first of `names` (delta-rs's snake_case or Spark's camelCase) present as an
    /// integer metric.
    fn metric(&self, names: &[&str]) -> Option<u64> {
        names.iter().find_map(|n| {
            let v = self.metrics.get(*n)?;
            v.as_u64().or_else(|| v.as_str()?.parse().ok())
        })
    }

    /// What the commit changed, in words, from its operation metrics: `MERGE  10 inserted,
    /// 90 updated, from 100 rows`, `WRITE (overwrite)  1000 rows`, `DELETE  3 rows`; the
    /// operation name alone when the writer recorded no metrics we know.
    pub fn summary(&self) -> String {
        let op = self.operation.as_str();
        let mode = self
            .parameters
            .get("mode")
            .and_then(|m| m.as_str())
            .map(str::to_ascii_lowercase);
        let rows = |n: u64| format!("{n} row{}", if n == 1 { "" } else { "s" });
        let what = match op {
            "MERGE" => {
                let mut parts = Vec::new();
                for (label, names) in [
                    (
                        "inserted",
                        ["num_target_rows_inserted", "numTargetRowsInserted"],
                    ),
                    (
                        "updated",
                        ["num_target_rows_updated", "numTargetRowsUpdated"],
                    ),
                    (
                        "deleted",
                        ["num_target_rows_deleted", "numTargetRowsDeleted"],
                    ),
                ] {
                    if let Some(n) = self.metric(&names)
                        && (n > 0 || label != "deleted")
                    {
                        parts.push(format!("{n} {label}"));
                    }
                }
                let mut text = parts.join(", ");
                if let Some(n) = self.metric(&["num_source_rows", "numSourceRows"]) {
                    text.push_str(&format!(", from {}", rows(n)));
                }
                text
            }
            "WRITE" | "CREATE TABLE" | "CREATE OR REPLACE TABLE" | "REPLACE TABLE" => self
                .metric(&["num_added_rows", "numOutputRows"])
                .map(rows)
                .unwrap_or_default(),
            "DELETE" => self
                .metric(&["num_deleted_rows", "numDeletedRows"])
                .map(rows)
                .unwrap_or_default(),
            "UPDATE" => self
                .metric(&["num_updated_rows", "numUpdatedRows"])
                .map(|n| format!("{} updated", rows(n)))
                .unwrap_or_default(),
            _ => String::new(),
        };
        let head = match (op, mode.as_deref()) {
            ("WRITE", Some(m)) => format!("{op} ({m})"),
            _ => op.to_string(),
        };
        let what = what.trim_start_matches(", ");
        if what.is_empty() {
            head
        } else {
            format!("{head}  {what}")
        }
    }

    /// One line for people: `version  timestamp  summary` (see [`HistoryEntry::summary`]);
    /// `Display` gives the raw parameters and metrics instead.
    pub fn summary_line(&self) -> String {
        let ts = self.timestamp.map_or_else(
            || "-".to_string(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        );
        format!("{:>5}  {ts}  {}", self.version, self.summary())
    }
}

impl std::fmt::Display for HistoryEntry {
    /// One line: `version  timestamp  OPERATION  param=value ...  [metric=value ...]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ts = self.timestamp.map_or_else(
            || "-".to_string(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        );
        write!(f, "{:>5}  {ts}  {}", self.version, self.operation)?;
        let plain = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        // The full schema and protocol are in the Delta log; a history line stays readable.
        const MAX: usize = 80;
        for (k, v) in &self.parameters {
            if matches!(k.as_str(), "metadata" | "protocol" | "location") {
                continue;
            }
            let text = plain(v);
            if text.chars().count() > MAX {
                let cut: String = text.chars().take(MAX).collect();
                write!(f, "  {k}={cut}…")?;
            } else {
                write!(f, "  {k}={text}")?;
            }
        }
        if !self.metrics.is_empty() {
            let m: Vec<String> = self
                .metrics
                .iter()
                .map(|(k, v)| format!("{k}={}", plain(v)))
                .collect();
            write!(f, "  [{}]", m.join(" "))?;
        }
        Ok(())
    }
}

/// Reads up to `limit` commits of `table`, newest first, stopping at versions whose log entry
/// has been cleaned up.
pub(crate) async fn read(table: &DeltaTable, limit: Option<usize>) -> Result<Vec<HistoryEntry>> {
    let Some(latest) = table.version() else {
        return Ok(vec![]);
    };
    let log_store = table.log_store();
    let limit = limit.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut version: Version = latest;
    loop {
        if out.len() >= limit {
            break;
        }
        let Some(bytes) = log_store
            .read_commit_entry(version)
            .await
            .map_err(Error::delta(format!("reading commit {version}")))?
        else {
            break;
        };
        let actions = get_actions(version, &bytes)
            .map_err(Error::delta(format!("parsing commit {version}")))?;
        out.push(entry(version, &actions));
        if version == 0 {
            break;
        }
        version -= 1;
    }
    Ok(out)
}

fn entry(version: Version, actions: &[Action]) -> HistoryEntry {
    let info = actions.iter().find_map(|a| match a {
        Action::CommitInfo(ci) => Some(ci),
        _ => None,
    });
    let mut e = HistoryEntry {
        version: version as i64,
        timestamp: None,
        operation: "UNKNOWN".into(),
        parameters: BTreeMap::new(),
        metrics: BTreeMap::new(),
        engine: None,
    };
    let Some(ci) = info else { return e };
    e.timestamp = ci
        .in_commit_timestamp
        .or(ci.timestamp)
        .and_then(DateTime::<Utc>::from_timestamp_millis);
    if let Some(op) = &ci.operation {
        e.operation = op.clone();
    }
    if let Some(p) = &ci.operation_parameters {
        e.parameters = p.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    }
    if let Some(serde_json::Value::Object(m)) = ci.info.get("operationMetrics") {
        e.metrics = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    }
    e.engine = ci.engine_info.clone().or_else(|| {
        ci.info
            .get("clientVersion")
            .and_then(|v| v.as_str())
            .map(str::to_string)
    });
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltalake::kernel::CommitInfo;

    #[test]
    fn entries_come_from_commit_info() {
        let mut ci = CommitInfo {
            timestamp: Some(1_700_000_000_000),
            operation: Some("MERGE".into()),
            operation_parameters: Some(
                [("predicate".to_string(), serde_json::json!("a = b"))].into(),
            ),
            engine_info: Some("delta-rs:1".into()),
            ..Default::default()
        };
        ci.info
            .insert("operationMetrics".into(), serde_json::json!({"rows": 3}));
        let e = entry(7, &[Action::CommitInfo(ci)]);
        assert_eq!(e.version, 7);
        assert_eq!(e.operation, "MERGE");
        assert_eq!(e.engine.as_deref(), Some("delta-rs:1"));
        assert_eq!(
            e.to_string(),
            "    7  2023-11-14T22:13:20.000Z  MERGE  predicate=a = b  [rows=3]"
        );
        assert_eq!(entry(0, &[]).to_string(), "    0  -  UNKNOWN");
    }

    fn with(op: &str, params: serde_json::Value, metrics: serde_json::Value) -> HistoryEntry {
        let mut ci = CommitInfo {
            operation: Some(op.into()),
            operation_parameters: Some(
                params
                    .as_object()
                    .expect("object")
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            ..Default::default()
        };
        ci.info.insert("operationMetrics".into(), metrics);
        entry(3, &[Action::CommitInfo(ci)])
    }

    #[test]
    fn summaries_say_what_changed() {
        let merge = with(
            "MERGE",
            serde_json::json!({"mergePredicate": "target.id = source.id"}),
            serde_json::json!({"num_target_rows_inserted": 10, "num_target_rows_updated": 90,
                "num_target_rows_deleted": 0, "num_source_rows": 100, "num_target_rows_copied": 801}),
        );
        assert_eq!(
            merge.summary(),
            "MERGE  10 inserted, 90 updated, from 100 rows"
        );
        assert_eq!(
            merge.summary_line(),
            "    3  -  MERGE  10 inserted, 90 updated, from 100 rows"
        );
        let write = with(
            "WRITE",
            serde_json::json!({"mode": "Overwrite"}),
            serde_json::json!({"num_added_rows": 1000, "num_added_files": 1}),
        );
        assert_eq!(write.summary(), "WRITE (overwrite)  1000 rows");
        // Spark's camelCase metrics, as strings.
        let delete = with(
            "DELETE",
            serde_json::json!({"predicate": "[\"(id <= 3)\"]"}),
            serde_json::json!({"numDeletedRows": "3"}),
        );
        assert_eq!(delete.summary(), "DELETE  3 rows");
        let create = with(
            "CREATE TABLE",
            serde_json::json!({"mode": "ErrorIfExists"}),
            serde_json::json!({"numOutputRows": 1}),
        );
        assert_eq!(create.summary(), "CREATE TABLE  1 row");
        let props = with(
            "SET TBLPROPERTIES",
            serde_json::json!({}),
            serde_json::json!({}),
        );
        assert_eq!(props.summary(), "SET TBLPROPERTIES");
    }
}
