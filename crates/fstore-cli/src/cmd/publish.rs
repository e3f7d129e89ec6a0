//! `fstore publish`: offline feature table → online store, once or (`--watch`) continuously.

use std::sync::Arc;
use std::time::Duration;

use fstore_core::TableName;
use fstore_online::WriteMode;
use fstore_publish::stores::open_writer;
use fstore_publish::{PublishOptions, PublishReport, WatchOptions, WatchUpdate, publish, watch};
use fstore_serve::freshness::{PublishMetrics, Published, serve_publish_metrics};

use crate::cmd::tables::ModeArg;
use crate::context::Context;
use crate::progress::CliProgress;

#[derive(clap::Args)]
pub struct Args {
    /// Feature table to publish, `<schema>.<table>`.
    pub name: TableName,
    /// Online store name from fstore.toml (default: the only configured store).
    #[arg(long)]
    pub store: Option<String>,
    /// merge: upsert by key, leave other rows; overwrite: replace the online table atomically.
    #[arg(long, value_enum, default_value = "merge")]
    pub mode: ModeArg,
    /// Publish only rows matching this SQL predicate, e.g. "Pclass = 1".
    #[arg(long, value_name = "PREDICATE")]
    pub filter: Option<String>,
    /// Publish only these features (comma-separated; keys are always included). Merge only.
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    pub features: Option<Vec<String>>,
    /// Online table name (default: the feature table's name without the schema).
    #[arg(long, value_name = "NAME")]
    pub online_table: Option<String>,
    /// Resend the whole table instead of the changes since the last publish (merge mode: also
    /// deletes online keys the table no longer has).
    #[arg(long)]
    pub full: bool,
    /// Keep running: publish every new Delta version as it commits, until SIGINT/SIGTERM.
    #[arg(long)]
    pub watch: bool,
    /// With --watch: how often to look for new versions, e.g. 2s, 500ms, 1m.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration, requires = "watch")]
    pub interval: Duration,
    /// With --watch: serve Prometheus metrics on `http://ADDR/metrics` (publishes ok/failed,
    /// rows written, last published version, versions behind, lag seconds, last success time,
    /// publish duration histogram), e.g. 127.0.0.1:9464.
    #[arg(long, value_name = "ADDR", requires = "watch")]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

pub async fn run(a: Args, ctx: &Context) -> anyhow::Result<()> {
    let offline = ctx.offline()?;
    let (store_name, store) = open_writer(&ctx.config, a.store.as_deref()).await?;
    let opts = PublishOptions {
        mode: match a.mode {
            ModeArg::Merge => WriteMode::Merge,
            ModeArg::Overwrite => WriteMode::Overwrite,
        },
        online_table: a.online_table,
        filter: a.filter,
        features: a.features,
        full: a.full,
    };
    if a.watch {
        return run_watch(
            ctx,
            &offline,
            &store,
            &store_name,
            &a.name,
            &opts,
            a.interval,
            a.metrics_listen,
        )
        .await;
    }
    let progress = CliProgress::new(ctx.interactive, ctx.quiet);
    let result = publish(&offline, &store, &a.name, &opts, &progress).await;
    progress.finish();
    let report = result?;
    print_report(ctx, &store_name, &report);
    Ok(())
}

#[allow(clippy::too_many_arguments)] // One call site; the arguments are the command's.
async fn run_watch(
    ctx: &Context,
    offline: &fstore_offline::OfflineStore,
    store: &fstore_online::OnlineStore,
    store_name: &str,
    name: &TableName,
    opts: &PublishOptions,
    interval: Duration,
    metrics_listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<()> {
    // Listen before the first publish, so a signal during it is not fatal.
    let stop = shutdown_signal()?;
    let metrics = Arc::new(PublishMetrics::new());
    let (metrics_stop, metrics_task) = match metrics_listen {
        None => (None, None),
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                anyhow::anyhow!("cannot listen on {addr} for --metrics-listen: {e}")
            })?;
            let addr = listener.local_addr()?;
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(serve_publish_metrics(listener, metrics.clone(), async {
                let _ = rx.await;
            }));
            ctx.say(format!("metrics on http://{addr}/metrics"));
            (Some(tx), Some(task))
        }
    };
    let table = name.to_string();
    // Cycles print one line each; a progress bar would fight with them.
    let progress = CliProgress::new(false, true);
    ctx.say(format!(
        "watching {name} → {store_name} every {:.1}s (Ctrl-C or SIGTERM stops)",
        interval.as_secs_f64()
    ));
    let result = watch(
        offline,
        store,
        name,
        opts,
        &WatchOptions { interval },
        &progress,
        stop,
        |u: Result<&WatchUpdate, &fstore_publish::Error>| match u {
            Ok(u) => {
                metrics.published(
                    &table,
                    Published {
                        delta_version: u.report.delta_version,
                        rows_written: u.report.upserts + u.report.write.deleted,
                        duration: u.report.elapsed,
                        versions_behind: u.versions_behind,
                        lag: u.lag,
                    },
                );
                ctx.say(watch_line(u));
            }
            Err(_) => metrics.failed(&table),
        },
    )
    .await;
    if let (Some(tx), Some(task)) = (metrics_stop, metrics_task) {
        let _ = tx.send(());
        let _ = task.await;
    }
    result?;
    ctx.say(format!("stopped watching {name}"));
    Ok(())
}

/// Resolves at the first SIGINT or SIGTERM (registered now, not when first polled).
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// One line per watch cycle: what went online and the lag.
fn watch_line(u: &WatchUpdate) -> String {
    let r = &u.report;
    let latency = u.latency.map_or_else(String::new, |d| {
        format!(", {:.1}s after its commit", d.as_secs_f64())
    });
    let lag = u
        .lag
        .map_or_else(|| "?".to_string(), |d| format!("{:.1}s", d.as_secs_f64()));
    format!(
        "version {} online{latency} ({}: {} upserted, {} deleted, {:.2}s); lag: {lag}, {} version(s) behind",
        r.delta_version,
        r.method,
        r.upserts,
        r.write.deleted,
        r.elapsed.as_secs_f64(),
        u.versions_behind,
    )
}

/// The closing summary of a publish.
pub fn print_report(ctx: &Context, store: &str, r: &PublishReport) {
    ctx.say(r.summary(store));
}

/// `2s`, `500ms`, `1.5s`, `1m`, or a plain number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 2s, 500ms, 1m)"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}` (use ms, s, m or h)"
            ));
        }
    };
    if !secs.is_finite() || secs <= 0.0 || secs > 86_400.0 {
        return Err(format!("`{text}` must be between 1ms and 24h"));
    }
    Ok(Duration::from_secs_f64(secs.max(0.001)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("2 weeks").is_err());
        assert!(parse_duration("fast").is_err());
    }
}
