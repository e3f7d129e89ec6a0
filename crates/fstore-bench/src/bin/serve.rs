//! Serving benchmark (issue 6), run by `bench/serve.sh`: on loopback, in one run,
//!
//! 1. loads ROWS rows × 8 features into a MariaDB table (`fstore_bench_serve.feats`, through the
//!    online store's own write path; reused when already loaded) and creates a read-only user;
//! 2. starts the real `fstore serve` binary on that store with the reader identity;
//! 3. drives random single-key lookups at concurrency 1, 16 and 64 against it over HTTP, and the
//!    same random single-key lookups straight against MariaDB (prepared statements), each for a
//!    bounded time split into rounds that alternate between the sides (`--rounds`, so a change
//!    in the machine's speed during the run weighs on every side alike); both sides hold one connection per worker (an HTTP/1.1 keep-alive connection
//!    driven inline by the worker; a MySQL connection);
//! 4. measures 100-key batch lookups both ways;
//! 5. prints QPS, p50 and p99 for both and their ratio, and where the CPU time went per request
//!    (`fstore serve`, MariaDB, this load generator, the whole machine, and the share left idle;
//!    from `/proc`), then stops the server with SIGTERM.
//!
//! The fstore side runs twice: with the default coalescing (concurrent lookups of one table
//! share a query once 2 are in flight) and with `--max-queries-per-table 0` (one query per
//! request), so the effect of coalescing is visible in every run; `--server-arg` adds arguments
//! to the first server only (`bench/serve.sh` turns busy polling on there), and the header of
//! the table prints both servers' arguments. `--workers N` is passed to
//! both servers (`bench/serve.sh` uses 1: the load generator, MariaDB and fstore share the
//! machine's cores, and one serving thread saves the hand-offs between threads).
//!
//! Everything runs on this machine (127.0.0.1); every phase is bounded in time and count.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::record_batch::RecordBatch;
use clap::Parser;
use fstore_core::{NoProgress, TableSpec};
use fstore_online::mysql::MysqlStore;
use fstore_online::{OnlineLayout, OnlineReader, OnlineWriter, PublishRecord, WriteMode};
use mysql_async::prelude::Queryable;

const DB: &str = "fstore_bench_serve";
const TABLE: &str = "feats";
const READER: &str = "fstore_bench_reader";
const READER_PASSWORD: &str = "bench-reader-pw";
const FEATURES: [&str; 8] = ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"];

#[derive(Parser)]
struct Args {
    /// The `fstore` binary to run (`target/release/fstore`).
    #[arg(long)]
    fstore_bin: String,
    /// Rows in the table.
    #[arg(long, default_value_t = 1_000_000)]
    rows: i64,
    /// Seconds per measured phase.
    #[arg(long, default_value_t = 5.0)]
    secs: f64,
    /// Rounds per concurrency level: each side's seconds are split into this many slices that
    /// alternate with the other sides'.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Concurrency levels.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// `--max-queries-per-table` for the coalescing server (default: fstore's default).
    #[arg(long)]
    max_queries_per_table: Option<usize>,
    /// `--workers` for both servers (default: fstore's default, one thread per CPU).
    #[arg(long)]
    workers: Option<usize>,
    /// More arguments for the coalescing server (repeatable), e.g. `--server-arg=--busy-poll-us=200`.
    #[arg(long, allow_hyphen_values = true)]
    server_arg: Vec<String>,
    /// Reload the table even when it is already there.
    #[arg(long)]
    reload: bool,
}

fn url() -> String {
    std::env::var("FSTORE_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

fn batch(first: i64, n: i64) -> RecordBatch {
    let ids: Vec<i64> = (first..first + n).collect();
    let f = |k: f64| {
        Arc::new(Float64Array::from_iter_values(
            ids.iter().map(|i| *i as f64 * k),
        )) as ArrayRef
    };
    RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(ids.clone())) as ArrayRef),
        ("f0", f(0.5)),
        ("f1", f(1.25)),
        ("f2", f(-3.0)),
        ("f3", f(0.001)),
        (
            "f4",
            Arc::new(Int64Array::from_iter_values(ids.iter().map(|i| i % 97))) as ArrayRef,
        ),
        (
            "f5",
            Arc::new(Int64Array::from_iter_values(ids.iter().map(|i| i * 7))) as ArrayRef,
        ),
        (
            "f6",
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("segment-{:06}", i % 1000)),
            )) as ArrayRef,
        ),
        (
            "f7",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    ids.iter().map(|i| 1_700_000_000_000_000 + i * 1_000),
                )
                .with_timezone("UTC"),
            ) as ArrayRef,
        ),
    ])
    .expect("batch")
}

