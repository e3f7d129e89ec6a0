//! PostgreSQL pieces of the benchmarks: the server from `FSTORE_TEST_PG_URL`, a database of the
//! bench's own (created fresh, dropped at the end), and the raw limit's binary `COPY` writers.
//!
//! Two raw writers, both hand-written clients of the same server: tokio-postgres'
//! `BinaryCopyInWriter` (per-value `ToSql`, a message every 4 KiB), and [`encode_rows`] — the
//! bench table's binary `COPY` tuples encoded straight from the Arrow columns and sent in 1 MiB
//! messages, what the fastest client of this table can do. A benchmark prints fstore beside both.

use std::str::FromStr;
use std::time::Duration;

use arrow::array::AsArray;
use arrow::datatypes::{Float64Type, Int64Type};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use futures::SinkExt;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, NoTls};

/// The server's URL: `FSTORE_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432`.
pub fn url() -> String {
    std::env::var("FSTORE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// The server's address and the admin identity of [`url`].
pub struct Server {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
}

impl Server {
    pub fn from_env() -> anyhow::Result<Self> {
        let cfg = Config::from_str(&url())
            .map_err(|e| anyhow::anyhow!("FSTORE_TEST_PG_URL is not a PostgreSQL URL: {e}"))?;
        let host = match cfg.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".to_string(),
        };
        Ok(Self {
            host,
            port: cfg.get_ports().first().copied().unwrap_or(5432),
            user: cfg.get_user().unwrap_or("postgres").to_string(),
            password: cfg
                .get_password()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
        })
    }

    /// A connection to `database` as `user` (the admin when `None`), in UTC.
    pub async fn connect(&self, database: &str, user: Option<&str>) -> anyhow::Result<Client> {
        let mut cfg = Config::new();
        cfg.host(&self.host)
            .port(self.port)
            .user(user.unwrap_or(&self.user))
            .dbname(database)
            .options("-c TimeZone=UTC")
            .connect_timeout(Duration::from_secs(10));
        if let (None, Some(p)) = (user, &self.password) {
            cfg.password(p);
        }
        let (client, conn) = cfg.connect(NoTls).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot connect to PostgreSQL at {}:{} as `{}` ({e}); set FSTORE_TEST_PG_URL",
                self.host,
                self.port,
                user.unwrap_or(&self.user)
            )
        })?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }

    /// Drops database `name` (closing its sessions) and creates it empty.
    pub async fn fresh_database(&self, name: &str) -> anyhow::Result<()> {
        self.drop_database(name).await?;
        let admin = self.connect("postgres", None).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        Ok(())
    }

    /// Drops database `name` if it exists, closing its sessions.
    pub async fn drop_database(&self, name: &str) -> anyhow::Result<()> {
        let admin = self.connect("postgres", None).await?;
        // One statement per call: DROP DATABASE refuses to run in a transaction block.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await?;
        Ok(())
    }
}

/// The column types of the bench table ([`crate::schema`]) for `BinaryCopyInWriter`.
pub const COPY_TYPES: [Type; 11] = [
    Type::INT8,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::BOOL,
];

/// Runs `COPY <sql>` (binary) with tokio-postgres' `BinaryCopyInWriter`, row by row through
/// `ToSql`. Returns the rows the server counted.
pub async fn copy_with_writer(
    client: &Client,
    sql: &str,
    data: &[RecordBatch],
) -> anyhow::Result<u64> {
    let sink = client.copy_in(sql).await?;
    let writer = BinaryCopyInWriter::new(sink, &COPY_TYPES);
    futures::pin_mut!(writer);
    for b in data {
        let id = b.column(0).as_primitive::<Int64Type>();
        let f: Vec<_> = (1..7)
            .map(|i| b.column(i).as_primitive::<Float64Type>())
            .collect();
        let n0 = b.column(7).as_primitive::<Int64Type>();
        let n1 = b.column(8).as_primitive::<Int64Type>();
        let s0 = b.column(9).as_string::<i32>();
        let b0 = b.column(10).as_boolean();
        for r in 0..b.num_rows() {
            let (k, v0, v1, v2) = (id.value(r), f[0].value(r), f[1].value(r), f[2].value(r));
            let (v3, v4, v5) = (f[3].value(r), f[4].value(r), f[5].value(r));
            let (m0, m1, s, t) = (n0.value(r), n1.value(r), s0.value(r), b0.value(r));
            let row: [&(dyn ToSql + Sync); 11] =
                [&k, &v0, &v1, &v2, &v3, &v4, &v5, &m0, &m1, &s, &t];
            writer.as_mut().write(&row).await?;
        }
    }
    Ok(writer.finish().await?)
}

/// Appends the rows of a bench batch as binary `COPY` tuples (no header or trailer).
pub fn encode_rows(b: &RecordBatch, out: &mut Vec<u8>) {
    fn field(out: &mut Vec<u8>, v: &[u8]) {
        out.extend_from_slice(&(v.len() as i32).to_be_bytes());
        out.extend_from_slice(v);
    }
    let id = b.column(0).as_primitive::<Int64Type>();
    let f: Vec<_> = (1..7)
        .map(|i| b.column(i).as_primitive::<Float64Type>())
        .collect();
    let n0 = b.column(7).as_primitive::<Int64Type>();
    let n1 = b.column(8).as_primitive::<Int64Type>();
    let s0 = b.column(9).as_string::<i32>();
    let b0 = b.column(10).as_boolean();
    for r in 0..b.num_rows() {
        out.extend_from_slice(&11i16.to_be_bytes());
        field(out, &id.value(r).to_be_bytes());
        for c in &f {
            field(out, &c.value(r).to_be_bytes());
        }
        field(out, &n0.value(r).to_be_bytes());
        field(out, &n1.value(r).to_be_bytes());
        field(out, s0.value(r).as_bytes());
        field(out, &[u8::from(b0.value(r))]);
    }
}

/// Runs `COPY <sql>` (binary) with the rows encoded by [`encode_rows`], sent in ~1 MiB messages.
/// Returns the rows the server counted.
pub async fn copy_encoded(client: &Client, sql: &str, data: &[RecordBatch]) -> anyhow::Result<u64> {
    const MESSAGE: usize = 1 << 20;
    let sink = client.copy_in::<_, Bytes>(sql).await?;
    futures::pin_mut!(sink);
    let mut buf = Vec::with_capacity(MESSAGE + 4096);
    buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0");
    for b in data {
        // Slices of 1,024 rows keep each message near 1 MiB.
        let mut start = 0;
        while start < b.num_rows() {
            let n = 1024.min(b.num_rows() - start);
            encode_rows(&b.slice(start, n), &mut buf);
            start += n;
            if buf.len() >= MESSAGE {
                sink.send(Bytes::from(std::mem::take(&mut buf))).await?;
                buf.reserve(MESSAGE + 4096);
            }
        }
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes());
    sink.send(Bytes::from(buf)).await?;
    Ok(sink.as_mut().finish().await?)
}
