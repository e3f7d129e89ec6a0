//! Prometheus metrics about publishing, in the exposition style of [`crate::metrics`]:
//!
//! - [`PublishMetrics`]: what `fstore publish --watch --metrics-listen ADDR` serves on
//!   `/metrics` ([`serve_publish_metrics`]): per feature table, publishes by outcome, rows
//!   written, the last published Delta version, versions behind, lag and last success time,
//!   and a histogram of publish durations.
//! - [`render_freshness`]: the per-table freshness gauges `fstore serve` appends to its own
//!   `/metrics`, from the bookkeeping rows in its layout cache (published Delta version, publish
//!   time, seconds since then), so they are as fresh as the layouts it serves with.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use fstore_online::PublishedTable;
use tokio::net::TcpListener;

/// Upper bounds of the publish-duration buckets, in seconds (publishes take from milliseconds
/// for an incremental step to minutes for a full one).
pub const PUBLISH_BUCKETS: [f64; 14] = [
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// A label value in the exposition format (backslash, quote and newline escaped).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A gauge: name, help and how to read its value.
type Gauge<T, V> = (&'static str, &'static str, fn(T) -> V);
/// A freshness gauge's value for a table at a time (seconds since the epoch).
type FreshnessValue = fn(&PublishedTable, f64) -> f64;

#[derive(Default)]
struct TableFigures {
    ok: u64,
    failed: u64,
    rows_written: u64,
    last_version: Option<i64>,
    versions_behind: Option<i64>,
    lag_seconds: Option<f64>,
    last_success: Option<f64>,
    /// Per-bucket (not cumulative) counts; the last slot is `+Inf`.
    buckets: [u64; PUBLISH_BUCKETS.len() + 1],
    duration_sum: f64,
}

/// What one successful publish cycle reports to [`PublishMetrics::published`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Published {
    pub delta_version: i64,
    /// Rows upserted plus rows deleted.
    pub rows_written: u64,
    pub duration: Duration,
    pub versions_behind: i64,
    /// How stale the online table is after the cycle (None: unknown).
    pub lag: Option<Duration>,
}

/// Figures of `publish --watch`, per feature table. Updates are rare (one per cycle), so one
/// mutex is plenty.
#[derive(Default)]
pub struct PublishMetrics {
    tables: Mutex<BTreeMap<String, TableFigures>>,
}

impl PublishMetrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// A publish of `table` succeeded.
    pub fn published(&self, table: &str, p: Published) {
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let t = tables.entry(table.to_string()).or_default();
        t.ok += 1;
        t.rows_written += p.rows_written;
        t.last_version = Some(p.delta_version);
        t.versions_behind = Some(p.versions_behind);
        t.lag_seconds = p.lag.map(|d| d.as_secs_f64());
        t.last_success = Some(now_secs());
        let secs = p.duration.as_secs_f64();
        let i = PUBLISH_BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(PUBLISH_BUCKETS.len());
        t.buckets[i] += 1;
        t.duration_sum += secs;
    }

    /// A publish of `table` failed (it is retried at the next cycle).
    pub fn failed(&self, table: &str) {
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        tables.entry(table.to_string()).or_default().failed += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::with_capacity(2048);
        let head = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
        };
        let name = "fstore_publish_publishes_total";
        head(
            &mut out,
            name,
            "counter",
            "Publish cycles, by outcome (ok, failed).",
        );
        for (t, f) in tables.iter() {
            let t = label(t);
            let _ = writeln!(out, "{name}{{table=\"{t}\",outcome=\"ok\"}} {}", f.ok);
            let _ = writeln!(
                out,
                "{name}{{table=\"{t}\",outcome=\"failed\"}} {}",
                f.failed
            );
        }
        let name = "fstore_publish_rows_written_total";
        head(
            &mut out,
            name,
            "counter",
            "Rows upserted or deleted online.",
        );
        for (t, f) in tables.iter() {
            let _ = writeln!(out, "{name}{{table=\"{}\"}} {}", label(t), f.rows_written);
        }
        let gauges: [Gauge<&TableFigures, Option<f64>>; 4] = [
            (
                "fstore_publish_last_published_version",
                "The Delta version the last successful publish put online.",
                |f| f.last_version.map(|v| v as f64),
            ),
            (
                "fstore_publish_versions_behind",
                "Delta versions committed but not online after the last publish.",
                |f| f.versions_behind.map(|v| v as f64),
            ),
            (
                "fstore_publish_lag_seconds",
                "Age of the oldest commit not online after the last publish (0: up to date).",
                |f| f.lag_seconds,
            ),
            (
                "fstore_publish_last_success_timestamp_seconds",
                "When the last successful publish ended (seconds since the epoch).",
                |f| f.last_success,
            ),
        ];
        for (name, help, value) in gauges {
            head(&mut out, name, "gauge", help);
            for (t, f) in tables.iter() {
                if let Some(v) = value(f) {
                    let _ = writeln!(out, "{name}{{table=\"{}\"}} {v}", label(t));
                }
            }
        }
        let name = "fstore_publish_duration_seconds";
        head(
            &mut out,
            name,
            "histogram",
            "Time a successful publish took.",
        );
        for (t, f) in tables.iter() {
            let t = label(t);
            let mut cumulative = 0;
            for (i, b) in PUBLISH_BUCKETS.iter().enumerate() {
                cumulative += f.buckets[i];
                let _ = writeln!(
                    out,
                    "{name}_bucket{{table=\"{t}\",le=\"{b}\"}} {cumulative}"
                );
            }
            cumulative += f.buckets[PUBLISH_BUCKETS.len()];
            let _ = writeln!(
                out,
                "{name}_bucket{{table=\"{t}\",le=\"+Inf\"}} {cumulative}"
            );
            let _ = writeln!(out, "{name}_sum{{table=\"{t}\"}} {}", f.duration_sum);
            let _ = writeln!(out, "{name}_count{{table=\"{t}\"}} {cumulative}");
        }
        out
    }
}

