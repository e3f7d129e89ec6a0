//! `fstore online status`: printing [`fstore_publish::status`] per online table.

use fstore_publish::status::TableStatus;
use fstore_publish::stores::open_reader;

use crate::cmd::lookup::LookupFormat;
use crate::cmd::online_history::fmt_ms;
use crate::context::Context;

#[derive(clap::Args)]
pub struct StatusArgs {
    /// Online store name (default: the only configured store).
    #[arg(long)]
    pub store: Option<String>,
    /// Output: a table for people or JSON lines (one object per online table).
    #[arg(long, value_enum, default_value = "table")]
    pub format: LookupFormat,
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// `3m 20s`-style duration for the lag column.
pub fn fmt_secs(s: f64) -> String {
    fstore_publish::status::fmt_seconds(s)
}

fn line(t: &TableStatus) -> String {
    let lag = match (t.lag_versions, t.lag_seconds) {
        (Some(0), _) => "up to date".to_string(),
        (Some(v), Some(s)) => format!("{v} versions, {}", fmt_secs(s)),
        (Some(v), None) => format!("{v} versions"),
        (None, _) => "?".to_string(),
    };
    let last = match &t.last_publish {
        None => "-".to_string(),
        Some(p) => format!(
            "{} {} ({:.2}s)",
            fmt_ms(p.finished_at_ms),
            if p.ok {
                p.method.as_deref().unwrap_or("ok").to_string()
            } else {
                p.outcome.clone()
            },
            p.seconds
        ),
    };
    let mut s = format!(
        "{:<24} {:<28} {:>9} {:>7}  {:<22} {last}",
        t.online_table,
        t.feature_table,
        t.published_version,
        opt(t.latest_version),
        lag
    );
    if let Some(e) = &t.offline_error {
        s.push_str(&format!("\n  offline table unreadable: {e}"));
    }
    s
}

pub async fn run(a: StatusArgs, ctx: &Context) -> anyhow::Result<()> {
    let offline = ctx.offline()?;
    let (store_name, s) = open_reader(&ctx.config, a.store.as_deref()).await?;
    let rows = fstore_publish::status::status(&offline, &s).await?;
    match a.format {
        LookupFormat::Json => {
            for t in &rows {
                println!("{}", serde_json::to_string(t)?);
            }
        }
        LookupFormat::Table => {
            if rows.is_empty() {
                ctx.say(format!("no tables published in {store_name}"));
                return Ok(());
            }
            println!(
                "{:<24} {:<28} {:>9} {:>7}  {:<22} last publish",
                "online table", "feature table", "published", "latest", "lag"
            );
            for t in &rows {
                println!("{}", line(t));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lags_read_as_durations() {
        assert_eq!(fmt_secs(5.2), "5s");
        assert_eq!(fmt_secs(200.0), "3m 20s");
        assert_eq!(fmt_secs(7300.0), "2h 1m");
        assert_eq!(fmt_secs(90_000.0), "1d 1h");
    }
}
