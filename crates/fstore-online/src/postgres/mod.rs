//! The PostgreSQL online store (PostgreSQL 14+, Aurora/RDS PostgreSQL, Lakebase): plain,
//! SQL-readable tables in one schema, written with binary `COPY` and read with prepared
//! statements.
//!
//! Driver: tokio-postgres, because it pipelines: statements sent on one connection by
//! concurrent callers go out without waiting for each other's replies, so a few connections
//! serve many concurrent lookups, and a publish sends its `COPY` data as a stream. sqlx
//! serialises the queries of a connection. The rows are encoded by hand ([`copy`]), not
//! through `BinaryCopyInWriter` (per-value `ToSql`, a flush every 4 KiB).
//!
//! Owns: connecting and pooling ([`conn`]), DDL and bookkeeping ([`ddl`]), writes ([`write`]),
//! lookups ([`read`]), the publish history ([`history`]) and the serving probe. The design,
//! with sources, is in `/work/shared/design/postgres.md`; the type mapping in
//! `docs/type-mapping.md`.

pub mod conn;
pub mod copy;
pub mod ddl;
pub mod error;
pub mod history;
pub mod read;
mod scan;
pub mod write;

use std::sync::Arc;
use std::time::Duration;

use fstore_core::config::{PostgresConfig, TlsMode};
use fstore_core::{Progress, Value};

use self::conn::{ConnectOptions, Pool};
use self::ddl::{q, qualified};
use self::error::Ctx;
use crate::error::Result;
use crate::layout::OnlineLayout;
use crate::lookup_plan::missing_table;
use crate::serving::ServingCheck;
use crate::{
    Applied, BOOKKEEPING_TABLE, LookupResult, OnlineReader, OnlineWriter, PublishHistoryEntry,
    PublishedTable, Rows, WriteMeta,
};

/// The PostgreSQL online store. Cheap to share: the pool is reference-counted.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Arc<Pool>,
    schema: String,
}

impl PostgresStore {
    /// Connects as `user` to the store `cfg` describes (one round trip checks it).
    pub async fn connect(cfg: &PostgresConfig, user: &str, password: &str) -> Result<Self> {
        let opts = ConnectOptions {
            host: cfg.host.clone(),
            port: cfg.port,
            database: cfg.database.clone(),
            user: user.to_string(),
            password: password.to_string(),
            tls: cfg.tls,
            tls_ca_file: cfg.tls_ca_file.clone(),
            connect_timeout: Duration::from_secs(cfg.connect_timeout_secs.max(1)),
            pool_max: cfg.pool_max,
        };
        Self::with_options(opts, &cfg.schema).await
    }

    /// Connects with explicit options (tests, benches): plaintext, schema `schema`.
    pub async fn connect_plain(
        host: &str,
        port: u16,
        database: &str,
        schema: &str,
        user: &str,
        password: &str,
    ) -> Result<Self> {
        let opts = ConnectOptions {
            host: host.to_string(),
            port,
            database: database.to_string(),
            user: user.to_string(),
            password: password.to_string(),
            tls: TlsMode::Disabled,
            tls_ca_file: None,
            connect_timeout: Duration::from_secs(10),
            pool_max: 16,
        };
        Self::with_options(opts, schema).await
    }

    async fn with_options(opts: ConnectOptions, schema: &str) -> Result<Self> {
        fstore_core::ident::validate_database_name(schema).map_err(|e| {
            crate::StoreError::new(crate::StoreErrorKind::InvalidData, e.to_string())
        })?;
        let pool = Pool::new(opts);
        let conn = pool.get().await?;
        pool.put(conn);
        Ok(Self {
            pool,
            schema: schema.to_string(),
        })
    }

    /// The schema holding the online tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Runs `f` on a pooled connection; the connection goes back to the pool only on success.
    async fn with_conn<T>(&self, f: impl AsyncFnOnce(&mut conn::Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get().await?;
        let out = f(&mut conn).await;
        if out.is_ok() {
            self.pool.put(conn);
        }
        out
    }
}

impl OnlineWriter for PostgresStore {
    async fn apply(
        &self,
        layout: &OnlineLayout,
        rows: Rows,
        meta: &WriteMeta,
        progress: &dyn Progress,
    ) -> Result<Applied> {
        let mode = rows.mode();
        let job = match rows {
            Rows::Merge(s) => write::Job {
                mode,
                kind: write::Kind::Merge,
                input: write::Input::Stream(s),
                deletes: Vec::new(),
                complete: false,
            },
            Rows::Overwrite(s) => write::Job {
                mode,
                kind: write::Kind::Overwrite,
                input: write::Input::Stream(s),
                deletes: Vec::new(),
                complete: false,
            },
            Rows::Sync(s) => write::Job {
                mode,
                kind: write::Kind::Changes,
                input: write::Input::Stream(s),
                deletes: Vec::new(),
                complete: true,
            },
            Rows::Changes(c) => write::Job {
                mode,
                kind: write::Kind::Changes,
                input: write::Input::Batches(c.upserts),
                deletes: c.deletes,
                complete: c.complete,
            },
        };
        if let write::Input::Stream(s) = &job.input
            && let Some(n) = s.rows_hint()
        {
            progress.set_total(n);
        }
        let schema = self.schema.clone();
        self.with_conn(async move |c| write::apply(c, &schema, layout, job, meta, progress).await)
            .await
    }

