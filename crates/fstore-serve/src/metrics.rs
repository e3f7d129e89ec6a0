//! Prometheus metrics, hand-rolled: fixed label sets, lock-free histograms with fixed buckets, and
//! the text exposition format (version 0.0.4) for `GET /metrics`.
//!
//! - `fstore_serve_request_duration_seconds{route}`: histogram of request latency per route.
//! - `fstore_serve_requests_total{route,code}`: requests by route and status code.
//! - `fstore_serve_db_duration_seconds{op}`: histogram of time spent in the online store
//!   (`lookup`, `describe`, `health`).
//! - `fstore_serve_errors_total{kind}`: failed requests by error kind.
//! - `fstore_serve_requests_in_flight`: requests being handled now.
//! - `fstore_serve_lookup_keys_total`: keys looked up (rows × tables for vector lookups).
//! - `fstore_serve_coalesced_queries_total` / `fstore_serve_coalesced_lookups_total`: queries that
//!   served several requests at once, and the requests they served.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use crate::error::ErrorKind;

/// Upper bounds of the latency buckets, in seconds.
pub const BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// A latency histogram with [`BUCKETS`].
#[derive(Default)]
pub struct Histogram {
    /// Per-bucket (not cumulative) counts; the last slot is `+Inf`.
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The upper bound (seconds) of the bucket holding quantile `q`, as Prometheus'
    /// `histogram_quantile` would bound it; `None` past the last bucket or with no samples.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = (q * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            seen += self.counts[i].load(Ordering::Relaxed);
            if seen >= rank {
                return Some(*b);
            }
        }
        None
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{b}\"}} {cumulative}");
        }
        cumulative += self.counts[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
    }
}

/// The routes, as metric labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Route {
    TableLookup,
    VectorLookup,
    Healthz,
    Readyz,
    Metrics,
    OpenApi,
    /// The web page (`/ui`, every page and asset).
    Ui,
    Other,
}

impl Route {
    pub const ALL: [Route; 8] = [
        Route::TableLookup,
        Route::VectorLookup,
        Route::Healthz,
        Route::Readyz,
        Route::Metrics,
        Route::OpenApi,
        Route::Ui,
        Route::Other,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Route::TableLookup => "table_lookup",
            Route::VectorLookup => "vector_lookup",
            Route::Healthz => "healthz",
            Route::Readyz => "readyz",
            Route::Metrics => "metrics",
            Route::OpenApi => "openapi",
            Route::Ui => "ui",
            Route::Other => "other",
        }
    }

    /// The route a request path belongs to.
    pub fn of_path(path: &str) -> Route {
        match path {
            "/v1/feature-vectors/lookup" => Route::VectorLookup,
            "/healthz" => Route::Healthz,
            "/readyz" => Route::Readyz,
            "/metrics" => Route::Metrics,
            "/openapi.json" => Route::OpenApi,
            p if p == "/ui" || p.starts_with("/ui/") => Route::Ui,
            p if p.starts_with("/v1/feature-tables/") && p.ends_with("/lookup") => {
                Route::TableLookup
            }
            _ => Route::Other,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One route's requests so far: count, latency, status codes.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteSummary {
    pub route: Route,
    pub count: u64,
    pub mean: Duration,
    /// Bucket upper bounds (seconds) of the median and the 99th percentile; `None`: above the
    /// last bucket.
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    /// (status code, requests).
    pub codes: Vec<(u16, u64)>,
}

/// Online-store operations, as metric labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbOp {
    Lookup,
    Describe,
    Health,
}

impl DbOp {
    pub const ALL: [DbOp; 3] = [DbOp::Lookup, DbOp::Describe, DbOp::Health];

    pub fn label(self) -> &'static str {
        match self {
            DbOp::Lookup => "lookup",
            DbOp::Describe => "describe",
            DbOp::Health => "health",
        }
    }
}

/// Every metric of one server.
#[derive(Default)]
pub struct Metrics {
    requests: [Histogram; Route::ALL.len()],
    codes: Mutex<BTreeMap<(Route, u16), u64>>,
    db: [Histogram; DbOp::ALL.len()],
    errors: [AtomicU64; ErrorKind::ALL.len()],
    in_flight: AtomicI64,
    keys: AtomicU64,
    coalesced_queries: AtomicU64,
    coalesced_lookups: AtomicU64,
}

