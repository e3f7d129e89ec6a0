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
//! `--store postgres` (issue 23) runs the same phases on PostgreSQL: the table in a database of
//! its own, created fresh and dropped at the end, a `SELECT`-only reader role, and the raw side
//! on as many connections as each server's pool ([`postgres`]). The pieces: [`cpu`] (where the
//! CPU time went), [`measure`] (the load generator and result lines), [`mysql`], [`postgres`].
//!
//! Everything runs on this machine (127.0.0.1); every phase is bounded in time and count.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::record_batch::RecordBatch;
use clap::Parser;

mod cpu;
mod measure;
mod mysql;
mod postgres;

use cpu::CpuSample;
use measure::{Phase, cpu_ratio, header, http_phase, line};

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
    /// Reload the table even when it is already there (MariaDB; PostgreSQL always loads a fresh
    /// database and drops it at the end).
    #[arg(long)]
    reload: bool,
    /// The database behind `fstore serve` and the raw side.
    #[arg(long, value_enum, default_value = "mysql")]
    store: Store,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Store {
    /// MariaDB/MySQL (`FSTORE_TEST_MYSQL_URL`).
    Mysql,
    /// PostgreSQL (`FSTORE_TEST_PG_URL`).
    Postgres,
}

/// The raw side's connections.
enum Raw {
    Mysql(mysql_async::Pool),
    Postgres(Vec<Arc<tokio_postgres::Client>>),
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

struct ServerProcess {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

/// The `[stores.bench]` section of `fstore serve`'s config for `store`.
fn store_toml(store: Store, pool_max: usize) -> anyhow::Result<String> {
    Ok(match store {
        Store::Mysql => {
            let opts = mysql_async::Opts::from_url(&mysql::url())?;
            format!(
                "kind = \"mysql\"\nhost = \"{}\"\nport = {}\ndatabase = \"{DB}\"\nread_secret_prefix = \"bench_reader/bench\"\ntls = \"disabled\"\npool_max = {pool_max}\n",
                opts.ip_or_hostname(),
                opts.tcp_port()
            )
        }
        Store::Postgres => postgres::store_toml(&fstore_bench::pg::Server::from_env()?, pool_max),
    })
}

fn start_server(
    bin: &str,
    store: Store,
    pool_max: usize,
    extra: &[String],
) -> anyhow::Result<ServerProcess> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("fstore.toml");
    std::fs::write(
        &config,
        format!(
            "[secrets]\nbackend = \"env\"\n\n[stores.bench]\n{}",
            store_toml(store, pool_max)?
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

/// The raw side's lookups, with the CPU time every process spent in them.
async fn raw_phase(raw: &Raw, rows: i64, conc: usize, secs: f64, batch: usize) -> Phase {
    let before = CpuSample::take(None);
    let mut p = match raw {
        Raw::Mysql(pool) => mysql::raw_lookups(pool, rows, conc, secs, batch).await,
        Raw::Postgres(conns) => postgres::raw_lookups(conns, rows, conc, secs, batch).await,
    };
    p.cpu = CpuSample::take(None).since(&before);
    p
}

async fn run(a: Args) -> anyhow::Result<()> {
    let max_conc = a.concurrency.iter().copied().max().unwrap_or(1);
    let (db_name, raw) = match a.store {
        Store::Mysql => {
            mysql::load(a.rows, a.reload).await?;
            ("MariaDB", Raw::Mysql(mysql::pool(max_conc)?))
        }
        Store::Postgres => {
            let server = fstore_bench::pg::Server::from_env()?;
            postgres::load(&server, a.rows).await?;
            let conns = postgres::connections(&server, postgres::CONNECTIONS).await?;
            ("PostgreSQL", Raw::Postgres(conns))
        }
    };
    let workers: Vec<String> = a
        .workers
        .map(|n| vec!["--workers".into(), n.to_string()])
        .unwrap_or_default();
    let mut tuned = workers.clone();
    if let Some(n) = a.max_queries_per_table {
        tuned.extend(["--max-queries-per-table".into(), n.to_string()]);
    }
    tuned.extend(a.server_arg.iter().cloned());
    // MariaDB: a connection per concurrent lookup; PostgreSQL: fewer, pipelined (postgres.rs).
    let pool_max = match a.store {
        Store::Mysql => max_conc.max(16),
        Store::Postgres => postgres::CONNECTIONS,
    };
    let mut server = start_server(&a.fstore_bin, a.store, pool_max, &tuned)?;
    server.wait_ready().await?;
    // The same server with coalescing off: one query per request, as a comparison.
    let single_args = [workers, vec!["--max-queries-per-table".into(), "0".into()]].concat();
    let mut single = start_server(&a.fstore_bin, a.store, pool_max, &single_args)?;
    single.wait_ready().await?;

    // Warm both paths (server caches, buffer pool, connections).
    eprintln!("bench: warming up");
    let _ = http_phase(&server.base, a.rows, 16.min(max_conc), 1.0, 1).await;
    let _ = http_phase(&single.base, a.rows, 16.min(max_conc), 1.0, 1).await;
    let _ = raw_phase(&raw, a.rows, 16.min(max_conc), 1.0, 1).await;

    println!();
    println!(
        "fstore serve vs {db_name}, {} rows × {} features, random single-key lookups, {} s per phase",
        a.rows,
        FEATURES.len(),
        a.secs
    );
    println!(
        "fstore HTTP: fstore serve {}; no coalescing: {}",
        tuned.join(" "),
        single_args.join(" ")
    );
    println!(
        "connections: each fstore serve pool_max = {pool_max}; {db_name} direct: {}",
        match &raw {
            Raw::Mysql(_) => "one per worker".to_string(),
            Raw::Postgres(c) => format!("{} shared by the workers (pipelined)", c.len()),
        }
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
            r.add(raw_phase(&raw, a.rows, c, slice, 1).await);
        }
        for p in [&mut f, &mut u, &mut r] {
            p.latencies_us.sort_unstable();
        }
        line("fstore HTTP", c, &f);
        line("fstore, no coalescing", c, &u);
        line(&format!("{db_name} direct"), c, &r);
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
        "(CPU time per request, user + system: srv = fstore serve (with busy polling, the polling too), db = the database server, gen = this load generator, all = the whole machine; idle% = the machine's CPU time left idle)"
    );
    println!();
    println!("100-key batch lookups, concurrency 1");
    header();
    let f = server.phase(a.rows, 1, a.secs, 100).await;
    line("fstore HTTP (100 keys)", 1, &f);
    let r = raw_phase(&raw, a.rows, 1, a.secs, 100).await;
    line(&format!("{db_name} (100 keys)"), 1, &r);
    println!();
    println!("ratio fstore/{db_name} QPS:");
    for (c, ratio, single_ratio, fp99, rp99, cpu) in summary {
        println!(
            "  concurrency {c:>3}: {ratio:.2}×  (p99 {fp99:.3} ms vs {rp99:.3} ms; without coalescing {single_ratio:.2}×; {cpu})"
        );
    }
    println!(
        "  100-key batch p99: {:.3} ms ({db_name} {:.3} ms)",
        f.pct(0.99),
        r.pct(0.99)
    );
    server.stop();
    single.stop();
    match raw {
        Raw::Mysql(pool) => {
            let _ = pool.disconnect().await;
        }
        // The database is dropped by `main`, also when a phase fails.
        Raw::Postgres(conns) => drop(conns),
    }
    Ok(())
}

fn main() {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let store = args.store;
    let result = rt.block_on(run(args));
    let dropped = match store {
        Store::Mysql => Ok(()),
        Store::Postgres => rt.block_on(async {
            fstore_bench::pg::Server::from_env()?
                .drop_database(DB)
                .await
        }),
    };
    if let Err(e) = result.and(dropped) {
        eprintln!("bench failed: {e:#}");
        std::process::exit(1);
    }
}