/// A Prometheus text response.
pub fn metrics_response(text: String) -> Response {
    let mut resp = Response::new(Body::from(text));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// Serves `GET /metrics` (and nothing else) from `metrics` on `listener` until `shutdown`.
pub async fn serve_publish_metrics(
    listener: TcpListener,
    metrics: Arc<PublishMetrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let m = metrics.clone();
            async move { metrics_response(m.render()) }
        }),
    );
    crate::serve(listener, app, shutdown, crate::ListenOptions::default()).await
}

/// Freshness gauges for the published tables `fstore serve` holds layouts of.
pub fn render_freshness(tables: &[Arc<PublishedTable>], out: &mut String) {
    let now = now_secs();
    let mut tables: Vec<&PublishedTable> = tables.iter().map(|t| t.as_ref()).collect();
    tables.sort_by(|a, b| a.layout.table.cmp(&b.layout.table));
    let gauges: [(&str, &str, FreshnessValue); 3] = [
        (
            "fstore_serve_table_published_version",
            "The Delta version the table's bookkeeping row records as online.",
            |t, _| t.delta_version as f64,
        ),
        (
            "fstore_serve_table_published_timestamp_seconds",
            "When that version was published (seconds since the epoch).",
            |t, _| t.published_at as f64,
        ),
        (
            "fstore_serve_table_seconds_since_publish",
            "Seconds since the table was last published.",
            |t, now| (now - t.published_at as f64).max(0.0),
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for t in &tables {
            let _ = writeln!(
                out,
                "{name}{{table=\"{}\",feature_table=\"{}\"}} {}",
                label(&t.layout.table),
                label(&t.feature_table),
                value(t, now)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_figures_render_per_table_with_cumulative_buckets() {
        let m = PublishMetrics::new();
        m.published(
            "default.a",
            Published {
                delta_version: 3,
                rows_written: 10,
                duration: Duration::from_millis(200),
                versions_behind: 0,
                lag: Some(Duration::ZERO),
            },
        );
        m.published(
            "default.a",
            Published {
                delta_version: 4,
                rows_written: 5,
                duration: Duration::from_secs(40),
                versions_behind: 1,
                lag: None,
            },
        );
        m.failed("default.a");
        let text = m.render();
        for line in [
            "fstore_publish_publishes_total{table=\"default.a\",outcome=\"ok\"} 2",
            "fstore_publish_publishes_total{table=\"default.a\",outcome=\"failed\"} 1",
            "fstore_publish_rows_written_total{table=\"default.a\"} 15",
            "fstore_publish_last_published_version{table=\"default.a\"} 4",
            "fstore_publish_versions_behind{table=\"default.a\"} 1",
            "fstore_publish_duration_seconds_bucket{table=\"default.a\",le=\"0.25\"} 1",
            "fstore_publish_duration_seconds_bucket{table=\"default.a\",le=\"30\"} 1",
            "fstore_publish_duration_seconds_bucket{table=\"default.a\",le=\"60\"} 2",
            "fstore_publish_duration_seconds_count{table=\"default.a\"} 2",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        // The lag of the last cycle is unknown: no sample rather than a stale one.
        assert!(!text.contains("fstore_publish_lag_seconds{"), "{text}");
        assert_eq!(label("a\"b\\c"), "a\\\"b\\\\c");
    }
}
