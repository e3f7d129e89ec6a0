//! The MariaDB/MySQL side: loading the table through fstore's MySQL store, the read-only user,
//! and the raw limit (prepared statements straight against MariaDB).

use std::sync::Arc;
use std::time::Instant;

use fstore_core::{NoProgress, TableSpec};
use fstore_online::mysql::MysqlStore;
use fstore_online::{OnlineLayout, OnlineReader, OnlineWriter, PublishRecord, WriteMode};
use mysql_async::prelude::Queryable;

use crate::measure::{Phase, drive, xorshift};
use crate::{DB, FEATURES, READER, READER_PASSWORD, TABLE, batch};

pub fn url() -> String {
    std::env::var("FSTORE_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

/// The raw side's pool: up to `max_conc` connections as the reader.
pub fn pool(max_conc: usize) -> anyhow::Result<mysql_async::Pool> {
    let opts = mysql_async::OptsBuilder::from_opts(mysql_async::Opts::from_url(&url())?)
        .user(Some(READER))
        .pass(Some(READER_PASSWORD))
        .db_name(Some(DB))
        .tcp_nodelay(true)
        .stmt_cache_size(16)
        .pool_opts(mysql_async::PoolOpts::default().with_constraints(
            mysql_async::PoolConstraints::new(0, max_conc.max(1)).expect("constraints"),
        ));
    Ok(mysql_async::Pool::new(opts))
}

pub async fn load(rows: i64, reload: bool) -> anyhow::Result<()> {
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

/// Random lookups straight against MariaDB (the raw limit).
pub async fn raw_lookups(
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
