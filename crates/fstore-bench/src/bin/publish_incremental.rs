//! Incremental publishing to MariaDB/MySQL, in one run on N rows (default 1,000,000) × 10
//! features: a full publish of the table, then 1% of the rows changed offline — N/100 changes:
//! 90% updates by one Delta merge, 10% deletes by one Delta delete — then an incremental publish.
//! Prints both times and incremental / full (target, issue 5: ≤ 5%).
//!
//! Two tables: one with the Delta change data feed on (`delta.enableChangeDataFeed`; the merge
//! and the delete record the changed rows in `_change_data/`, so the publish reads only those),
//! and one without (the publish compares the rows of the files the commits removed and added;
//! fstore's merge and delete rewrite whole files, so it reads about four times the table and
//! writes only the changes). After each incremental publish the online row count and a sample of
//! updated and deleted keys are checked.
//!
//! The incremental publish touches rows spread over the whole table (1% of the rows is most of
//! its pages), so its time depends on whether the table fits in the server's buffer pool
//! (MariaDB's default is 128 MiB; the 1,000,000-row table takes about 150 MiB). The bench prints
//! the pool size; `FSTORE_BENCH_BUFFER_POOL_MB=N` sets `innodb_buffer_pool_size` for the run and
//! restores it afterwards.
//!
//! `cargo run --release -p fstore-bench --bin publish_incremental -- [ROWS]`
//! (server from `FSTORE_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306`)

use std::time::Duration;

use fstore_bench::{batches, rows_for, schema, timed};
use fstore_core::{NoProgress, TableName, TableSpec, Value};
use fstore_offline::{OfflineStore, WriteMode};
use fstore_online::mysql::{MysqlOptions, MysqlStore};
use fstore_online::{Backend, OnlineStore};
use fstore_publish::{Method, PublishOptions, PublishReport, publish};
use mysql_async::prelude::Queryable;

const DB: &str = "fstore_bench_incremental";

/// The changed keys: `deletes` and `updates` distinct ids spread over `0..rows`.
fn changed_ids(rows: usize) -> (Vec<i64>, Vec<i64>) {
    let total = (rows / 100).max(10);
    let n_delete = total / 10;
    let rows = rows as u64;
    // Multiplying by a prime coprime to `rows` visits distinct ids.
    let prime = [104_729u64, 7_919, 1_299_709]
        .into_iter()
        .find(|p| !rows.is_multiple_of(*p))
        .unwrap_or(1);
    let ids: Vec<i64> = (0..total as u64)
        .map(|k| ((k * prime + 17) % rows) as i64)
        .collect();
    (ids[..n_delete].to_vec(), ids[n_delete..].to_vec())
}

fn line(name: &str, d: Duration, r: &PublishReport) {
    println!(
        "{name:<22} {:>7.2}s  {} — {} rows read ({:.2}s), {} upserted, {} deleted ({:.2}s online)",
        d.as_secs_f64(),
        r.method,
        r.rows_read,
        r.read_elapsed.as_secs_f64(),
        r.upserts,
        r.write.deleted,
        r.write.elapsed.as_secs_f64(),
    );
}

async fn online_count(store: &OnlineStore, table: &str) -> anyhow::Result<u64> {
    let OnlineStore::Mysql(m) = store else {
        anyhow::bail!("the bench publishes to MySQL");
    };
    let mut c = m.pool().get_conn().await?;
    let n: Option<u64> = c
        .query_first(format!("SELECT COUNT(*) FROM `{table}`"))
        .await?;
    Ok(n.unwrap_or(0))
}

