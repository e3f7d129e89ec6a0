//! Publishing N rows (default 1,000,000) × 10 features to PostgreSQL (issue 23), beside the raw
//! limit measured in the same run on the same server, into the same DDL (fstore's own
//! `CREATE TABLE` for the table, from `fstore_online::postgres::ddl`):
//!
//! 1. first publish: the `fstore` binary (`fstore publish`, Delta → PostgreSQL) against a raw
//!    `BEGIN; CREATE TABLE; COPY … (FORMAT binary); COMMIT` of the same rows, written twice: with
//!    tokio-postgres' `BinaryCopyInWriter`, and with tuples encoded by hand in 1 MiB messages
//!    (`fstore_bench::pg`). Target: fstore's rate ≥ 0.8× the raw rate.
//! 2. merge of 1% and of 100% changed rows (each a Delta merge of the changed rows offline, then
//!    `fstore publish`) against the same rows applied by hand to the raw table:
//!    `BEGIN; CREATE TEMP TABLE … ON COMMIT DROP; COPY …; INSERT … SELECT … ON CONFLICT (id) DO
//!    UPDATE SET …; COMMIT`. Target: fstore's time ≤ 1.3× the raw time.
//!
//! Before each timed step the server runs `CHECKPOINT` (so one side's dirty pages are not
//! written during the other's), and after the first publish both tables are vacuumed and
//! analysed, so both merges start from the same table state. After every step the fstore and
//! raw tables must hold the same rows (`EXCEPT` both ways), or the bench fails.
//!
//! The database `fstore_bench_pg` is created fresh and dropped at the end. The `fstore` binary is
//! the one next to this one (the same build).
//!
//! `bench/publish_postgres.sh [ROWS]` (server from `FSTORE_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432`)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use fstore_bench::pg::{Server, copy_encoded, copy_with_writer};
use fstore_bench::{batches, rows_for, schema};
use fstore_core::{TableName, TableSpec};
use fstore_offline::{OfflineStore, WriteMode};
use fstore_online::OnlineLayout;
use fstore_online::postgres::ddl::{create_table_sql, pk_name, q, qualified};
use tokio_postgres::Client;

const DB: &str = "fstore_bench_pg";
const SCHEMA: &str = "public";
/// fstore's online table (the feature table `bench.features` without its schema).
const FSTORE_TABLE: &str = "features";
const RAW_WRITER: &str = "raw_writer";
const RAW: &str = "raw";

