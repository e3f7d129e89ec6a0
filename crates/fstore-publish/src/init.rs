//! `fstore online init`: provisions a MySQL store for the walk-through — the database, a writer
//! and a read-only reader with fresh random passwords — and keeps their credentials in the
//! secret scopes the store's prefixes name. Running it again changes nothing unless `rotate`.

use std::path::Path;

use fstore_core::config::{Config, DEFAULT_DATA_DIR, StoreConfig};
use fstore_online::mysql::admin::{ProvisionReport, UserPlan, admin_connect, provision};
use fstore_secrets::{Secret, SecretStore, Secrets};

use crate::stores::{Identity, resolve_prefix};
use crate::{Error, Result};

/// How to provision.
pub struct InitOptions {
    pub admin_user: String,
    pub admin_password: Secret,
    pub writer_user: String,
    pub reader_user: String,
    /// Host pattern of the accounts (`%` = any host, as in the walk-through).
    pub user_host: String,
    /// Give both users new passwords even if their credentials are already stored.
    pub rotate: bool,
}

/// What `online init` did.
#[derive(Debug)]
pub struct InitReport {
    pub store: String,
    pub database: String,
    pub provision: ProvisionReport,
    /// `scope/key` names written (never values).
    pub secrets_written: Vec<String>,
}

/// A random password of 32 letters and digits (~190 bits) from the OS generator.
pub fn random_password() -> Result<Secret> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(32);
    let mut buf = [0u8; 64];
    while out.len() < 32 {
        getrandom::fill(&mut buf)
            .map_err(|e| Error::BadOptions(format!("the OS random generator failed: {e}")))?;
        // Rejection sampling keeps every character equally likely.
        for b in buf {
            if (b as usize) < 248 && out.len() < 32 {
                out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
    }
    Ok(Secret::new(out))
}

/// Provisions store `name` (or the only store) from `config`.
pub async fn init_online_store(
    config: &Config,
    name: Option<&str>,
    opts: InitOptions,
) -> Result<InitReport> {
    let (store, cfg) = config.store(name)?;
    let StoreConfig::Mysql(m) = cfg else {
        return Err(Error::BadOptions(format!(
            "store `{store}` is SQLite; `online init` provisions MySQL/Aurora stores (SQLite needs no users)"
        )));
    };
    let write_prefix = resolve_prefix(&store, m, Identity::Writer)?;
    let read_prefix = resolve_prefix(&store, m, Identity::Reader)?;
    let secrets = Secrets::from_config(&config.secrets, Path::new(DEFAULT_DATA_DIR))?;
    if secrets.is_read_only() {
        return Err(Error::BadOptions(
            "the secrets backend is read-only (env); `online init` must store generated passwords — use backend = \"local\"".into(),
        ));
    }

    // Keep existing passwords unless rotating, so a second run is harmless.
    let mut plans = Vec::new();
    for (prefix, user) in [
        (write_prefix, &opts.writer_user),
        (read_prefix, &opts.reader_user),
    ] {
        let stored = secrets
            .get(&prefix.scope, &prefix.user_key())
            .ok()
            .filter(|u| u.expose_secret() == user.as_str())
            .and_then(|_| secrets.get(&prefix.scope, &prefix.password_key()).ok());
        let password = match (stored, opts.rotate) {
            (Some(_), false) => None,
            _ => Some(random_password()?),
        };
        plans.push(password);
    }

    let mut conn = admin_connect(m, &opts.admin_user, opts.admin_password.expose_secret()).await?;
    let writer = UserPlan {
        name: &opts.writer_user,
        password: plans[0].as_ref().map(|s| s.expose_secret()),
    };
    let reader = UserPlan {
        name: &opts.reader_user,
        password: plans[1].as_ref().map(|s| s.expose_secret()),
    };
    let report = provision(&mut conn, m, &opts.user_host, &writer, &reader).await;
    let _ = conn.disconnect().await;
    let report = report?;

    let mut written = Vec::new();
    for ((prefix, user), password) in [
        (write_prefix, &opts.writer_user),
        (read_prefix, &opts.reader_user),
    ]
    .into_iter()
    .zip(plans)
    {
        let Some(password) = password else { continue };
        secrets.create_scope(&prefix.scope)?;
        secrets.put(&prefix.scope, &prefix.user_key(), Secret::new(user.clone()))?;
        secrets.put(&prefix.scope, &prefix.password_key(), password)?;
        written.push(format!("{}/{}", prefix.scope, prefix.user_key()));
        written.push(format!("{}/{}", prefix.scope, prefix.password_key()));
    }
    Ok(InitReport {
        store,
        database: m.database.clone(),
        provision: report,
        secrets_written: written,
    })
}
