//! `fstore online history`: printing a table's publish history.

use fstore_online::{OnlineReader, PublishHistoryEntry};
use fstore_publish::stores::open_reader;

use crate::cmd::lookup::LookupFormat;
use crate::context::Context;

#[derive(clap::Args)]
pub struct HistoryArgs {
    /// Online table name.
    pub table: String,
    /// Online store name (default: the only configured store).
    #[arg(long)]
    pub store: Option<String>,
    /// Newest publishes to show.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    /// Output: a table for people or JSON lines (one object per publish, newest first).
    #[arg(long, value_enum, default_value = "table")]
    pub format: LookupFormat,
}

/// RFC 3339 in UTC, to the second.
pub fn fmt_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

fn version(v: Option<i64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn to_json(e: &PublishHistoryEntry) -> serde_json::Value {
    serde_json::json!({
        "id": e.id,
        "online_table": e.online_table,
        "feature_table": e.feature_table,
        "version_from": e.version_from,
        "version_to": e.version_to,
        "method": e.method,
        "method_detail": e.method_detail,
        "inserted": e.inserted,
        "updated": e.updated,
        "deleted": e.deleted,
        "bytes": e.bytes,
        "seconds": e.seconds,
        "started_at": fmt_ms(e.started_at_ms),
        "finished_at": fmt_ms(e.finished_at_ms),
        "ok": e.error.is_none(),
        "error": e.error,
    })
}

pub async fn run(a: HistoryArgs, ctx: &Context) -> anyhow::Result<()> {
    if a.limit == 0 {
        anyhow::bail!("--limit must be at least 1");
    }
    let (store_name, s) = open_reader(&ctx.config, a.store.as_deref()).await?;
    let rows = s.history(&a.table, a.limit).await?;
    match a.format {
        LookupFormat::Json => {
            for e in &rows {
                println!("{}", to_json(e));
            }
        }
        LookupFormat::Table => {
            if rows.is_empty() {
                ctx.say(format!(
                    "no publishes of `{}` recorded in {store_name}",
                    a.table
                ));
                return Ok(());
            }
            println!(
                "{:<20} {:>7} {:>7} {:<12} {:>9} {:>9} {:>9} {:>11} {:>8}  outcome",
                "started",
                "from",
                "to",
                "method",
                "inserted",
                "updated",
                "deleted",
                "bytes",
                "seconds"
            );
            for e in &rows {
                let method = e.method.as_deref().unwrap_or("-");
                let outcome = match (&e.error, &e.method_detail) {
                    (Some(err), _) => format!("error: {err}"),
                    (None, Some(d)) => format!("ok ({d})"),
                    (None, None) => "ok".to_string(),
                };
                println!(
                    "{:<20} {:>7} {:>7} {:<12} {:>9} {:>9} {:>9} {:>11} {:>8.2}  {}",
                    fmt_ms(e.started_at_ms),
                    version(e.version_from),
                    version(e.version_to),
                    method,
                    e.inserted,
                    e.updated,
                    e.deleted,
                    e.bytes,
                    e.seconds,
                    outcome
                );
            }
        }
    }
    Ok(())
}