/// Decrements the in-flight gauge when dropped.
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts a request as in flight until the guard drops.
    pub fn start_request(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    pub fn observe_request(&self, route: Route, code: u16, d: Duration) {
        self.requests[route.index()].observe(d);
        *self
            .codes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((route, code))
            .or_default() += 1;
    }

    pub fn observe_db(&self, op: DbOp, d: Duration) {
        let i = DbOp::ALL.iter().position(|o| *o == op).unwrap_or(0);
        self.db[i].observe(d);
    }

    pub fn count_error(&self, kind: ErrorKind) {
        self.errors[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_keys(&self, n: usize) {
        self.keys.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// One query served `lookups` requests at once.
    pub fn count_coalesced(&self, lookups: usize) {
        self.coalesced_queries.fetch_add(1, Ordering::Relaxed);
        self.coalesced_lookups
            .fetch_add(lookups as u64, Ordering::Relaxed);
    }

    /// (queries that served several requests, requests they served) so far.
    pub fn coalesced(&self) -> (u64, u64) {
        (
            self.coalesced_queries.load(Ordering::Relaxed),
            self.coalesced_lookups.load(Ordering::Relaxed),
        )
    }

    /// Requests observed on `route` so far.
    pub fn requests(&self, route: Route) -> u64 {
        self.requests[route.index()].count()
    }

    /// Per-route request counts and latency so far (for the web page), routes without requests
    /// left out.
    pub fn route_summaries(&self) -> Vec<RouteSummary> {
        let codes = self.codes.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Route::ALL
            .iter()
            .filter_map(|&route| {
                let h = &self.requests[route.index()];
                let count = h.count();
                (count > 0).then(|| RouteSummary {
                    route,
                    count,
                    mean: Duration::from_nanos(h.sum_nanos.load(Ordering::Relaxed) / count),
                    p50: h.quantile(0.5),
                    p99: h.quantile(0.99),
                    codes: (codes.iter())
                        .filter(|((r, _), _)| *r == route)
                        .map(|((_, c), n)| (*c, *n))
                        .collect(),
                })
            })
            .collect()
    }

    /// Errors of `kind` so far.
    pub fn errors(&self, kind: ErrorKind) -> u64 {
        self.errors[kind.index()].load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 << 10);
        let name = "fstore_serve_request_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Time to answer a request, by route.");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for r in Route::ALL {
            self.requests[r.index()].render(&mut out, name, &format!("route=\"{}\"", r.label()));
        }
        let name = "fstore_serve_requests_total";
        let _ = writeln!(
            out,
            "# HELP {name} Requests answered, by route and status code."
        );
        let _ = writeln!(out, "# TYPE {name} counter");
        let codes = self.codes.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for ((r, code), n) in codes {
            let _ = writeln!(out, "{name}{{route=\"{}\",code=\"{code}\"}} {n}", r.label());
        }
        let name = "fstore_serve_db_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time spent in the online store, by operation."
        );
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (i, op) in DbOp::ALL.iter().enumerate() {
            self.db[i].render(&mut out, name, &format!("op=\"{}\"", op.label()));
        }
        let name = "fstore_serve_errors_total";
        let _ = writeln!(out, "# HELP {name} Failed requests, by error kind.");
        let _ = writeln!(out, "# TYPE {name} counter");
        for k in ErrorKind::ALL {
            let _ = writeln!(
                out,
                "{name}{{kind=\"{}\"}} {}",
                k.label(),
                self.errors[k.index()].load(Ordering::Relaxed)
            );
        }
        let (queries, lookups) = self.coalesced();
        for (name, kind, help, value) in [
            (
                "fstore_serve_requests_in_flight",
                "gauge",
                "Requests being handled.",
                self.in_flight.load(Ordering::Relaxed),
            ),
            (
                "fstore_serve_lookup_keys_total",
                "counter",
                "Keys looked up.",
                self.keys.load(Ordering::Relaxed) as i64,
            ),
            (
                "fstore_serve_coalesced_queries_total",
                "counter",
                "Lookup queries that served several requests at once.",
                queries as i64,
            ),
            (
                "fstore_serve_coalesced_lookups_total",
                "counter",
                "Requests served by a query shared with other requests.",
                lookups as i64,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_cumulative_histograms_and_counters() {
        let m = Metrics::new();
        m.observe_request(Route::TableLookup, 200, Duration::from_micros(300));
        m.observe_request(Route::TableLookup, 400, Duration::from_secs(20));
        m.observe_db(DbOp::Lookup, Duration::from_micros(90));
        m.count_error(ErrorKind::BadRequest);
        {
            let _g = m.start_request();
            assert!(m.render().contains("fstore_serve_requests_in_flight 1\n"));
        }
        let text = m.render();
        for line in [
            "fstore_serve_request_duration_seconds_bucket{route=\"table_lookup\",le=\"0.00025\"} 0",
            "fstore_serve_request_duration_seconds_bucket{route=\"table_lookup\",le=\"0.0005\"} 1",
            "fstore_serve_request_duration_seconds_bucket{route=\"table_lookup\",le=\"10\"} 1",
            "fstore_serve_request_duration_seconds_bucket{route=\"table_lookup\",le=\"+Inf\"} 2",
            "fstore_serve_request_duration_seconds_count{route=\"table_lookup\"} 2",
            "fstore_serve_requests_total{route=\"table_lookup\",code=\"400\"} 1",
            "fstore_serve_db_duration_seconds_bucket{op=\"lookup\",le=\"0.0001\"} 1",
            "fstore_serve_errors_total{kind=\"bad_request\"} 1",
            "fstore_serve_requests_in_flight 0",
        ] {
            assert!(
                text.contains(&format!("{line}\n")),
                "missing {line}\n{text}"
            );
        }
        assert_eq!(
            Route::of_path("/v1/feature-tables/a.b/lookup"),
            Route::TableLookup
        );
        assert_eq!(Route::of_path("/v1/feature-tables/a.b"), Route::Other);
        assert_eq!(Route::of_path("/ui"), Route::Ui);
        assert_eq!(Route::of_path("/ui/tables/x"), Route::Ui);
        assert_eq!(Route::of_path("/uix"), Route::Other);

        let s = m.route_summaries();
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].route, Route::TableLookup);
        assert_eq!((s[0].count, s[0].p50, s[0].p99), (2, Some(0.0005), None));
        assert_eq!(s[0].codes, [(200, 1), (400, 1)]);
    }
}
