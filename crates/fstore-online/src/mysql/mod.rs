//! The MySQL / MariaDB / Aurora MySQL backend.
//!
//! One `mysql_async` connection pool per store. [`MysqlStore::connect`] opens a first connection
//! straight away (so a wrong host, password or database is reported at once, with a clear
//! [`StoreErrorKind`]) and detects the server: MySQL or MariaDB, its version, whether it allows
//! `LOAD DATA LOCAL INFILE`, and its `max_allowed_packet`.
//!
//! Layout: `admin.rs` (`online init`: database and least-privilege users), `write.rs` (first publish, merge, overwrite), `load.rs` (the bulk path: `LOAD DATA
//! LOCAL INFILE` streamed from memory, or pipelined multi-row `INSERT`s), `read.rs` (lookups),
//! `ddl.rs` (DDL, catalog queries, bookkeeping), `adopt.rs` (adopting Databricks' tables and migrating
//! older fstore layouts before a merge), `error.rs` (server error codes → kinds).
//!
//! Sessions run with `sql_mode` strict (`STRICT_ALL_TABLES`, no zero dates) and
//! `time_zone = '+00:00'`, whatever the server's defaults; `DATETIME(6)` values are UTC.
//!
//! TLS follows [`TlsMode`] (see `docs/aurora.md`): `verify-identity` (the default for any
//! host that is not loopback) checks the certificate chain against the built-in web roots, the
//! machine's trusted CAs (`tls_roots.rs`) and the store's `tls_ca_file` (e.g. the Amazon RDS
//! bundle), and the host name against the certificate; `required` encrypts without checking; `preferred` (loopback hosts only) falls back
//! to plaintext when the server offers no TLS, and says so in the log; `disabled` is plaintext,
//! with a warning for a host that is not loopback. A server that offers no TLS is refused by
//! `required` and `verify-identity`: nothing falls back to plaintext over the network. Only a
//! connection to a loopback host moves to the server's Unix socket, so a remote server's
//! `@@socket` can never lead a verified connection to a local server.

pub mod admin;
mod adopt;
mod ddl;
mod error;
mod history;
mod load;
mod read;
mod scan;
mod serving;
mod write;

use std::path::Path;
use std::time::Duration;

use fstore_core::config::{MysqlConfig, TlsMode, is_loopback_host};
use fstore_core::ident::quote_mysql;
use fstore_core::{Progress, Value};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, DriverError, OptsBuilder, Pool, PoolConstraints, PoolOpts, SslOpts};

pub use self::ddl::{OLD_PREFIX, SHADOW_PREFIX, STAGE_PREFIX, TABLE_OPTIONS, canonical_type};
use self::error::Ctx;
pub use self::error::Target;
pub use self::load::{BulkMode, ROWS_PER_INSERT};
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::OnlineLayout;
use crate::{
    Applied, LookupResult, OnlineReader, OnlineWriter, PublishHistoryEntry, PublishedTable, Rows,
    WriteMeta,
};

/// Session settings applied to every connection (and again after a reset).
const SESSION_SETUP: [&str; 2] = [
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
    "SET SESSION time_zone = '+00:00'",
];

/// Prepared statements kept per connection (lookups use a handful of IN-list sizes per table).
const STMT_CACHE: usize = 256;

/// How long an idle pooled connection is kept (MySQL's own `wait_timeout` is 8 hours).
const POOL_IDLE_TTL: Duration = Duration::from_secs(300);

/// Which server family answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// MySQL (including Aurora MySQL).
    Mysql,
    MariaDb,
}

/// What [`MysqlStore::connect`] found out about the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerInfo {
    pub flavor: Flavor,
    /// `SELECT VERSION()`, e.g. `8.0.36` or `10.11.6-MariaDB-0+deb12u1`.
    pub version: String,
    /// (major, minor, patch) as the handshake reported it.
    pub version_tuple: (u16, u16, u16),
    /// `@@GLOBAL.local_infile`: does the server allow `LOAD DATA LOCAL INFILE`?
    pub local_infile: bool,
    /// `@@max_allowed_packet` in bytes.
    pub max_allowed_packet: u64,
    /// Whether the connections use TLS.
    pub tls: bool,
}