/// One table: full publish, the 1% change, incremental publish. Returns (full, incremental).
fn run(
    rt: &tokio::runtime::Runtime,
    offline: &OfflineStore,
    store: &OnlineStore,
    rows: usize,
    table: &str,
    cdf: bool,
) -> anyhow::Result<(Duration, Duration)> {
    let name = TableName::parse(&format!("bench.{table}"))?;
    rt.block_on(offline.clone().with_change_data_feed(cdf).create(
        &name,
        TableSpec::new(vec!["id".into()], None)?,
        schema(),
        batches(rows, 65_536, 0),
        vec![],
    ))?;
    let opts = PublishOptions::default();
    let (r, full) = timed(|| rt.block_on(publish(offline, store, &name, &opts, &NoProgress)));
    let r = r?;
    line("full publish", full, &r);

    let (deletes, updates) = changed_ids(rows);
    let (_, change) = timed(|| {
        rt.block_on(async {
            offline
                .write(&name, vec![rows_for(&updates, 1)], WriteMode::Merge)
                .await?;
            let list: Vec<String> = deletes.iter().map(|i| i.to_string()).collect();
            offline
                .delete(&name, &format!("id IN ({})", list.join(", ")))
                .await?;
            anyhow::Ok(())
        })
    });
    println!(
        "(offline: {} updates by a Delta merge, {} deletes by a Delta delete, in {:.2}s)",
        updates.len(),
        deletes.len(),
        change.as_secs_f64()
    );
    let (r, incremental) =
        timed(|| rt.block_on(publish(offline, store, &name, &opts, &NoProgress)));
    let r = r?;
    line("incremental publish", incremental, &r);
    anyhow::ensure!(
        matches!(r.method, Method::Incremental { change_data_feed, .. } if change_data_feed == cdf),
        "expected an incremental publish (change data feed: {cdf}), got {}",
        r.method
    );

    // Spot checks: the row count, updated values, deleted keys.
    rt.block_on(async {
        let online = name.table().to_string();
        let count = online_count(store, &online).await?;
        anyhow::ensure!(
            count as usize == rows - deletes.len(),
            "{count} rows online, expected {}",
            rows - deletes.len()
        );
        let sample: Vec<Vec<Value>> = updates
            .iter()
            .take(5)
            .chain(deletes.iter().take(5))
            .map(|i| vec![Value::Int(*i)])
            .collect();
        let got = store
            .lookup(&online, &sample, Some(&["n0".to_string()]))
            .await?;
        for (key, row) in sample.iter().zip(&got.rows) {
            let Value::Int(id) = key[0] else { continue };
            let expected = updates
                .contains(&id)
                .then(|| vec![Value::Int((id as u64 * 17 + 1) as i64)]);
            anyhow::ensure!(
                *row == expected,
                "key {id}: online {row:?}, expected {expected:?}"
            );
        }
        anyhow::Ok(())
    })?;
    println!(
        "incremental / full: {:.1}% (target ≤ 5%)",
        100.0 * incremental.as_secs_f64() / full.as_secs_f64()
    );
    Ok((full, incremental))
}

fn main() -> anyhow::Result<()> {
    let rows = fstore_bench::rows_arg()?;
    let url = std::env::var("FSTORE_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let rt = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;
    println!(
        "incremental publish to MySQL/MariaDB ({url}): {rows} rows × 10 features, then 1% of the rows changed ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    let pool_mb: Option<u64> = std::env::var("FSTORE_BENCH_BUFFER_POOL_MB")
        .ok()
        .map(|v| v.parse())
        .transpose()?;
    let original_pool = rt.block_on(async {
        let mut c = mysql_async::Conn::from_url(url.as_str()).await?;
        c.query_drop(format!("DROP DATABASE IF EXISTS `{DB}`"))
            .await?;
        c.query_drop(format!(
            "CREATE DATABASE `{DB}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        ))
        .await?;
        c.query_drop("SET GLOBAL local_infile = 1").await.ok();
        let pool: Option<u64> = c.query_first("SELECT @@innodb_buffer_pool_size").await?;
        let pool = pool.unwrap_or(0);
        if let Some(mb) = pool_mb {
            c.query_drop(format!("SET GLOBAL innodb_buffer_pool_size = {}", mb << 20))
                .await?;
        }
        let now: Option<u64> = c.query_first("SELECT @@innodb_buffer_pool_size").await?;
        println!(
            "server buffer pool: {} MiB{}",
            now.unwrap_or(0) >> 20,
            if pool_mb.is_some() {
                format!(
                    " (set by FSTORE_BENCH_BUFFER_POOL_MB; was {} MiB)",
                    pool >> 20
                )
            } else {
                String::new()
            }
        );
        c.disconnect().await?;
        anyhow::Ok(pool)
    })?;
    let offline = OfflineStore::new(
        dir.path().join("offline").to_str().unwrap_or("offline"),
        Default::default(),
    )?;
    let store = OnlineStore::Mysql(rt.block_on(MysqlStore::connect_url(
        &url,
        DB,
        MysqlOptions::from_env(),
    ))?);

    let result = (|| {
        println!("\n== with the change data feed (delta.enableChangeDataFeed = true)");
        let cdf = run(&rt, &offline, &store, rows, "features_cdf", true)?;
        println!("\n== without it (rows of removed and added files compared)");
        let files = run(&rt, &offline, &store, rows, "features_files", false)?;
        anyhow::Ok((cdf, files))
    })();
    if pool_mb.is_some() {
        rt.block_on(async {
            let mut c = mysql_async::Conn::from_url(url.as_str()).await?;
            c.query_drop(format!(
                "SET GLOBAL innodb_buffer_pool_size = {original_pool}"
            ))
            .await?;
            anyhow::Ok(())
        })?;
    }
    let ((full_cdf, incr_cdf), (full_files, incr_files)) = result?;

    println!("\nsummary ({rows} rows, 1% changed):");
    for (what, full, incr) in [
        ("change data feed", full_cdf, incr_cdf),
        ("added/removed files", full_files, incr_files),
    ] {
        println!(
            "  {what:<20} full {:>7.2}s  incremental {:>6.2}s  ratio {:>5.1}%",
            full.as_secs_f64(),
            incr.as_secs_f64(),
            100.0 * incr.as_secs_f64() / full.as_secs_f64()
        );
    }
    rt.block_on(async {
        let mut c = mysql_async::Conn::from_url(url.as_str()).await?;
        c.query_drop(format!("DROP DATABASE IF EXISTS `{DB}`"))
            .await?;
        anyhow::Ok(())
    })?;
    Ok(())
}