    async fn drop_table(&self, table: &str) -> Result<()> {
        ddl::check_table_name(table)?;
        let schema = self.schema.clone();
        self.with_conn(async move |c| {
            let tx = c.client.transaction().await.ctx("starting a transaction")?;
            ddl::lock_table(&tx, &schema, table).await?;
            tx.batch_execute(&format!(
                "DROP TABLE IF EXISTS {}; DROP TABLE IF EXISTS {}",
                qualified(&schema, table),
                qualified(&schema, &ddl::shadow_name(table))
            ))
            .await
            .with_ctx(|| format!("dropping table `{table}`"))?;
            ddl::delete_bookkeeping(&tx, &schema, table).await?;
            tx.commit()
                .await
                .with_ctx(|| format!("committing the drop of `{table}`"))
        })
        .await
    }

    async fn record_publish(&self, entry: &PublishHistoryEntry) -> Result<()> {
        let schema = self.schema.clone();
        self.with_conn(async move |c| history::record(&c.client, &schema, entry).await)
            .await
    }
}

impl OnlineReader for PostgresStore {
    async fn lookup(
        &self,
        table: &str,
        keys: &[Vec<Value>],
        features: Option<&[String]>,
    ) -> Result<LookupResult> {
        let schema = self.schema.clone();
        self.with_conn(async move |c| {
            let published = ddl::read_bookkeeping(&c.client, &schema, table)
                .await?
                .ok_or_else(|| missing_table(table))?;
            read::lookup_in(c, &schema, &published.layout, keys, features).await
        })
        .await
    }

    async fn lookup_in(
        &self,
        layout: &OnlineLayout,
        keys: &[Vec<Value>],
        features: Option<&[String]>,
    ) -> Result<LookupResult> {
        let schema = self.schema.clone();
        self.with_conn(async move |c| read::lookup_in(c, &schema, layout, keys, features).await)
            .await
    }

    async fn describe(&self, table: &str) -> Result<Option<PublishedTable>> {
        let schema = self.schema.clone();
        self.with_conn(async move |c| ddl::read_bookkeeping(&c.client, &schema, table).await)
            .await
    }

    async fn list(&self) -> Result<Vec<PublishedTable>> {
        let schema = self.schema.clone();
        self.with_conn(async move |c| ddl::list_bookkeeping(&c.client, &schema).await)
            .await
    }

    async fn history(&self, table: &str, limit: usize) -> Result<Vec<PublishHistoryEntry>> {
        let schema = self.schema.clone();
        self.with_conn(async move |c| history::read(&c.client, &schema, table, limit).await)
            .await
    }

    async fn health(&self) -> Result<()> {
        self.with_conn(async |c| {
            c.client
                .query_one("SELECT 1", &[])
                .await
                .ctx("checking the database")
                .map(|_| ())
        })
        .await
    }

    async fn scan_page(
        &self,
        layout: &OnlineLayout,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Vec<Value>>> {
        let schema = self.schema.clone();
        self.with_conn(async move |c| scan::scan_page(c, &schema, layout, after, limit).await)
            .await
    }
}

impl ServingCheck for PostgresStore {
    async fn check_serving(&self, tables: &[OnlineLayout]) -> Result<()> {
        let schema = self.schema.clone();
        let mut probes = vec![(
            format!(
                "checking that this identity can SELECT from the bookkeeping table `{BOOKKEEPING_TABLE}`"
            ),
            format!(
                "SELECT online_table FROM {} LIMIT 0",
                qualified(&schema, BOOKKEEPING_TABLE)
            ),
        )];
        for l in tables {
            let cols: Vec<String> = l.columns.iter().map(|c| q(&c.name)).collect();
            probes.push((
                format!("checking that this identity can SELECT from `{}`", l.table),
                format!(
                    "SELECT {} FROM {} LIMIT 0",
                    cols.join(", "),
                    qualified(&schema, &l.table)
                ),
            ));
        }
        self.with_conn(async move |c| {
            for (what, sql) in &probes {
                c.client.query(sql.as_str(), &[]).await.ctx(what)?;
            }
            Ok(())
        })
        .await
    }
}