/// Connection options beyond [`MysqlConfig`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MysqlOptions {
    /// How writes move rows (default: `LOAD DATA` when the server allows it).
    pub bulk: BulkMode,
    /// Never switch to the server's Unix socket. By default a connection to a server on this
    /// machine moves to its socket (`@@socket`), which is faster than loopback TCP; tests that
    /// cut the TCP path to simulate an outage turn that off.
    pub tcp_only: bool,
}

impl MysqlOptions {
    /// The defaults. (The CA file trusted for `verify-identity` is the store's `tls_ca_file`,
    /// not an environment variable.)
    pub fn from_env() -> Self {
        Self {
            bulk: BulkMode::Auto,
            tcp_only: false,
        }
    }
}

/// The MySQL online store: a connection pool to one database.
pub struct MysqlStore {
    pool: Pool,
    target: Target,
    server: ServerInfo,
    bulk: BulkMode,
    /// Smallest merge that goes straight into the table by `LOAD DATA … REPLACE`.
    replace_min_rows: u64,
}

/// Merges of at least this many rows take the `LOAD DATA … REPLACE` path when they can (see
/// `write.rs`): below it, a staging table and a join that counts new keys cost less than two
/// counts of the whole table.
pub const REPLACE_MIN_ROWS: u64 = 100_000;

/// rustls needs one process-wide crypto provider when several are compiled in (deltalake brings
/// aws-lc-rs, mysql_async ring); without it, building a TLS config panics.
fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
}

/// The TLS options for `cfg`, after refusing what would be less safe than the config reads and
/// warning about what is weaker than a network connection deserves.
fn ssl_opts(cfg: &MysqlConfig) -> Result<Option<SslOpts>> {
    let local = is_loopback_host(&cfg.host);
    let unverified = || {
        SslOpts::default()
            .with_danger_accept_invalid_certs(true)
            .with_danger_skip_domain_validation(true)
    };
    let ssl = match cfg.tls {
        TlsMode::Disabled => {
            if !local {
                tracing::warn!(server = %cfg.host, "tls = \"disabled\": the password and every feature value cross the network to MySQL in plaintext");
            }
            None
        }
        TlsMode::Preferred if !local => {
            return Err(StoreError::new(
                StoreErrorKind::BadRequest,
                format!(
                    "tls = \"preferred\" falls back to plaintext, so it is only accepted for a loopback host, not `{}`; use \"verify-identity\" (with tls_ca_file for a private CA), or \"disabled\" to accept plaintext knowingly",
                    cfg.host
                ),
            ));
        }
        TlsMode::Preferred => Some(unverified()),
        TlsMode::Required => {
            if !local {
                tracing::warn!(server = %cfg.host, "tls = \"required\" encrypts but does not check the server's certificate, so anyone on the path can pose as the server; use tls = \"verify-identity\"");
            }
            Some(unverified())
        }
        TlsMode::VerifyIdentity => {
            // Trusted: the driver's built-in web roots, this machine's CAs and the store's CA file.
            let mut roots: Vec<_> = crate::tls_roots::os_roots()
                .iter()
                .map(|c| c.to_vec().into())
                .collect();
            if let Some(ca) = &cfg.tls_ca_file {
                check_ca_file(ca)?;
                roots.push(ca.clone().into());
            }
            Some(SslOpts::default().with_root_certs(roots))
        }
    };
    if ssl.is_some() {
        install_crypto_provider();
    }
    Ok(ssl)
}

/// A CA file that cannot be read or holds no certificate is reported before any connection,
/// naming the file (the driver would only say "invalid certificate").
fn check_ca_file(path: &Path) -> Result<()> {
    let bad = |why: String| {
        StoreError::new(
            StoreErrorKind::BadRequest,
            format!(
                "tls_ca_file {}: {why}; point it at a PEM file of CA certificates (for Amazon RDS/Aurora, global-bundle.pem from https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)",
                path.display()
            ),
        )
    };
    let text = std::fs::read(path).map_err(|e| bad(format!("cannot be read ({e})")))?;
    if !text
        .windows(27)
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(bad("holds no PEM certificate".into()));
    }
    Ok(())
}

fn timeout_error(t: &Target, secs: u64) -> StoreError {
    StoreError::new(
        StoreErrorKind::Connection,
        format!(
            "cannot reach MySQL at {}: no answer within {secs} s; check the host and port, that the server is running and that no firewall blocks it",
            t.addr()
        ),
    )
}

