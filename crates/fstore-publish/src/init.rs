//! `fstore online init`: provisions a MySQL store for the walk-through — the database, a writer
//! and a read-only reader with fresh random passwords — and keeps their credentials in the
//! secret scopes the store's prefixes name. Running it again changes nothing unless `rotate`.
//!
//! New passwords are stored in the secret scopes *before* the server is changed: a save that
//! fails leaves the server (and so publishing and serving) as it was. When the server change
//! then fails, the secrets of every user whose password the server did not take are put back,
//! so the scopes and the server agree again.

use std::path::Path;

use fstore_core::config::{Config, DEFAULT_DATA_DIR, StoreConfig};
use fstore_online::mysql::admin::{
    ProvisionReport, UserPlan, admin_connect, check_plan, provision_into,
};
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
    let m = match cfg {
        StoreConfig::Mysql(m) => m,
        StoreConfig::Postgres(_) => {
            return Err(Error::BadOptions(format!(
                "store `{store}` is PostgreSQL; `online init` does not provision PostgreSQL stores yet: create a writer role owning the schema and a reader role with SELECT (see docs/postgres.md), and save their credentials under the store's secret prefixes"
            )));
        }
        StoreConfig::Sqlite(_) => {
            return Err(Error::BadOptions(format!(
                "store `{store}` is SQLite; `online init` provisions MySQL/Aurora stores (SQLite needs no users)"
            )));
        }
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
        (&write_prefix, &opts.writer_user),
        (&read_prefix, &opts.reader_user),
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

    let writer = UserPlan {
        name: &opts.writer_user,
        password: plans[0].as_ref().map(|s| s.expose_secret()),
    };
    let reader = UserPlan {
        name: &opts.reader_user,
        password: plans[1].as_ref().map(|s| s.expose_secret()),
    };
    check_plan(m, &opts.user_host, &writer, &reader)?;
    // The administrator's credentials are checked before anything is stored.
    let mut conn = admin_connect(m, &opts.admin_user, opts.admin_password.expose_secret()).await?;

    // Save first: the old values are kept in memory to be put back if anything fails.
    let mut saved: Vec<Saved> = Vec::new();
    let mut written = Vec::new();
    for ((prefix, user), password) in [
        (&write_prefix, &opts.writer_user),
        (&read_prefix, &opts.reader_user),
    ]
    .into_iter()
    .zip(&plans)
    {
        let Some(password) = password else { continue };
        // Each key's old value is remembered once the new one is written, so that only what was
        // really changed is put back.
        saved.push(Saved {
            user: user.clone(),
            scope: prefix.scope.clone(),
            keys: Vec::new(),
        });
        let mut stored = secrets.create_scope(&prefix.scope).map(|_| ());
        for (key, value) in [
            (prefix.user_key(), Secret::new(user.clone())),
            (prefix.password_key(), password.clone()),
        ] {
            if stored.is_err() {
                break;
            }
            let old = secrets.get(&prefix.scope, &key).ok();
            stored = secrets.put(&prefix.scope, &key, value);
            if stored.is_ok()
                && let Some(s) = saved.last_mut()
            {
                s.keys.push((key, old));
            }
        }
        if let Err(e) = stored {
            let _ = conn.disconnect().await;
            let left = restore(&secrets, &saved);
            return Err(Error::BadOptions(format!(
                "cannot store the new password of `{user}` in {} ({e}); nothing was changed on the server, so the current credentials keep working{left}",
                secrets.describe()
            )));
        }
        written.push(format!("{}/{}", prefix.scope, prefix.user_key()));
        written.push(format!("{}/{}", prefix.scope, prefix.password_key()));
    }

    let mut report = ProvisionReport::default();
    let provisioned =
        provision_into(&mut conn, m, &opts.user_host, &writer, &reader, &mut report).await;
    let _ = conn.disconnect().await;
    if let Err(e) = provisioned {
        // The server kept the old password of these users: their old secrets go back.
        let back: Vec<Saved> = saved
            .into_iter()
            .filter(|s| !report.passwords_set.contains(&s.user))
            .collect();
        let left = restore(&secrets, &back);
        let mut e = e;
        if !back.is_empty() {
            e.message.push_str(&format!(
                "; the secret scopes were put back for {}, whose passwords the server did not change{left}",
                back.iter()
                    .map(|s| format!("`{}`", s.user))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        return Err(e.into());
    }
    Ok(InitReport {
        store,
        database: m.database.clone(),
        provision: report,
        secrets_written: written,
    })
}

/// A user's secrets as they were before `online init` replaced them (`None`: absent).
struct Saved {
    user: String,
    scope: String,
    /// The keys written, each with its old value.
    keys: Vec<(String, Option<Secret>)>,
}

/// Puts `saved` back; returns "" or a sentence naming what could not be put back.
fn restore(secrets: &Secrets, saved: &[Saved]) -> String {
    let mut failed = Vec::new();
    for s in saved {
        for (key, old) in &s.keys {
            let r = match old {
                Some(v) => secrets.put(&s.scope, key, v.clone()),
                None => match secrets.delete(&s.scope, key) {
                    Err(fstore_secrets::Error::MissingKey { .. })
                    | Err(fstore_secrets::Error::MissingScope { .. }) => Ok(()),
                    other => other,
                },
            };
            if r.is_err() {
                failed.push(format!("{}/{key}", s.scope));
            }
        }
    }
    if failed.is_empty() {
        String::new()
    } else {
        format!(
            "; could not put back {} (rerun `fstore online init --rotate` once the secrets backend is writable)",
            failed.join(", ")
        )
    }
}
