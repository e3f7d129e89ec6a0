//! Opens the configured online store with the right identity, and the offline store with the
//! object-storage credentials `[offline]` names.
//!
//! Write credentials are used only to publish and read credentials only to look up, as in the
//! walk-through: publishing also checks that the read secrets exist (as Databricks does), so a
//! table is never published where no reader could serve it. A store with only a read prefix can
//! serve but not publish; a reader never falls back to the write identity.

use std::path::Path;

use fstore_core::SecretPrefix;
use fstore_core::config::{Config, DEFAULT_DATA_DIR, MysqlConfig, PostgresConfig, StoreConfig};
use fstore_offline::{OfflineStore, S3Credentials, S3Settings};
use fstore_online::{OnlineStore, ReadStore};
use fstore_secrets::{SecretStore, Secrets, credentials};

use crate::{Error, Result};

/// Which identity to connect as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// Publishes: creates, alters and writes tables.
    Writer,
    /// Serves: reads only.
    Reader,
}

/// Opens store `name` (or the only configured one) from `config` with the write identity, for
/// publishing. Returns the store's name beside it.
pub async fn open_writer(config: &Config, name: Option<&str>) -> Result<(String, OnlineStore)> {
    open_store(config, name, Identity::Writer).await
}

/// Opens store `name` (or the only configured one) from `config` with the read identity, for
/// serving and lookups: a [`ReadStore`], which cannot write by type. Returns the store's name
/// beside it.
pub async fn open_reader(config: &Config, name: Option<&str>) -> Result<(String, ReadStore)> {
    let (name, store) = open_store(config, name, Identity::Reader).await?;
    Ok((name, ReadStore::new(store)))
}

/// Opens store `name` (or the only configured one) from `config` as `identity`.
async fn open_store(
    config: &Config,
    name: Option<&str>,
    identity: Identity,
) -> Result<(String, OnlineStore)> {
    let (name, cfg) = config.store(name)?;
    let store = match cfg {
        // SQLite has no users; the file's permissions are the identity.
        StoreConfig::Sqlite(s) => {
            OnlineStore::Sqlite(fstore_online::sqlite::SqliteStore::open(&s.path)?)
        }
        StoreConfig::Mysql(m) => OnlineStore::Mysql(open_mysql(config, &name, m, identity).await?),
        StoreConfig::Postgres(p) => {
            OnlineStore::Postgres(open_postgres(config, &name, p, identity).await?)
        }
    };
    Ok((name, store))
}

async fn open_mysql(
    config: &Config,
    name: &str,
    m: &MysqlConfig,
    identity: Identity,
) -> Result<fstore_online::mysql::MysqlStore> {
    let creds = identity_credentials(
        config,
        name,
        m.read_secret_prefix.as_ref(),
        m.write_secret_prefix.as_ref(),
        identity,
    )?;
    Ok(
        fstore_online::mysql::MysqlStore::connect(m, &creds.user, creds.password.expose_secret())
            .await?,
    )
}

async fn open_postgres(
    config: &Config,
    name: &str,
    p: &PostgresConfig,
    identity: Identity,
) -> Result<fstore_online::postgres::PostgresStore> {
    let creds = identity_credentials(
        config,
        name,
        p.read_secret_prefix.as_ref(),
        p.write_secret_prefix.as_ref(),
        identity,
    )?;
    Ok(fstore_online::postgres::PostgresStore::connect(
        p,
        &creds.user,
        creds.password.expose_secret(),
    )
    .await?)
}

/// The credentials of `identity` on store `name`; for the writer, also checks that the read
/// credentials exist.
fn identity_credentials(
    config: &Config,
    name: &str,
    read_prefix: Option<&SecretPrefix>,
    write_prefix: Option<&SecretPrefix>,
    identity: Identity,
) -> Result<fstore_secrets::Credentials> {
    let prefix = resolve_prefix_of(name, read_prefix, write_prefix, identity)?;
    let secrets = Secrets::from_config(&config.secrets, Path::new(DEFAULT_DATA_DIR))?;
    if identity == Identity::Writer {
        // Databricks' rule: the read identity must exist before anything is published.
        if let Some(read) = read_prefix {
            credentials(&secrets, read).map_err(|e| {
                Error::BadOptions(format!(
                    "store `{name}`: the read credentials ({read}) must exist before publishing: {e}"
                ))
            })?;
        } else {
            tracing::warn!(
                store = name,
                "no read_secret_prefix: published tables cannot be served by fstore serve"
            );
        }
    }
    Ok(credentials(&secrets, prefix)?)
}