impl MysqlStore {
    /// Connects to `cfg.database` on `cfg.host:cfg.port` as `user`, with options from the
    /// environment ([`MysqlOptions::from_env`]).
    pub async fn connect(cfg: &MysqlConfig, user: &str, password: &str) -> Result<Self> {
        Self::connect_with(cfg, user, password, MysqlOptions::from_env()).await
    }

    /// [`MysqlStore::connect`] with explicit options.
    pub async fn connect_with(
        cfg: &MysqlConfig,
        user: &str,
        password: &str,
        options: MysqlOptions,
    ) -> Result<Self> {
        let target = Target {
            host: cfg.host.clone(),
            port: cfg.port,
            database: cfg.database.clone(),
            user: user.to_string(),
        };
        let build = |ssl: Option<SslOpts>| {
            let constraints = PoolConstraints::new(0, cfg.pool_max.max(1))
                .unwrap_or(mysql_async::DEFAULT_POOL_CONSTRAINTS);
            OptsBuilder::default()
                .ip_or_hostname(cfg.host.clone())
                .tcp_port(cfg.port)
                .user(Some(user))
                .pass(Some(password))
                .db_name(Some(cfg.database.clone()))
                .tcp_nodelay(true)
                // Only a loopback connection may move to `@@socket`: a remote server's socket
                // path names a file on *this* machine, possibly another server's.
                .prefer_socket(!options.tcp_only && is_loopback_host(&cfg.host))
                .stmt_cache_size(STMT_CACHE)
                .setup(SESSION_SETUP.iter().map(|s| s.to_string()).collect())
                .pool_opts(
                    // Idle connections stay pooled for a while: a server answering lookups would
                    // otherwise open a new connection (a TCP and auth handshake) per request. A
                    // pooled connection the server closed is detected and replaced on checkout.
                    PoolOpts::default()
                        .with_constraints(constraints)
                        .with_inactive_connection_ttl(POOL_IDLE_TTL)
                        .with_reset_connection(false),
                )
                .ssl_opts(ssl)
        };
        let ssl = ssl_opts(cfg)?;
        let timeout = cfg.connect_timeout_secs.max(1);
        let tls = ssl.is_some();
        match Self::open(build(ssl), target.clone(), timeout, options.bulk, tls).await {
            Err(Attempt::NoTls) if cfg.tls == TlsMode::Preferred => {
                // Loopback only (see `ssl_opts`): the plaintext never leaves the machine.
                tracing::info!(server = %target.addr(), "the server does not offer TLS; connecting without it (tls = \"preferred\", loopback host)");
                Self::open(build(None), target.clone(), timeout, options.bulk, false)
                    .await
                    .map_err(|a| a.into_error(&target))
            }
            other => other.map_err(|a| a.into_error(&target)),
        }
    }

    /// Connects with a `mysql://user:password@host:port` URL (tests, tools) to `database`.
    /// TLS is the host's default ([`TlsMode::default_for_host`]).
    pub async fn connect_url(url: &str, database: &str, options: MysqlOptions) -> Result<Self> {
        let opts = mysql_async::Opts::from_url(url).map_err(|e| {
            StoreError::new(
                StoreErrorKind::BadRequest,
                format!("invalid MySQL URL: {e}"),
            )
        })?;
        let cfg = url_config(&opts, database);
        let user = opts.user().unwrap_or("root").to_string();
        let pass = opts.pass().unwrap_or("").to_string();
        Self::connect_with(&cfg, &user, &pass, options).await
    }

