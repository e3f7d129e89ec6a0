//! The load generator: workers driving lookups for a bounded time, the HTTP/1.1 client of
//! `fstore serve`, and the result lines.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::TABLE;
use crate::cpu::CpuUse;

/// Results of one measured phase.
#[derive(Default)]
pub struct Phase {
    pub requests: u64,
    pub errors: u64,
    pub secs: f64,
    pub latencies_us: Vec<u32>,
    /// Where the machine's CPU time went during the phase (Linux only).
    pub cpu: Option<CpuUse>,
}

impl Phase {
    /// Adds another slice of the same phase (its latencies unsorted until the caller sorts).
    pub fn add(&mut self, other: Phase) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.secs += other.secs;
        self.latencies_us.extend(other.latencies_us);
        self.cpu = match (self.cpu.take(), other.cpu) {
            (Some(a), Some(b)) => Some(a.plus(&b)),
            (a, b) => a.or(b),
        };
    }

    /// Microseconds of CPU per request spent by `of` (`-` when not measured).
    pub fn per_request(&self, of: impl Fn(&CpuUse) -> Option<f64>) -> String {
        match self.cpu.as_ref().and_then(of) {
            Some(secs) if self.requests > 0 => format!("{:.1}", secs * 1e6 / self.requests as f64),
            _ => "-".into(),
        }
    }

    /// The share of the machine's CPU time left idle, in percent (`-` when not measured).
    pub fn idle_pct(&self) -> String {
        match &self.cpu {
            Some(c) if c.machine > 0.0 => format!("{:.0}", 100.0 * c.idle / c.machine),
            _ => "-".into(),
        }
    }

    pub fn qps(&self) -> f64 {
        self.requests as f64 / self.secs
    }
    pub fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
}

pub fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// Most requests one phase sends, whatever its duration.
pub const MAX_REQUESTS: u64 = 5_000_000;

/// Runs `conc` workers for `secs`; each calls `op(worker, rng)` in a loop.
pub async fn drive<F, Fut>(conc: usize, secs: f64, op: F) -> Phase
where
    F: Fn(usize, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let per_worker = MAX_REQUESTS / conc as u64;
    let mut tasks = Vec::new();
    for w in 0..conc {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ ((w as u64 + 1) * 0x1000_0001);
            let mut lat = Vec::with_capacity(1 << 16);
            let mut errors = 0u64;
            while Instant::now() < deadline && (lat.len() as u64) < per_worker {
                let t = Instant::now();
                let ok = op(w, xorshift(&mut rng)).await;
                lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                if !ok {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("worker");
        latencies_us.extend(l);
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    latencies_us.sort_unstable();
    Phase {
        requests: latencies_us.len() as u64,
        errors,
        secs,
        latencies_us,
        cpu: None,
    }
}

/// One keep-alive HTTP/1.1 connection, driven inline by the worker that owns it: the request
/// written in one call, the response read and parsed (httparse) in the same task. No connection
/// task to hand each request to, so the client costs about what the raw side's MySQL client
/// costs, and the comparison measures the server, not the load generator.
pub struct HttpConn {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
}

impl HttpConn {
    async fn connect(addr: &str) -> std::io::Result<Self> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(16 << 10),
        })
    }

    /// Sends `req` and reads its whole response: `Ok(true)` for a 2xx status.
    async fn round_trip(&mut self, req: &[u8]) -> std::io::Result<bool> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.stream.write_all(req).await?;
        self.buf.clear();
        let (head, len, status) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(&self.buf).map_err(std::io::Error::other)? {
                httparse::Status::Complete(head) => {
                    let len = resp
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                        .and_then(|h| {
                            std::str::from_utf8(h.value)
                                .ok()?
                                .trim()
                                .parse::<usize>()
                                .ok()
                        })
                        .ok_or_else(|| std::io::Error::other("response without content-length"))?;
                    break (head, len, resp.code.unwrap_or(0));
                }
                httparse::Status::Partial => {
                    if self.stream.read_buf(&mut self.buf).await? == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                }
            }
        };
        while self.buf.len() < head + len {
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok((200..300).contains(&status))
    }
}

/// Random lookups over HTTP: one keep-alive HTTP/1.1 connection per worker ([`HttpConn`]), as
/// the raw side holds one MySQL connection per worker.
pub async fn http_phase(base: &str, rows: i64, conc: usize, secs: f64, batch: usize) -> Phase {
    let addr = base.trim_start_matches("http://").to_string();
    let mut conns = Vec::new();
    for _ in 0..conc {
        let conn = HttpConn::connect(&addr)
            .await
            .expect("connect to fstore serve");
        conns.push(Arc::new(tokio::sync::Mutex::new(conn)));
    }
    let conns = Arc::new(conns);
    let head = Arc::new(format!(
        "POST /v1/feature-tables/default.{TABLE}/lookup HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: "
    ));
    drive(conc, secs, move |w, r| {
        let (conns, head) = (conns.clone(), head.clone());
        async move {
            let mut body = String::with_capacity(24 * batch + 16);
            body.push_str("{\"keys\":[");
            let mut s = r;
            for i in 0..batch {
                if i > 0 {
                    body.push(',');
                }
                body.push_str(&format!(
                    "{{\"id\":{}}}",
                    1 + (xorshift(&mut s) % rows as u64)
                ));
            }
            body.push_str("]}");
            let req = format!("{head}{}\r\n\r\n{body}", body.len());
            let mut conn = conns[w].lock().await;
            conn.round_trip(req.as_bytes()).await.unwrap_or(false)
        }
    })
    .await
}

/// The machine's CPU time per lookup on the fstore path against the raw path: the QPS ratio
/// the fstore path would reach if both kept every core busy (the raw path does, at concurrency
/// 16 and up; the fstore path leaves the `idle%` column's share unused).
pub fn cpu_ratio(fstore: &Phase, raw: &Phase) -> String {
    let per = |p: &Phase| {
        p.cpu
            .as_ref()
            .filter(|_| p.requests > 0)
            .map(|c| c.busy * 1e6 / p.requests as f64)
    };
    match (per(fstore), per(raw)) {
        (Some(f), Some(r)) if f > 0.0 => {
            format!(
                "machine CPU per lookup {f:.1} µs vs {r:.1} µs: {:.2}×",
                r / f
            )
        }
        _ => "machine CPU not measured".into(),
    }
}

pub fn line(what: &str, conc: usize, p: &Phase) {
    println!(
        "{what:<24} {conc:>4} {:>10.0} {:>9.3} {:>9.3} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7} {:>5}",
        p.qps(),
        p.pct(0.50),
        p.pct(0.99),
        p.requests,
        p.errors,
        p.per_request(|c| c.server),
        p.per_request(|c| c.db),
        p.per_request(|c| Some(c.generator)),
        p.per_request(|c| Some(c.busy)),
        p.idle_pct(),
    );
}

pub fn header() {
    println!(
        "{:<24} {:>4} {:>10} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7} {:>5}",
        "path",
        "conc",
        "QPS",
        "p50 ms",
        "p99 ms",
        "requests",
        "errors",
        "srv µs",
        "db µs",
        "gen µs",
        "all µs",
        "idle%"
    );
}
