//! Publishing N rows (default 1,000,000) × 10 features to SQLite from an `s3://` offline root
//! (an S3 API server on loopback, `FSTORE_BENCH_S3_ENDPOINT`, bucket `FSTORE_BENCH_S3_BUCKET`)
//! and from a local root, the same table, in the same run; prints both and the ratio. The
//! difference is what reading the Delta log and data files through the S3 API costs.
//!
//! `bench/publish_s3.sh [ROWS]` starts the server; credentials come from the AWS environment.

use fstore_bench::{batches, report, schema, timed};
use fstore_core::{NoProgress, TableName, TableSpec};
use fstore_offline::{OfflineStore, S3Settings};
use fstore_online::OnlineStore;
use fstore_online::sqlite::SqliteStore;
use fstore_publish::{PublishOptions, publish};

fn main() -> anyhow::Result<()> {
    let rows = fstore_bench::rows_arg()?;
    let endpoint = std::env::var("FSTORE_BENCH_S3_ENDPOINT")
        .map_err(|_| anyhow::anyhow!("set FSTORE_BENCH_S3_ENDPOINT (bench/publish_s3.sh does)"))?;
    let bucket = std::env::var("FSTORE_BENCH_S3_BUCKET")
        .map_err(|_| anyhow::anyhow!("set FSTORE_BENCH_S3_BUCKET (bench/publish_s3.sh does)"))?;
    let dir = tempfile::tempdir()?;
    let rt = tokio::runtime::Runtime::new()?;
    println!(
        "publish to SQLite from S3 ({endpoint}) and from a local root: {rows} rows × 10 features"
    );

    let data = batches(rows, 65_536, 0);
    let name = TableName::parse("bench.features")?;
    let local = OfflineStore::new(
        dir.path().join("offline").to_str().unwrap_or("offline"),
        Default::default(),
    )?;
    let s3 = OfflineStore::with_settings(
        &format!("s3://{bucket}/offline"),
        Default::default(),
        &S3Settings {
            endpoint: Some(endpoint.clone()),
            allow_http: true,
            region: Some("us-east-1".into()),
            ..Default::default()
        },
    )?;
    for (label, store) in [("local", &local), ("S3", &s3)] {
        let (r, d) = timed(|| {
            rt.block_on(store.create(
                &name,
                TableSpec::new(vec!["id".into()], None)?,
                schema(),
                data.clone(),
                vec![],
            ))
            .map_err(anyhow::Error::from)
        });
        r?;
        println!(
            "(setup: Delta table written to the {label} root in {:.2}s)",
            d.as_secs_f64()
        );
    }

    let mut rates = Vec::new();
    for (label, store) in [("local", &local), ("S3", &s3)] {
        let online = OnlineStore::Sqlite(SqliteStore::open(
            &dir.path().join(format!("online-{label}.db")),
        )?);
        let (r, d) = timed(|| {
            rt.block_on(publish(
                store,
                &online,
                &name,
                &PublishOptions::default(),
                &NoProgress,
            ))
        });
        r?;
        rates.push(report(
            &format!("fstore publish from the {label} root → SQLite"),
            rows,
            d,
        ));
    }
    println!(
        "ratio S3 time / local time: {:.2}x (target ≤ 1.5x on loopback)",
        rates[0] / rates[1]
    );
    Ok(())
}