    /// Creates `cfg.database` (utf8mb4, utf8mb4_bin) if it does not exist; `Ok(true)` when it
    /// was created. What `fstore online init` runs.
    pub async fn create_database(cfg: &MysqlConfig, user: &str, password: &str) -> Result<bool> {
        fstore_core::ident::validate_database_name(&cfg.database)
            .map_err(|e| StoreError::new(StoreErrorKind::BadRequest, e.to_string()))?;
        let target = Target {
            host: cfg.host.clone(),
            port: cfg.port,
            database: cfg.database.clone(),
            user: user.to_string(),
        };
        let ssl = ssl_opts(cfg)?;
        let opts = |ssl: Option<SslOpts>| {
            OptsBuilder::default()
                .ip_or_hostname(cfg.host.clone())
                .tcp_port(cfg.port)
                .user(Some(user))
                .pass(Some(password))
                .ssl_opts(ssl)
        };
        let secs = cfg.connect_timeout_secs.max(1);
        let connect = |o: OptsBuilder| async move {
            tokio::time::timeout(Duration::from_secs(secs), Conn::new(o))
                .await
                .map_err(|_| None)
                .and_then(|r| r.map_err(Some))
        };
        let mut conn = match connect(opts(ssl)).await {
            Err(Some(mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer)))
                if cfg.tls == TlsMode::Preferred =>
            {
                connect(opts(None)).await
            }
            other => other,
        }
        .map_err(|e| match e {
            None => timeout_error(&target, secs),
            Some(e) => error::map(&target, "connecting", e),
        })?;
        let exists: Option<i64> = conn
            .exec_first(
                "SELECT 1 FROM INFORMATION_SCHEMA.SCHEMATA WHERE SCHEMA_NAME = ?",
                (cfg.database.as_str(),),
            )
            .await
            .ctx(&target, "looking up the database")?;
        if exists.is_none() {
            conn.query_drop(format!(
                "CREATE DATABASE IF NOT EXISTS {} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
                quote_mysql(&cfg.database)
            ))
            .await
            .with_ctx(&target, || format!("creating database `{}`", cfg.database))?;
        }
        let _ = conn.disconnect().await;
        Ok(exists.is_none())
    }

    async fn open(
        opts: OptsBuilder,
        target: Target,
        timeout_secs: u64,
        bulk: BulkMode,
        tls: bool,
    ) -> std::result::Result<Self, Attempt> {
        let pool = Pool::new(opts);
        let conn = tokio::time::timeout(Duration::from_secs(timeout_secs), pool.get_conn()).await;
        let mut conn = match conn {
            Err(_) => {
                let _ = pool.disconnect().await;
                return Err(Attempt::Failed(timeout_error(&target, timeout_secs)));
            }
            Ok(Err(mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer))) => {
                let _ = pool.disconnect().await;
                return Err(Attempt::NoTls);
            }
            Ok(Err(e)) => {
                let _ = pool.disconnect().await;
                return Err(Attempt::Failed(error::map(&target, "connecting", e)));
            }
            Ok(Ok(c)) => c,
        };
        let row: Option<(String, Option<i64>, Option<u64>)> = conn
            .query_first("SELECT VERSION(), @@GLOBAL.local_infile, @@max_allowed_packet")
            .await
            .ctx(&target, "detecting the server version")
            .map_err(Attempt::Failed)?;
        let (version, local_infile, max_packet) = row.unwrap_or_default();
        let server = ServerInfo {
            flavor: if version.to_ascii_lowercase().contains("mariadb") {
                Flavor::MariaDb
            } else {
                Flavor::Mysql
            },
            version,
            version_tuple: conn.server_version(),
            local_infile: local_infile.unwrap_or(0) != 0,
            max_allowed_packet: max_packet.unwrap_or(4 << 20),
            tls,
        };
        drop(conn);
        tracing::debug!(server = %target.addr(), version = %server.version, local_infile = server.local_infile, tls, "connected to MySQL");
        Ok(Self {
            pool,
            target,
            server,
            bulk,
            replace_min_rows: REPLACE_MIN_ROWS,
        })
    }

    /// What the server is and allows.
    pub fn server(&self) -> &ServerInfo {
        &self.server
    }

    /// The database this store writes to.
    pub fn database(&self) -> &str {
        &self.target.database
    }

    /// Server address, database and user (what error messages name).
    pub fn target(&self) -> &Target {
        &self.target
    }

    pub fn bulk_mode(&self) -> BulkMode {
        self.bulk
    }

    /// Chooses how writes move rows (tests force each path with this).
    pub fn set_bulk_mode(&mut self, mode: BulkMode) {
        self.bulk = mode;
    }

    /// Smallest merge written by `LOAD DATA … REPLACE` straight into the table (default
    /// [`REPLACE_MIN_ROWS`]; tests set 0 to run that path on small tables).
    pub fn set_replace_min_rows(&mut self, rows: u64) {
        self.replace_min_rows = rows;
    }

    pub fn replace_min_rows(&self) -> u64 {
        self.replace_min_rows
    }

    /// The connection pool, for tools and tests that need raw SQL on the store's server.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Closes every pooled connection.
    pub async fn close(self) -> Result<()> {
        let t = self.target.clone();
        self.pool
            .disconnect()
            .await
            .ctx(&t, "closing the connections")
    }

    async fn conn(&self) -> Result<Conn> {
        self.pool
            .get_conn()
            .await
            .ctx(&self.target, "taking a connection from the pool")
    }
}

