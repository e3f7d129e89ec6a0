//! Publishing N rows (default 1,000,000) × 10 features to MariaDB/MySQL, beside the raw limit
//! measured in the same run: the `mysql` command-line client running a hand-written
//! `LOAD DATA LOCAL INFILE` of the same rows from a CSV file into an identical table.
//!
//! Prints: raw LOAD DATA, fstore first publish (Delta → MySQL), fstore merge of N changed rows,
//! and each one's ratio to the raw time. Targets (issue 3): first publish ≥ 0.8× the raw rate;
//! merge ≤ 2.5× the raw time.
//!
//! `cargo run --release -p fstore-bench --bin publish_mysql -- [ROWS]`
//! (server from `FSTORE_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306`)

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use fstore_bench::{
    RAW_LOAD_COLUMNS, RAW_MYSQL_COLUMNS, batches, report, schema, timed, write_csv,
};
use fstore_core::{NoProgress, TableName, TableSpec};
use fstore_offline::{OfflineStore, WriteMode};
use fstore_online::OnlineStore;
use fstore_online::mysql::{MysqlOptions, MysqlStore};
use fstore_publish::{PublishOptions, publish};
use mysql_async::prelude::Queryable;

const DB: &str = "fstore_bench";

fn write_csv_file(
    path: &std::path::Path,
    data: &[arrow::record_batch::RecordBatch],
) -> anyhow::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    for b in data {
        write_csv(&mut w, b)?;
    }
    w.flush()?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let rows = fstore_bench::rows_arg()?;
    let url_text = std::env::var("FSTORE_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let url = url::Url::parse(&url_text)?;
    let rt = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;
    println!(
        "publish to MySQL/MariaDB ({url_text}): {rows} rows × 10 features (6 double, 2 bigint, 1 string, 1 bool)"
    );

    rt.block_on(async {
        let mut c = mysql_async::Conn::from_url(url_text.as_str()).await?;
        c.query_drop(format!("DROP DATABASE IF EXISTS `{DB}`")).await?;
        c.query_drop(format!("CREATE DATABASE `{DB}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")).await?;
        c.query_drop(format!(
            "CREATE TABLE `{DB}`.raw ({RAW_MYSQL_COLUMNS}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
        ))
        .await?;
        c.query_drop("SET GLOBAL local_infile = 1").await.ok();
        c.disconnect().await?;
        anyhow::Ok(())
    })?;

    let data = batches(rows, 65_536, 0);
    let t = Instant::now();
    let csv = dir.path().join("rows.csv");
    write_csv_file(&csv, &data)?;
    let offline = OfflineStore::new(
        dir.path().join("offline").to_str().unwrap_or("offline"),
        Default::default(),
    )?;
    let name = TableName::parse("bench.features")?;
    rt.block_on(offline.create(
        &name,
        TableSpec::new(vec!["id".into()], None)?,
        schema(),
        data.clone(),
        vec![],
    ))?;
    println!(
        "(setup: CSV and Delta table written in {:.2}s)",
        t.elapsed().as_secs_f64()
    );

    // The raw limit: the mysql client, LOAD DATA LOCAL INFILE from the CSV file.
    let sql = format!(
        "LOAD DATA LOCAL INFILE '{}' INTO TABLE raw FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' {RAW_LOAD_COLUMNS}",
        csv.display()
    );
    let mut cmd = Command::new("mysql");
    cmd.arg("--local-infile=1")
        .arg(format!("--host={}", url.host_str().unwrap_or("127.0.0.1")))
        .arg(format!("--port={}", url.port().unwrap_or(3306)))
        .arg(format!(
            "--user={}",
            if url.username().is_empty() {
                "root"
            } else {
                url.username()
            }
        ))
        .arg(DB)
        .arg("-e")
        .arg(&sql);
    if let Some(p) = url.password() {
        cmd.env("MYSQL_PWD", p);
    }
    let (status, raw) = timed(|| cmd.status());
    anyhow::ensure!(status?.success(), "the mysql client's LOAD DATA failed");
    let raw_rate = report("raw: mysql client LOAD DATA LOCAL INFILE (CSV)", rows, raw);

    let store = rt.block_on(MysqlStore::connect_url(
        &url_text,
        DB,
        MysqlOptions::from_env(),
    ))?;
    let store = OnlineStore::Mysql(store);
    let (r, first) = timed(|| {
        rt.block_on(publish(
            &offline,
            &store,
            &name,
            &PublishOptions::default(),
            &NoProgress,
        ))
    });
    r?;
    let first_rate = report("fstore publish (first, Delta → MySQL)", rows, first);

    rt.block_on(offline.write(&name, batches(rows, 65_536, 1), WriteMode::Overwrite))?;
    let (r, merge) = timed(|| {
        rt.block_on(publish(
            &offline,
            &store,
            &name,
            &PublishOptions::default(),
            &NoProgress,
        ))
    });
    let r = r?;
    report("fstore publish (merge, every row changed)", rows, merge);
    assert_eq!(
        r.write.updated as usize, rows,
        "merge must update every row"
    );

    println!(
        "first publish rate / raw LOAD DATA rate: {:.2}x (target ≥ 0.8x)",
        first_rate / raw_rate
    );
    println!(
        "merge time / raw LOAD DATA time:         {:.2}x (target ≤ 2.5x)",
        merge.as_secs_f64() / raw.as_secs_f64()
    );
    rt.block_on(async {
        let mut c = mysql_async::Conn::from_url(url_text.as_str()).await?;
        c.query_drop(format!("DROP DATABASE IF EXISTS `{DB}`"))
            .await?;
        anyhow::Ok(())
    })?;
    Ok(())
}
