//! `fstore online init`: provisions a MySQL ([`mysql`]) or PostgreSQL ([`postgres`]) store for
//! the walk-through — the database, a writer and a read-only reader with fresh random passwords
//! — and keeps their credentials in the secret scopes the store's prefixes name. Running it
//! again changes nothing unless `rotate`.
//!
//! This module owns what both servers share: the passwords, the secret scopes and their order.
//! New passwords are stored in the secret scopes *before* the server is changed: a save that
//! fails leaves the server (and so publishing and serving) as it was. When the server change
//! then fails, the secrets of every user whose password the server did not take are put back,
//! so the scopes and the server agree again.

mod mysql;
mod postgres;

use std::path::Path;

use fstore_core::config::{Config, DEFAULT_DATA_DIR, StoreConfig};
pub use fstore_online::mysql::admin::ProvisionReport;
use fstore_secrets::{Secret, SecretStore, Secrets};

use crate::stores::{Identity, resolve_prefix_of};
use crate::{Error, Result};

/// How to provision.
pub struct InitOptions {
    pub admin_user: String,
    /// Empty: none (PostgreSQL `trust` authentication on a development machine).
    pub admin_password: Secret,
    pub writer_user: String,
    pub reader_user: String,
    /// MySQL only: host pattern of the accounts (`None` = `%`, any host, as in the
    /// walk-through). PostgreSQL has no per-host accounts (`pg_hba.conf` decides), so a pattern
    /// given for a PostgreSQL store is refused.
    pub user_host: Option<String>,
    /// Give both users new passwords even if their credentials are already stored.
    pub rotate: bool,
}

/// What `online init` did.
#[derive(Debug)]
pub struct InitReport {
    pub store: String,
    pub database: String,
    /// PostgreSQL: the schema holding the online tables.
    pub schema: Option<String>,
    pub schema_created: bool,
    pub provision: ProvisionReport,
    /// `scope/key` names written (never values).
    pub secrets_written: Vec<String>,
    /// Things the administrator should know (a privilege that could not be revoked, say).
    pub notes: Vec<String>,
}

/// One user as `online init` plans it.
pub(crate) struct Planned {
    pub name: String,
    /// A new password to set, or `None` to keep the current one.
    pub new_password: Option<Secret>,
    /// The password stored in the scope for this user, if any (PostgreSQL logs in as the
    /// writer with it when no new one is set).
    pub stored_password: Option<Secret>,
}

impl Planned {
    /// The password the server has (or will have) for this user.
    pub fn password(&self) -> Option<&Secret> {
        self.new_password.as_ref().or(self.stored_password.as_ref())
    }
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

/// The administrator's connection, opened (and so its credentials checked) before anything is
/// stored. Boxed: the two differ much in size, and there is one per run.
enum Admin<'a> {
    Mysql(Box<mysql::Admin<'a>>),
    Postgres(Box<postgres::Admin<'a>>),
}

/// Provisions store `name` (or the only store) from `config`.
pub async fn init_online_store(
    config: &Config,
    name: Option<&str>,
    opts: InitOptions,
) -> Result<InitReport> {
    let (store, cfg) = config.store(name)?;
    if let StoreConfig::Sqlite(_) = cfg {
        return Err(Error::BadOptions(format!(
            "store `{store}` is SQLite; `online init` provisions MySQL/Aurora and PostgreSQL stores (SQLite needs no users)"
        )));
    }
    if let (StoreConfig::Postgres(_), Some(h)) = (cfg, &opts.user_host) {
        return Err(Error::BadOptions(format!(
            "store `{store}` is PostgreSQL, which has no per-host accounts: drop `--user-host {h}` (which hosts may log in is set in the server's pg_hba.conf)"
        )));
    }
    let (read, write) = cfg.secret_prefixes();
    let write_prefix = resolve_prefix_of(&store, read, write, Identity::Writer)?;
    let read_prefix = resolve_prefix_of(&store, read, write, Identity::Reader)?;
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
        let new_password = match (&stored, opts.rotate) {
            (Some(_), false) => None,
            _ => Some(random_password()?),
        };
        plans.push(Planned {
            name: user.clone(),
            new_password,
            stored_password: stored,
        });
    }
    let (writer, reader) = (&plans[0], &plans[1]);

    // Everything the server would refuse about the names is checked, and the administrator's
    // credentials tried, before anything is stored.
    let mut admin = match cfg {
        StoreConfig::Mysql(m) => {
            let host = opts.user_host.as_deref().unwrap_or("%");
            Admin::Mysql(Box::new(
                mysql::Admin::connect(m, host, &opts, writer, reader).await?,
            ))
        }
        StoreConfig::Postgres(p) => Admin::Postgres(Box::new(
            postgres::Admin::connect(p, &opts, writer, reader).await?,
        )),
        StoreConfig::Sqlite(_) => unreachable!("refused above"),
    };

    // Save first: the old values are kept in memory to be put back if anything fails.
    let mut saved: Vec<Saved> = Vec::new();
    let mut written = Vec::new();
    for (prefix, plan) in [write_prefix, read_prefix].into_iter().zip(&plans) {
        let Some(password) = &plan.new_password else {
            continue;
        };
        let user = &plan.name;
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
            admin.close().await;
            let left = restore(&secrets, &saved);
            return Err(Error::BadOptions(format!(
                "cannot store the new password of `{user}` in {} ({e}); nothing was changed on the server, so the current credentials keep working{left}",
                secrets.describe()
            )));
        }
        written.push(format!("{}/{}", prefix.scope, prefix.user_key()));
        written.push(format!("{}/{}", prefix.scope, prefix.password_key()));
    }

    let mut report = InitReport {
        store,
        database: String::new(),
        schema: None,
        schema_created: false,
        provision: ProvisionReport::default(),
        secrets_written: written,
        notes: Vec::new(),
    };
    let provisioned = match &mut admin {
        Admin::Mysql(a) => a.provision(writer, reader, &mut report).await,
        Admin::Postgres(a) => a.provision(writer, reader, &mut report).await,
    };
    admin.close().await;
    if let Err(e) = provisioned {
        // The server kept the old password of these users: their old secrets go back.
        let back: Vec<Saved> = saved
            .into_iter()
            .filter(|s| !report.provision.passwords_set.contains(&s.user))
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
    Ok(report)
}

impl Admin<'_> {
    async fn close(self) {
        match self {
            Admin::Mysql(a) => (*a).close().await,
            Admin::Postgres(a) => (*a).close().await,
        }
    }
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