async fn load(rows: i64, reload: bool) -> anyhow::Result<()> {
    let mut admin = mysql_async::Conn::from_url(url()).await?;
    admin
        .query_drop(format!(
            "CREATE DATABASE IF NOT EXISTS `{DB}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        ))
        .await?;
    for host in ["%", "localhost", "127.0.0.1"] {
        admin
            .query_drop(format!(
                "CREATE USER IF NOT EXISTS '{READER}'@'{host}' IDENTIFIED BY '{READER_PASSWORD}'"
            ))
            .await?;
        admin
            .query_drop(format!("GRANT SELECT ON `{DB}`.* TO '{READER}'@'{host}'"))
            .await?;
    }
    let store = MysqlStore::connect_url(&url(), DB, Default::default()).await?;
    let exists: Option<i64> = admin
        .query_first(format!(
            "SELECT 1 FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = '{DB}' AND TABLE_NAME = '{TABLE}'"
        ))
        .await?;
    let have: Option<i64> = match exists {
        Some(_) => {
            admin
                .query_first(format!("SELECT COUNT(*) FROM `{DB}`.`{TABLE}`"))
                .await?
        }
        None => None,
    };
    let published = store.describe(TABLE).await?.is_some();
    if have == Some(rows) && published && !reload {
        eprintln!("bench: reusing {rows} rows in {DB}.{TABLE}");
        return Ok(());
    }
    eprintln!("bench: loading {rows} rows into {DB}.{TABLE}");
    let start = Instant::now();
    let per = 100_000.min(rows);
    let mut batches = Vec::new();
    let mut first = 1;
    while first <= rows {
        let n = per.min(rows - first + 1);
        batches.push(batch(first, n));
        first += n;
    }
    let spec = TableSpec::new(vec!["id".into()], None)?;
    let layout = OnlineLayout::new(TABLE, &batches[0].schema(), &spec)?;
    let record = PublishRecord {
        feature_table: format!("default.{TABLE}"),
        delta_version: 1,
    };
    store
        .write(&layout, WriteMode::Overwrite, batches, &record, &NoProgress)
        .await?;
    eprintln!("bench: loaded in {:.1} s", start.elapsed().as_secs_f64());
    let _ = store.close().await;
    Ok(())
}

struct ServerProcess {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

fn start_server(bin: &str, pool_max: usize, extra: &[String]) -> anyhow::Result<ServerProcess> {
    let opts = mysql_async::Opts::from_url(&url())?;
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("fstore.toml");
    std::fs::write(
        &config,
        format!(
            "[secrets]\nbackend = \"env\"\n\n[stores.bench]\nkind = \"mysql\"\nhost = \"{}\"\nport = {}\ndatabase = \"{DB}\"\nread_secret_prefix = \"bench_reader/bench\"\ntls = \"disabled\"\npool_max = {pool_max}\n",
            opts.ip_or_hostname(),
            opts.tcp_port()
        ),
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new(bin)
        .arg("--config")
        .arg(&config)
        .args([
            "serve",
            "--store",
            "bench",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(extra)
        .env("FSTORE_SECRET_BENCH_READER_BENCH_USER", READER)
        .env("FSTORE_SECRET_BENCH_READER_BENCH_PASSWORD", READER_PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    Ok(ServerProcess {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    })
}

impl ServerProcess {
    /// [`http_phase`] against this server, with the CPU time every process spent in it.
    async fn phase(&self, rows: i64, conc: usize, secs: f64, batch: usize) -> Phase {
        let before = CpuSample::take(Some(self.child.id()));
        let mut p = http_phase(&self.base, rows, conc, secs, batch).await;
        p.cpu = CpuSample::take(Some(self.child.id())).since(&before);
        p
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("fstore serve exited: {status}");
            }
            if get_ok(&self.base, "/readyz").await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("fstore serve did not become ready within 30 s")
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                eprintln!("bench: fstore serve stopped ({status})");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET base+path` answered 2xx?
async fn get_ok(base: &str, path: &str) -> bool {
    let addr = base.trim_start_matches("http://");
    let Ok(stream) = tokio::net::TcpStream::connect(addr).await else {
        return false;
    };
    let Ok((mut sender, conn)) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await
    else {
        return false;
    };
    tokio::spawn(conn);
    let Ok(req) = hyper::Request::get(path)
        .header(hyper::header::HOST, addr)
        .body(http_body_util::Empty::<bytes::Bytes>::new())
    else {
        return false;
    };
    sender
        .send_request(req)
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// Clock ticks per second of `/proc` (USER_HZ: 100 on every Linux build we run on).
const USER_HZ: f64 = 100.0;

/// CPU seconds (user + system) process `pid` has used so far.
fn process_cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at its closing paren.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / USER_HZ)
}

/// The database server's process id: the first `mariadbd` or `mysqld` in `/proc`.
fn database_pid() -> Option<String> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let name = e.file_name().into_string().ok()?;
        name.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
        let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
        matches!(comm.trim(), "mariadbd" | "mysqld").then_some(name)
    })
}

/// The machine's CPU seconds so far, summed over its cores: (busy, idle, all).
fn machine_cpu_secs() -> Option<(f64, f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let idle = (f.get(3)? + f.get(4).unwrap_or(&0)) as f64 / USER_HZ;
    let all = f.iter().take(8).sum::<u64>() as f64 / USER_HZ;
    Some((all - idle, idle, all))
}

/// CPU counters read at one instant (`/proc`; `None` fields where unreadable).
struct CpuSample {
    server: Option<f64>,
    db: Option<f64>,
    generator: Option<f64>,
    machine: Option<(f64, f64, f64)>,
}

/// CPU seconds spent during a phase, per process and by the whole machine.
#[derive(Clone, Copy)]
struct CpuUse {
    /// `fstore serve` (HTTP phases only).
    server: Option<f64>,
    /// MariaDB.
    db: Option<f64>,
    /// This load generator.
    generator: f64,
    /// The whole machine, busy.
    busy: f64,
    /// The whole machine, idle.
    idle: f64,
    /// The whole machine, all CPU time (cores × seconds).
    machine: f64,
}

impl CpuSample {
    /// Reads the counters of the server `server` (when given), MariaDB, this process and the machine.
    fn take(server: Option<u32>) -> Self {
        Self {
            server: server.and_then(|pid| process_cpu_secs(&pid.to_string())),
            db: database_pid().and_then(|pid| process_cpu_secs(&pid)),
            generator: process_cpu_secs("self"),
            machine: machine_cpu_secs(),
        }
    }

    /// What was spent between `before` and this sample; `None` off Linux.
    fn since(&self, before: &CpuSample) -> Option<CpuUse> {
        let d = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a - b);
        let (busy, idle, all) = self.machine?;
        let (busy0, idle0, all0) = before.machine?;
        Some(CpuUse {
            server: d(self.server, before.server),
            db: d(self.db, before.db),
            generator: d(self.generator, before.generator)?,
            busy: busy - busy0,
            idle: idle - idle0,
            machine: all - all0,
        })
    }
}

impl CpuUse {
    fn plus(&self, o: &CpuUse) -> CpuUse {
        let add = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a + b);
        CpuUse {
            server: add(self.server, o.server),
            db: add(self.db, o.db),
            generator: self.generator + o.generator,
            busy: self.busy + o.busy,
            idle: self.idle + o.idle,
            machine: self.machine + o.machine,
        }
    }
}

/// Results of one measured phase.
#[derive(Default)]
struct Phase {
    requests: u64,
    errors: u64,
    secs: f64,
    latencies_us: Vec<u32>,
    /// Where the machine's CPU time went during the phase (Linux only).
    cpu: Option<CpuUse>,
}

impl Phase {
    /// Adds another slice of the same phase (its latencies unsorted until the caller sorts).
    fn add(&mut self, other: Phase) {
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
    fn per_request(&self, of: impl Fn(&CpuUse) -> Option<f64>) -> String {
        match self.cpu.as_ref().and_then(of) {
            Some(secs) if self.requests > 0 => format!("{:.1}", secs * 1e6 / self.requests as f64),
            _ => "-".into(),
        }
    }

    /// The share of the machine's CPU time left idle, in percent (`-` when not measured).
    fn idle_pct(&self) -> String {
        match &self.cpu {
            Some(c) if c.machine > 0.0 => format!("{:.0}", 100.0 * c.idle / c.machine),
            _ => "-".into(),
        }
    }

    fn qps(&self) -> f64 {
        self.requests as f64 / self.secs
    }
    fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// Most requests one phase sends, whatever its duration.
const MAX_REQUESTS: u64 = 5_000_000;

/// Runs `conc` workers for `secs`; each calls `op(worker, rng)` in a loop.
async fn drive<F, Fut>(conc: usize, secs: f64, op: F) -> Phase
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
struct HttpConn {
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
async fn http_phase(base: &str, rows: i64, conc: usize, secs: f64, batch: usize) -> Phase {
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

/// [`raw_lookups`], with the CPU time every process spent in it.
async fn raw_phase(
    pool: &mysql_async::Pool,
    rows: i64,
    conc: usize,
    secs: f64,
    batch: usize,
) -> Phase {
    let before = CpuSample::take(None);
    let mut p = raw_lookups(pool, rows, conc, secs, batch).await;
    p.cpu = CpuSample::take(None).since(&before);
    p
}

/// Random lookups straight against MariaDB (the raw limit).
async fn raw_lookups(
    pool: &mysql_async::Pool,
    rows: i64,
    conc: usize,
    secs: f64,
    batch: usize,
) -> Phase {
    // One connection per worker, held for the phase (as a pooled server would keep them warm).
    let mut conns = Vec::new();
    for _ in 0..conc {
        conns.push(Arc::new(tokio::sync::Mutex::new(
            pool.get_conn().await.expect("raw connection"),
        )));
    }
    let conns = Arc::new(conns);
    let cols = std::iter::once("id")
        .chain(FEATURES)
        .collect::<Vec<_>>()
        .join(", ");
    let sql = Arc::new(format!(
        "SELECT {cols} FROM {TABLE} WHERE id IN ({})",
        vec!["?"; batch].join(", ")
    ));
    drive(conc, secs, move |w, r| {
        let (conns, sql) = (conns.clone(), sql.clone());
        async move {
            let mut s = r;
            let keys: Vec<mysql_async::Value> = (0..batch)
                .map(|_| mysql_async::Value::Int(1 + (xorshift(&mut s) % rows as u64) as i64))
                .collect();
            let mut conn = conns[w].lock().await;
            conn.exec::<mysql_async::Row, _, _>(sql.as_str(), keys)
                .await
                .is_ok()
        }
    })
    .await
}

/// The machine's CPU time per lookup on the fstore path against the raw path: the QPS ratio
/// the fstore path would reach if both kept every core busy (the raw path does, at concurrency
/// 16 and up; the fstore path leaves the `idle%` column's share unused).
fn cpu_ratio(fstore: &Phase, raw: &Phase) -> String {
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

fn line(what: &str, conc: usize, p: &Phase) {
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

fn header() {
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

async fn run(a: Args) -> anyhow::Result<()> {
    load(a.rows, a.reload).await?;
    let max_conc = a.concurrency.iter().copied().max().unwrap_or(1);
    let workers: Vec<String> = a
        .workers
        .map(|n| vec!["--workers".into(), n.to_string()])
        .unwrap_or_default();
    let mut tuned = workers.clone();
    if let Some(n) = a.max_queries_per_table {
        tuned.extend(["--max-queries-per-table".into(), n.to_string()]);
    }
    tuned.extend(a.server_arg.iter().cloned());
    let mut server = start_server(&a.fstore_bin, max_conc.max(16), &tuned)?;
    server.wait_ready().await?;
    // The same server with coalescing off: one query per request, as a comparison.
    let single_args = [workers, vec!["--max-queries-per-table".into(), "0".into()]].concat();
    let mut single = start_server(&a.fstore_bin, max_conc.max(16), &single_args)?;
    single.wait_ready().await?;
    let opts = mysql_async::OptsBuilder::from_opts(mysql_async::Opts::from_url(&url())?)
        .user(Some(READER))
        .pass(Some(READER_PASSWORD))
        .db_name(Some(DB))
        .tcp_nodelay(true)
        .stmt_cache_size(16)
        .pool_opts(mysql_async::PoolOpts::default().with_constraints(
            mysql_async::PoolConstraints::new(0, max_conc.max(1)).expect("constraints"),
        ));
    let pool = mysql_async::Pool::new(opts);

    // Warm both paths (server caches, buffer pool, connections).
    eprintln!("bench: warming up");
    let _ = http_phase(&server.base, a.rows, 16.min(max_conc), 1.0, 1).await;
    let _ = http_phase(&single.base, a.rows, 16.min(max_conc), 1.0, 1).await;
    let _ = raw_phase(&pool, a.rows, 16.min(max_conc), 1.0, 1).await;

    println!();
    println!(
        "fstore serve vs MariaDB, {} rows × {} features, random single-key lookups, {} s per phase",
        a.rows,
        FEATURES.len(),
        a.secs
    );
    println!(
        "fstore HTTP: fstore serve {}; no coalescing: {}",
        tuned.join(" "),
        single_args.join(" ")
    );
    header();
    let mut summary = Vec::new();
    // Each side's time is split into rounds that alternate between the sides, so a change in
    // the machine's speed during the run (other tenants, CPU throttling) weighs on both alike.
    let rounds = a.rounds.max(1);
    let slice = a.secs / rounds as f64;
    for &c in &a.concurrency {
        let (mut f, mut u, mut r) = (Phase::default(), Phase::default(), Phase::default());
        for _ in 0..rounds {
            f.add(server.phase(a.rows, c, slice, 1).await);
            u.add(single.phase(a.rows, c, slice, 1).await);
            r.add(raw_phase(&pool, a.rows, c, slice, 1).await);
        }
        for p in [&mut f, &mut u, &mut r] {
            p.latencies_us.sort_unstable();
        }
        line("fstore HTTP", c, &f);
        line("fstore, no coalescing", c, &u);
        line("MariaDB direct", c, &r);
        summary.push((
            c,
            f.qps() / r.qps(),
            u.qps() / r.qps(),
            f.pct(0.99),
            r.pct(0.99),
            cpu_ratio(&f, &r),
        ));
    }
    println!(
        "(CPU time per request, user + system: srv = fstore serve (with busy polling, the polling too), db = MariaDB, gen = this load generator, all = the whole machine; idle% = the machine's CPU time left idle)"
    );
    println!();
    println!("100-key batch lookups, concurrency 1");
    header();
    let f = server.phase(a.rows, 1, a.secs, 100).await;
    line("fstore HTTP (100 keys)", 1, &f);
    let r = raw_phase(&pool, a.rows, 1, a.secs, 100).await;
    line("MariaDB (100 keys)", 1, &r);
    println!();
    println!("ratio fstore/MariaDB QPS:");
    for (c, ratio, single_ratio, fp99, rp99, cpu) in summary {
        println!(
            "  concurrency {c:>3}: {ratio:.2}×  (p99 {fp99:.3} ms vs {rp99:.3} ms; without coalescing {single_ratio:.2}×; {cpu})"
        );
    }
    println!(
        "  100-key batch p99: {:.3} ms (MariaDB {:.3} ms)",
        f.pct(0.99),
        r.pct(0.99)
    );
    let _ = pool.disconnect().await;
    server.stop();
    single.stop();
    Ok(())
}

fn main() {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if let Err(e) = rt.block_on(run(args)) {
        eprintln!("bench failed: {e:#}");
        std::process::exit(1);
    }
}
