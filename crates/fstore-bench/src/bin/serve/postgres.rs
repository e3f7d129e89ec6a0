//! The PostgreSQL side: a database of the bench's own (`fstore_bench_serve`, created fresh and
//! dropped at the end), the table loaded through fstore's PostgreSQL store, a `SELECT`-only
//! reader role, and the raw limit: the prepared `SELECT … WHERE id = $1` (`= ANY($1)` for
//! batches) on as many connections as `fstore serve`'s pool holds ([`CONNECTIONS`]), shared by
//! the workers as fstore's pool is: tokio-postgres pipelines the queries of concurrent callers on
//! one connection. (One connection per worker would need 3 × 64 connections with both servers'
//! pools, past PostgreSQL's default `max_connections` of 100.)

use std::sync::Arc;
use std::time::Instant;

use fstore_bench::pg::Server;
use fstore_core::{NoProgress, TableSpec};
use fstore_online::postgres::PostgresStore;
use fstore_online::{OnlineLayout, OnlineWriter, PublishRecord, WriteMode};

use crate::measure::{Phase, drive, xorshift};
use crate::{DB, FEATURES, READER, READER_PASSWORD, TABLE, batch};

/// Connections of each `fstore serve` pool (`pool_max`) and of the raw side.
pub const CONNECTIONS: usize = 16;

/// Creates the database afresh, loads `rows` rows and creates the reader role.
pub async fn load(server: &Server, rows: i64) -> anyhow::Result<()> {
    server.fresh_database(DB).await?;
    let admin = server.connect(DB, None).await?;
    // The role is the cluster's: kept between runs, its grants are on this database's objects.
    let exists = admin
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
            &[&READER],
        )
        .await?
        .is_some();
    if !exists {
        admin
            .batch_execute(&format!(
                "CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'"
            ))
            .await?;
    }
    eprintln!("bench: loading {rows} rows into {DB}.public.{TABLE}");
    let start = Instant::now();
    let store = PostgresStore::connect_plain(
        &server.host,
        server.port,
        DB,
        "public",
        &server.user,
        server.password.as_deref().unwrap_or(""),
    )
    .await?;
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
    admin
        .batch_execute(&format!(
            "GRANT CONNECT ON DATABASE {DB} TO {READER}; GRANT USAGE ON SCHEMA public TO {READER}; \
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}"
        ))
        .await?;
    // Its own call: a multi-statement string runs as one transaction, which VACUUM refuses.
    admin.batch_execute("VACUUM ANALYZE").await?;
    eprintln!("bench: loaded in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}

/// The `fstore.toml` store section for the reader (secrets `bench_reader/bench`).
pub fn store_toml(server: &Server, pool_max: usize) -> String {
    format!(
        "kind = \"postgres\"\nhost = \"{}\"\nport = {}\ndatabase = \"{DB}\"\nschema = \"public\"\nread_secret_prefix = \"bench_reader/bench\"\ntls = \"disabled\"\npool_max = {pool_max}\n",
        server.host, server.port
    )
}

/// `n` connections as the reader, for the raw side.
pub async fn connections(
    server: &Server,
    n: usize,
) -> anyhow::Result<Vec<Arc<tokio_postgres::Client>>> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(Arc::new(server.connect(DB, Some(READER)).await?));
    }
    Ok(out)
}

/// Random lookups straight against PostgreSQL (the raw limit): worker `w` uses connection
/// `w % conns.len()`.
pub async fn raw_lookups(
    conns: &[Arc<tokio_postgres::Client>],
    rows: i64,
    conc: usize,
    secs: f64,
    batch: usize,
) -> Phase {
    let cols = std::iter::once("id")
        .chain(FEATURES)
        .collect::<Vec<_>>()
        .join(", ");
    let sql = if batch == 1 {
        format!("SELECT {cols} FROM public.{TABLE} WHERE id = $1")
    } else {
        format!("SELECT {cols} FROM public.{TABLE} WHERE id = ANY($1)")
    };
    let mut stmts = Vec::new();
    for c in conns {
        stmts.push(c.prepare(&sql).await.expect("prepare the raw lookup"));
    }
    let work: Arc<Vec<_>> = Arc::new(conns.iter().cloned().zip(stmts).collect());
    drive(conc, secs, move |w, r| {
        let work = work.clone();
        async move {
            let (client, stmt) = &work[w % work.len()];
            let mut s = r;
            let mut key = || 1 + (xorshift(&mut s) % rows as u64) as i64;
            if batch == 1 {
                client.query(stmt, &[&key()]).await.is_ok()
            } else {
                let keys: Vec<i64> = (0..batch).map(|_| key()).collect();
                client.query(stmt, &[&keys]).await.is_ok()
            }
        }
    })
    .await
}