/// Secret key suffixes of object-store credentials under a `credentials_secret_prefix`.
pub const ACCESS_KEY_ID_SUFFIX: &str = "access-key-id";
pub const SECRET_ACCESS_KEY_SUFFIX: &str = "secret-access-key";
/// Optional: temporary credentials also need their session token.
pub const SESSION_TOKEN_SUFFIX: &str = "session-token";

/// Opens the offline store `config` names (`[offline]`): its root, and for `s3://` locations the
/// region, endpoint and credentials — from the secret scope `credentials_secret_prefix` when
/// set (`<prefix>-access-key-id`, `<prefix>-secret-access-key`, optionally
/// `<prefix>-session-token`), else the AWS credential chain.
pub fn open_offline(config: &Config) -> Result<OfflineStore> {
    let o = &config.offline;
    let mut settings = S3Settings {
        region: o.region.clone(),
        endpoint: o.endpoint.clone(),
        allow_http: o.allow_http.unwrap_or(false),
        allow_unsafe_commits: o.allow_unsafe_commits.unwrap_or(false),
        ..Default::default()
    };
    if let Some(prefix) = &o.credentials_secret_prefix {
        let secrets = Secrets::from_config(&config.secrets, Path::new(DEFAULT_DATA_DIR))?;
        let get = |suffix: &str| secrets.get(&prefix.scope, &prefix.key(suffix));
        let access_key_id = get(ACCESS_KEY_ID_SUFFIX)?;
        let secret_access_key = get(SECRET_ACCESS_KEY_SUFFIX)?;
        let session_token = match get(SESSION_TOKEN_SUFFIX) {
            Ok(t) => Some(t.expose_secret().to_string()),
            Err(
                fstore_secrets::Error::MissingKey { .. } | fstore_secrets::Error::EnvMissing { .. },
            ) => None,
            Err(e) => return Err(e.into()),
        };
        settings.credentials = Some(S3Credentials {
            access_key_id: access_key_id.expose_secret().to_string(),
            secret_access_key: secret_access_key.expose_secret().to_string(),
            session_token,
        });
        settings.credentials_source = Some(format!("secret scope {prefix}"));
    }
    Ok(OfflineStore::with_settings(
        &o.root,
        Default::default(),
        &settings,
    )?)
}

/// The secret prefix `identity` uses on store `name`, or why it has none.
pub fn resolve_prefix<'a>(
    name: &str,
    m: &'a MysqlConfig,
    identity: Identity,
) -> Result<&'a SecretPrefix> {
    resolve_prefix_of(
        name,
        m.read_secret_prefix.as_ref(),
        m.write_secret_prefix.as_ref(),
        identity,
    )
}

/// [`resolve_prefix`] for any network store's read and write prefixes.
pub fn resolve_prefix_of<'a>(
    name: &str,
    read_prefix: Option<&'a SecretPrefix>,
    write_prefix: Option<&'a SecretPrefix>,
    identity: Identity,
) -> Result<&'a SecretPrefix> {
    match identity {
        Identity::Writer => write_prefix.ok_or_else(|| {
            Error::BadOptions(format!(
                "store `{name}` has no write_secret_prefix, so it can serve but not publish; add `write_secret_prefix = \"<scope>/<prefix>\"` to [stores.{name}] (e.g. \"aurora_writer/aurora\")"
            ))
        }),
        Identity::Reader => read_prefix.ok_or_else(|| {
            Error::BadOptions(format!(
                "store `{name}` has no read_secret_prefix; lookups use only the read-only identity, so add `read_secret_prefix = \"<scope>/<prefix>\"` to [stores.{name}] (e.g. \"aurora_reader/aurora\")"
            ))
        }),
    }
}
