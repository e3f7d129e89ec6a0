//! Connecting to PostgreSQL: the session settings fstore relies on (UTC time zone, so
//! timestamps cast from text mean UTC), TLS per [`TlsMode`], and a small pool of idle clients.
//!
//! The pool is a few lines of our own over `tokio_postgres::Client` rather than deadpool: a
//! client is taken for one operation (a lookup, a whole publish transaction) and returned only
//! when the operation succeeded, so a connection left in an unknown state (mid-transaction,
//! mid-COPY) is never reused; each pooled client carries its prepared-statement cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fstore_core::config::TlsMode;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Statement};

use super::error::Ctx;
use crate::error::{Result, StoreError, StoreErrorKind};

/// Where and how to connect.
#[derive(Clone)]
pub struct ConnectOptions {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password: String,
    pub tls: TlsMode,
    pub tls_ca_file: Option<std::path::PathBuf>,
    pub connect_timeout: Duration,
    pub pool_max: usize,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// A client with its prepared statements (by SQL text).
pub struct Conn {
    pub client: Client,
    pub statements: HashMap<String, Statement>,
    /// The pool's permit while the client is taken out of it; dropping a client that failed
    /// (instead of putting it back) frees its slot.
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Conn {
    /// The prepared statement for `sql`, prepared on first use.
    pub async fn prepared(
        &mut self,
        sql: &str,
    ) -> std::result::Result<Statement, tokio_postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).await?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }
}

/// At most `pool_max` clients open at once (taken or idle): a burst of lookups waits for a
/// client instead of opening connections until the server refuses more (`max_connections`).
pub struct Pool {
    opts: ConnectOptions,
    idle: Mutex<Vec<Conn>>,
    permits: Arc<tokio::sync::Semaphore>,
}

impl Pool {
    pub fn new(opts: ConnectOptions) -> Arc<Self> {
        let permits = Arc::new(tokio::sync::Semaphore::new(opts.pool_max.max(1)));
        Arc::new(Self {
            opts,
            idle: Mutex::new(Vec::new()),
            permits,
        })
    }

    pub fn options(&self) -> &ConnectOptions {
        &self.opts
    }

    /// An idle client, or a new one once fewer than `pool_max` are open.
    pub async fn get(&self) -> Result<Conn> {
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| {
            StoreError::new(StoreErrorKind::Connection, "the connection pool is closed")
        })?;
        loop {
            let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            match pooled {
                Some(c) if c.client.is_closed() => continue,
                Some(mut c) => {
                    c.permit = Some(permit);
                    return Ok(c);
                }
                None => {
                    let mut c = connect(&self.opts).await?;
                    c.permit = Some(permit);
                    return Ok(c);
                }
            }
        }
    }

    /// Returns a client after a successful operation (outside any transaction).
    pub fn put(&self, mut conn: Conn) {
        let permit = conn.permit.take();
        if !conn.client.is_closed() {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
        }
        // Free the slot only once the client is idle again, so `get` finds it.
        drop(permit);
    }
}

fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
}

/// Accepts any certificate (TLS modes `preferred` and `required`: encryption without
/// authentication), still checking the handshake signatures.
#[derive(Debug)]
struct NoCertCheck(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoCertCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_config(opts: &ConnectOptions) -> Result<rustls::ClientConfig> {
    install_crypto_provider();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::new(StoreErrorKind::Connection, format!("TLS setup: {e}")))?;
    if opts.tls != TlsMode::VerifyIdentity {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoCertCheck(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(crate::tls_roots::os_roots().iter().cloned());
    if let Some(path) = &opts.tls_ca_file {
        use rustls::pki_types::pem::PemObject;
        let bad = |e: String| {
            StoreError::new(
                StoreErrorKind::Connection,
                format!(
                    "cannot read tls_ca_file {}: {e}; point it at a PEM file of CA certificates",
                    path.display()
                ),
            )
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        roots.add_parsable_certificates(certs);
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// Opens one connection and starts its driver task.
pub async fn connect(opts: &ConnectOptions) -> Result<Conn> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&opts.host)
        .port(opts.port)
        .dbname(&opts.database)
        .user(&opts.user)
        .connect_timeout(opts.connect_timeout)
        .application_name("fstore")
        .keepalives(true)
        // Text cast to timestamptz (lookup keys) and rendering both in UTC.
        .options("-c TimeZone=UTC -c statement_timeout=0");
    if !opts.password.is_empty() {
        cfg.password(&opts.password);
    }
    let what = || {
        format!(
            "connecting to PostgreSQL {}:{} database `{}` as `{}`",
            opts.host, opts.port, opts.database, opts.user
        )
    };
    let client = if opts.tls == TlsMode::Disabled {
        let (client, connection) = cfg.connect(tokio_postgres::NoTls).await.with_ctx(what)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("PostgreSQL connection ended: {e}");
            }
        });
        client
    } else {
        cfg.ssl_mode(if opts.tls == TlsMode::Preferred {
            SslMode::Prefer
        } else {
            SslMode::Require
        });
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(opts)?);
        let (client, connection) = cfg.connect(tls).await.with_ctx(what)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("PostgreSQL connection ended: {e}");
            }
        });
        client
    };
    Ok(Conn {
        client,
        statements: HashMap::new(),
        permit: None,
    })
}
