//! Secret scopes (PRODUCT §3): the [`SecretStore`] trait, its `local` (encrypted file) and `env`
//! backends behind the closed [`Secrets`] enum, and [`credentials`], which resolves a
//! `<scope>/<prefix>` to `<prefix>-user` and `<prefix>-password`.
//!
//! This is the only crate that sees secret values. They travel as [`Secret`], whose `Debug` and
//! `Display` are redacted, which is wiped on drop and which is read only through
//! [`Secret::expose_secret`]. No error message contains a value.

mod env;
mod error;
mod local;
mod secret;
mod vault;

use std::path::Path;

use fstore_core::config::{SecretsBackend, SecretsConfig};
use fstore_core::secret_prefix::SecretPrefix;

pub use env::{ENV_PREFIX, EnvStore};
pub use error::{Error, Result};
pub use local::{DEFAULT_FILE_NAME, LocalStore, MASTER_KEY_ENV, MasterKey};
pub use secret::{MAX_VALUE_LEN, Secret};

/// Longest scope or key name.
pub const MAX_NAME_LEN: usize = 128;

/// A place that holds secrets addressed by scope and key.
pub trait SecretStore {
    /// Creates an empty scope. `Ok(false)` if it already existed (so setup scripts can rerun).
    fn create_scope(&self, scope: &str) -> Result<bool>;
    /// Stores `value` under `key` in an existing scope, replacing any previous value.
    fn put(&self, scope: &str, key: &str, value: Secret) -> Result<()>;
    /// The value of `key` in `scope`.
    fn get(&self, scope: &str, key: &str) -> Result<Secret>;
    /// Every scope name, sorted.
    fn list_scopes(&self) -> Result<Vec<String>>;
    /// The key names (never the values) in `scope`, sorted.
    fn list(&self, scope: &str) -> Result<Vec<String>>;
    /// Removes one key.
    fn delete(&self, scope: &str, key: &str) -> Result<()>;
    /// Removes a scope and every key in it.
    fn delete_scope(&self, scope: &str) -> Result<()>;
}

/// The configured backend.
#[derive(Debug)]
pub enum Secrets {
    Local(LocalStore),
    Env(EnvStore),
}

impl Secrets {
    /// The backend `[secrets]` names. The local file is `config.path`, else
    /// `<data_dir_default>/secrets.enc`; its key is `FSTORE_MASTER_KEY` if set, else the key file
    /// beside it.
    pub fn from_config(config: &SecretsConfig, data_dir_default: &Path) -> Result<Self> {
        Ok(match config.backend {
            SecretsBackend::Local => {
                let path = config
                    .path
                    .clone()
                    .unwrap_or_else(|| data_dir_default.join(DEFAULT_FILE_NAME));
                let key = MasterKey::from_env(&path)?;
                Self::Local(LocalStore::new(path, key))
            }
            SecretsBackend::Env => Self::Env(EnvStore::new()),
        })
    }

    /// One line for humans, e.g. `local file ./fstore-data/secrets.enc (key: FSTORE_MASTER_KEY)`.
    pub fn describe(&self) -> String {
        match self {
            Self::Local(s) => format!(
                "local file {} (key: {})",
                s.path().display(),
                s.key_source()
            ),
            Self::Env(_) => format!("environment variables {ENV_PREFIX}<SCOPE>_<KEY>"),
        }
    }

    /// The `env` backend cannot create, put or delete.
    pub fn is_read_only(&self) -> bool {
        matches!(self, Self::Env(_))
    }

    /// Fails as [`SecretStore::put`] would for reasons other than the value: a bad name, a
    /// read-only backend or a missing scope. Lets a command refuse before prompting for a value.
    pub fn check_put(&self, scope: &str, key: &str) -> Result<()> {
        validate_name("scope", scope)?;
        validate_name("key", key)?;
        match self {
            Self::Env(s) => s.put(scope, key, Secret::default()),
            Self::Local(s) => match s.list(scope) {
                Ok(_) => Ok(()),
                Err(Error::MissingScope {
                    scope, location, ..
                }) => Err(Error::MissingScope {
                    scope,
                    key: Some(key.to_string()),
                    location,
                }),
                Err(e) => Err(e),
            },
        }
    }

    fn inner(&self) -> &dyn SecretStore {
        match self {
            Self::Local(s) => s,
            Self::Env(s) => s,
        }
    }
}

impl SecretStore for Secrets {
    fn create_scope(&self, scope: &str) -> Result<bool> {
        self.inner().create_scope(scope)
    }
    fn put(&self, scope: &str, key: &str, value: Secret) -> Result<()> {
        self.inner().put(scope, key, value)
    }
    fn get(&self, scope: &str, key: &str) -> Result<Secret> {
        self.inner().get(scope, key)
    }
    fn list_scopes(&self) -> Result<Vec<String>> {
        self.inner().list_scopes()
    }
    fn list(&self, scope: &str) -> Result<Vec<String>> {
        self.inner().list(scope)
    }
    fn delete(&self, scope: &str, key: &str) -> Result<()> {
        self.inner().delete(scope, key)
    }
    fn delete_scope(&self, scope: &str) -> Result<()> {
        self.inner().delete_scope(scope)
    }
}

/// A database identity. The user name is not secret; the password's `Debug` is redacted.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub user: String,
    pub password: Secret,
}

/// Reads `<prefix>-user` and `<prefix>-password` from the prefix's scope. A missing scope or key is
/// an error naming both and the `fstore secrets` command that fixes it.
pub fn credentials<S: SecretStore + ?Sized>(
    store: &S,
    prefix: &SecretPrefix,
) -> Result<Credentials> {
    let user = store.get(&prefix.scope, &prefix.user_key())?;
    let password = store.get(&prefix.scope, &prefix.password_key())?;
    Ok(Credentials {
        user: user.expose_secret().to_string(),
        password,
    })
}

/// Checks a scope or key name: 1 to 128 ASCII letters, digits, `_`, `-` or `.`.
pub fn validate_name(what: &'static str, name: &str) -> Result<()> {
    let bad = |reason: String| Error::InvalidName {
        what,
        name: name.to_string(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("it is empty".into()));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(bad(format!(
            "it is {} characters long",
            name.chars().count()
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(bad(format!("it contains `{}`", c.escape_default())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in [
            "aurora_writer",
            "aurora-password",
            "a.b",
            "A1",
            &"x".repeat(128),
        ] {
            validate_name("scope", ok).unwrap();
        }
        for bad in ["", "a b", "a/b", "é", &"x".repeat(129)] {
            let msg = validate_name("key", bad).unwrap_err().to_string();
            assert!(msg.starts_with("invalid secret key name"), "{msg}");
        }
    }

    #[test]
    fn env_var_names() {
        assert_eq!(
            EnvStore::var_name("aurora_writer", "aurora-password"),
            "FSTORE_SECRET_AURORA_WRITER_AURORA_PASSWORD"
        );
        assert_eq!(
            EnvStore::var_name("s3.prod", "key.id"),
            "FSTORE_SECRET_S3_PROD_KEY_ID"
        );
    }

    #[test]
    fn key_file_beside_secrets_file() {
        assert_eq!(
            MasterKey::default_key_file(Path::new("d/secrets.enc")),
            Path::new("d/secrets.key")
        );
        assert_eq!(
            MasterKey::default_key_file(Path::new("d/x.key")),
            Path::new("d/x.key.key")
        );
    }
}