fn main() -> anyhow::Result<()> {
    let rows = fstore_bench::rows_arg()?;
    anyhow::ensure!(
        rows >= 100,
        "the bench needs at least 100 rows (1% of them change)"
    );
    let server = Server::from_env()?;
    let rt = tokio::runtime::Runtime::new()?;
    println!(
        "publish to PostgreSQL ({}:{}, database {DB}): {rows} rows × 10 features (6 double, 2 bigint, 1 string, 1 bool); {} build",
        server.host,
        server.port,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    rt.block_on(server.fresh_database(DB))?;
    let result = run(&rt, &server, rows);
    let dropped = rt.block_on(server.drop_database(DB));
    result?;
    dropped
}

/// `fstore --config CONFIG publish bench.features --store pg`: its time and summary line.
fn fstore_publish(
    fstore: &Path,
    config: &Path,
    server: &Server,
) -> anyhow::Result<(Duration, String)> {
    let mut cmd = Command::new(fstore);
    cmd.arg("--config")
        .arg(config)
        .args(["publish", "bench.features", "--store", "pg"])
        .env("FSTORE_SECRET_BENCH_PG_PG_USER", &server.user)
        .env(
            "FSTORE_SECRET_BENCH_PG_PG_PASSWORD",
            server
                .password
                .as_deref()
                .unwrap_or("unused-with-trust-auth"),
        );
    let t = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", fstore.display()))?;
    let took = t.elapsed();
    anyhow::ensure!(
        out.status.success(),
        "fstore publish failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    // The summary is the status lines on stderr (the progress bar is off: no terminal): the
    // method and the row counts.
    let text = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("published") || l.trim_start().starts_with("rows:"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    Ok((took, text))
}

fn columns() -> String {
    schema()
        .fields()
        .iter()
        .map(|f| q(f.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn copy_sql(target: &str) -> String {
    format!("COPY {target} ({}) FROM STDIN (FORMAT binary)", columns())
}

/// The raw first publish into `table`: `BEGIN; CREATE TABLE (fstore's DDL); COPY; COMMIT`.
async fn raw_first(
    c: &Client,
    layout: &OnlineLayout,
    table: &str,
    data: &[RecordBatch],
    hand_encoded: bool,
) -> anyhow::Result<Duration> {
    let mut layout = layout.clone();
    layout.table = table.to_string();
    let create = create_table_sql(SCHEMA, table, &layout, &pk_name(table, false));
    let sql = copy_sql(&qualified(SCHEMA, table));
    let t = Instant::now();
    c.batch_execute(&format!("BEGIN; {create}")).await?;
    let n = if hand_encoded {
        copy_encoded(c, &sql, data).await?
    } else {
        copy_with_writer(c, &sql, data).await?
    };
    c.batch_execute("COMMIT").await?;
    let took = t.elapsed();
    anyhow::ensure!(n as usize == rows_in(data), "raw COPY wrote {n} rows");
    Ok(took)
}

/// The raw merge of `data` into the raw table: staging table, `COPY`, one upsert, in one
/// transaction (COMMIT included, as fstore's publish commits).
async fn raw_merge(c: &Client, data: &[RecordBatch]) -> anyhow::Result<Duration> {
    let table = qualified(SCHEMA, RAW);
    let cols = columns();
    let sets: Vec<String> = schema()
        .fields()
        .iter()
        .skip(1)
        .map(|f| format!("{n} = EXCLUDED.{n}", n = q(f.name())))
        .collect();
    let t = Instant::now();
    c.batch_execute(&format!(
        "BEGIN; CREATE TEMP TABLE raw_stage (LIKE {table}) ON COMMIT DROP"
    ))
    .await?;
    copy_encoded(c, &copy_sql("pg_temp.raw_stage"), data).await?;
    let n = c
        .execute(
            &format!(
                "INSERT INTO {table} AS t ({cols}) SELECT {cols} FROM pg_temp.raw_stage ON CONFLICT (id) DO UPDATE SET {}",
                sets.join(", ")
            ),
            &[],
        )
        .await?;
    c.batch_execute("COMMIT").await?;
    let took = t.elapsed();
    anyhow::ensure!(n as usize == rows_in(data), "raw upsert wrote {n} rows");
    Ok(took)
}

fn rows_in(data: &[RecordBatch]) -> usize {
    data.iter().map(RecordBatch::num_rows).sum()
}

/// Fails unless the fstore table and the raw table hold the same rows.
async fn same_rows(c: &Client, rows: usize) -> anyhow::Result<()> {
    let (f, r) = (qualified(SCHEMA, FSTORE_TABLE), qualified(SCHEMA, RAW));
    let row = c
        .query_one(
            &format!(
                "SELECT (SELECT count(*) FROM {f}), \
                 (SELECT count(*) FROM (SELECT * FROM {f} EXCEPT SELECT * FROM {r}) AS a), \
                 (SELECT count(*) FROM (SELECT * FROM {r} EXCEPT SELECT * FROM {f}) AS b)"
            ),
            &[],
        )
        .await?;
    let (n, only_f, only_r): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    anyhow::ensure!(
        n as usize == rows && only_f == 0 && only_r == 0,
        "the fstore and raw tables differ: {n} rows in fstore's (expected {rows}), {only_f} only in fstore's, {only_r} only in the raw one"
    );
    Ok(())
}

async fn checkpoint(c: &Client) {
    // Needs superuser or pg_checkpoint; without it the steps only share the server's timing.
    let _ = c.batch_execute("CHECKPOINT").await;
}

/// One result row: what, fstore's figure, the raw one, their ratio and the target.
fn row(what: &str, fstore: &str, raw: &str, ratio: f64, target: &str, ok: bool) {
    println!(
        "{what:<34} {fstore:>16} {raw:>16} {:>7.2}×  {target} {}",
        ratio,
        if ok { "ok" } else { "MISSED" }
    );
}

fn rate(rows: usize, d: Duration) -> f64 {
    rows as f64 / d.as_secs_f64()
}

fn run(rt: &tokio::runtime::Runtime, server: &Server, rows: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let fstore = std::env::current_exe()?.with_file_name("fstore");
    anyhow::ensure!(
        fstore.exists(),
        "{} is missing: build the workspace's binaries first",
        fstore.display()
    );
    let config = write_config(dir.path(), server)?;
    let data = batches(rows, 65_536, 0);
    let t = Instant::now();
    let offline = OfflineStore::new(
        dir.path().join("offline").to_str().unwrap_or("offline"),
        Default::default(),
    )?;
    let name = TableName::parse("bench.features")?;
    let spec = TableSpec::new(vec!["id".into()], None)?;
    rt.block_on(offline.create(&name, spec.clone(), schema(), data.clone(), vec![]))?;
    println!(
        "(setup: Delta table written in {:.2}s)",
        t.elapsed().as_secs_f64()
    );
    let layout = OnlineLayout::new(FSTORE_TABLE, &schema(), &spec)?;
    let c = rt.block_on(server.connect(DB, None))?;

    // 1. First publish.
    rt.block_on(checkpoint(&c));
    let raw_writer = rt.block_on(raw_first(&c, &layout, RAW_WRITER, &data, false))?;
    println!(
        "raw BinaryCopyInWriter COPY: {:.2}s ({:.0} rows/s)",
        raw_writer.as_secs_f64(),
        rate(rows, raw_writer)
    );
    rt.block_on(c.batch_execute(&format!("DROP TABLE {}", qualified(SCHEMA, RAW_WRITER))))?;
    rt.block_on(checkpoint(&c));
    let raw_hand = rt.block_on(raw_first(&c, &layout, RAW, &data, true))?;
    println!(
        "raw hand-encoded COPY:       {:.2}s ({:.0} rows/s)",
        raw_hand.as_secs_f64(),
        rate(rows, raw_hand)
    );
    rt.block_on(checkpoint(&c));
    let (first, summary) = fstore_publish(&fstore, &config, server)?;
    println!(
        "fstore publish (first):      {:.2}s ({:.0} rows/s): {summary}",
        first.as_secs_f64(),
        rate(rows, first)
    );
    rt.block_on(same_rows(&c, rows))?;
    rt.block_on(c.batch_execute(&format!(
        "VACUUM (ANALYZE) {}, {}",
        qualified(SCHEMA, FSTORE_TABLE),
        qualified(SCHEMA, RAW)
    )))?;

    // 2. Merges: 1% of the rows (spread over the table), then every row.
    let mut merges = Vec::new();
    for (label, changed, salt) in [
        ("merge, 1% of rows changed", rows / 100, 1),
        ("merge, 100% of rows changed", rows, 2),
    ] {
        let change: Vec<RecordBatch> = if changed == rows {
            batches(rows, 65_536, salt)
        } else {
            let step = (rows / changed) as i64;
            let ids: Vec<i64> = (0..changed as i64).map(|k| k * step + 7).collect();
            vec![rows_for(&ids, salt)]
        };
        let t = Instant::now();
        rt.block_on(offline.write(&name, change.clone(), WriteMode::Merge))?;
        println!(
            "(offline: {changed} rows changed by a Delta merge in {:.2}s)",
            t.elapsed().as_secs_f64()
        );
        rt.block_on(checkpoint(&c));
        let raw = rt.block_on(raw_merge(&c, &change))?;
        println!(
            "raw staging + ON CONFLICT:   {:.2}s ({changed} rows)",
            raw.as_secs_f64()
        );
        rt.block_on(checkpoint(&c));
        let (took, summary) = fstore_publish(&fstore, &config, server)?;
        println!(
            "fstore publish ({label}): {:.2}s: {summary}",
            took.as_secs_f64()
        );
        rt.block_on(same_rows(&c, rows))?;
        merges.push((label, changed, took, raw));
    }

    println!();
    println!(
        "{:<34} {:>16} {:>16} {:>8}  target",
        format!("{rows} rows × 10 features"),
        "fstore",
        "raw",
        "ratio"
    );
    let best_raw = raw_writer.min(raw_hand);
    for (what, raw) in [
        ("first publish vs BinaryCopyInWriter", raw_writer),
        ("first publish vs hand-encoded COPY", raw_hand),
    ] {
        let ratio = rate(rows, first) / rate(rows, raw);
        let target = if raw == best_raw {
            "≥ 0.8× (the faster raw):"
        } else {
            "≥ 0.8×:"
        };
        row(
            what,
            &format!("{:.0} rows/s", rate(rows, first)),
            &format!("{:.0} rows/s", rate(rows, raw)),
            ratio,
            target,
            ratio >= 0.8,
        );
    }
    for (label, changed, took, raw) in merges {
        let ratio = took.as_secs_f64() / raw.as_secs_f64();
        row(
            &format!("{label} ({changed})"),
            &format!("{:.2}s", took.as_secs_f64()),
            &format!("{:.2}s", raw.as_secs_f64()),
            ratio,
            "≤ 1.3×:",
            ratio <= 1.3,
        );
    }
    println!(
        "(fstore = the `fstore publish` process, Delta read included; raw = hand-written SQL from rows in memory)"
    );
    Ok(())
}

/// `fstore.toml` with the offline root and store `pg` (the bench database, identity from the
/// environment: `FSTORE_SECRET_BENCH_PG_PG_*`).
fn write_config(dir: &Path, server: &Server) -> anyhow::Result<PathBuf> {
    let path = dir.join("fstore.toml");
    std::fs::write(
        &path,
        format!(
            "[offline]\nroot = \"{}\"\n\n[secrets]\nbackend = \"env\"\n\n[stores.pg]\nkind = \"postgres\"\nhost = \"{}\"\nport = {}\ndatabase = \"{DB}\"\nschema = \"{SCHEMA}\"\nread_secret_prefix = \"bench_pg/pg\"\nwrite_secret_prefix = \"bench_pg/pg\"\ntls = \"disabled\"\n",
            dir.join("offline").display(),
            server.host,
            server.port
        ),
    )?;
    Ok(path)
}