/// Why a connection attempt failed.
enum Attempt {
    /// TLS was asked for and the server does not offer it.
    NoTls,
    Failed(StoreError),
}

impl Attempt {
    fn into_error(self, target: &Target) -> StoreError {
        match self {
            Attempt::Failed(e) => e,
            Attempt::NoTls => error::map(
                target,
                "connecting",
                mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer),
            ),
        }
    }
}

fn url_config(opts: &mysql_async::Opts, database: &str) -> MysqlConfig {
    MysqlConfig {
        host: opts.ip_or_hostname().to_string(),
        port: opts.tcp_port(),
        database: database.to_string(),
        read_secret_prefix: None,
        write_secret_prefix: None,
        tls: TlsMode::default_for_host(opts.ip_or_hostname()),
        tls_ca_file: None,
        connect_timeout_secs: 10,
        pool_max: 16,
    }
}

impl OnlineWriter for MysqlStore {
    async fn apply(
        &self,
        layout: &OnlineLayout,
        rows: Rows,
        meta: &WriteMeta,
        progress: &dyn Progress,
    ) -> Result<Applied> {
        write::apply(self, layout, rows, meta, progress).await
    }
    async fn record_publish(&self, entry: &PublishHistoryEntry) -> Result<()> {
        let mut conn = self.conn().await?;
        history::record(&mut conn, &self.target, entry).await
    }

    async fn drop_table(&self, table: &str) -> Result<()> {
        write::check_table_name(table)?;
        let t = &self.target;
        let mut conn = self.conn().await?;
        conn.reset_connection(true);
        ddl::lock(&mut conn, t, table, 60).await?;
        let result = async {
            let names = [
                table.to_string(),
                ddl::shadow_name(table),
                ddl::old_name(table),
            ];
            // The rows go first: a shadow row without its table would stand for the table.
            ddl::delete_bookkeeping(&mut conn, t, table).await?;
            conn.query_drop(format!("DROP TABLE IF EXISTS {}", ddl::quoted_list(&names)))
                .await
                .with_ctx(t, || format!("dropping table `{table}`"))
        }
        .await;
        let _ = ddl::unlock(&mut conn, t, table).await;
        result
    }
}

impl OnlineReader for MysqlStore {
    async fn lookup(
        &self,
        table: &str,
        keys: &[Vec<Value>],
        features: Option<&[String]>,
    ) -> Result<LookupResult> {
        let mut conn = self.conn().await?;
        read::lookup(&mut conn, &self.target, table, keys, features).await
    }

    async fn lookup_in(
        &self,
        layout: &OnlineLayout,
        keys: &[Vec<Value>],
        features: Option<&[String]>,
    ) -> Result<LookupResult> {
        let mut conn = self.conn().await?;
        read::lookup_in(&mut conn, &self.target, layout, keys, features).await
    }

    async fn describe(&self, table: &str) -> Result<Option<PublishedTable>> {
        let mut conn = self.conn().await?;
        ddl::read_bookkeeping(&mut conn, &self.target, table).await
    }

    async fn list(&self) -> Result<Vec<PublishedTable>> {
        let mut conn = self.conn().await?;
        ddl::list_bookkeeping(&mut conn, &self.target).await
    }

    async fn history(&self, table: &str, limit: usize) -> Result<Vec<PublishHistoryEntry>> {
        let mut conn = self.conn().await?;
        history::read(&mut conn, &self.target, table, limit).await
    }

    async fn health(&self) -> Result<()> {
        let mut conn = self.conn().await?;
        let one: Option<i64> = conn
            .query_first("SELECT 1")
            .await
            .ctx(&self.target, "checking the database")?;
        match one {
            Some(1) => Ok(()),
            other => Err(StoreError::new(
                StoreErrorKind::Database,
                format!(
                    "MySQL at {} answered `SELECT 1` with {other:?}",
                    self.target.addr()
                ),
            )),
        }
    }

    async fn scan_page(
        &self,
        layout: &OnlineLayout,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Vec<Value>>> {
        let mut conn = self.conn().await?;
        scan::scan_page(&mut conn, &self.target, layout, after, limit).await
    }
}
