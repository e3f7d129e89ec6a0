//! The `env` backend: read-only secrets from environment variables named
//! `FSTORE_SECRET_<SCOPE>_<KEY>`, where scope and key are upper-cased and `-` and `.` become `_`
//! (`aurora_writer` / `aurora-password` → `FSTORE_SECRET_AURORA_WRITER_AURORA_PASSWORD`).

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::{SecretStore, validate_name};

/// Prefix of every variable this backend reads.
pub const ENV_PREFIX: &str = "FSTORE_SECRET_";

/// The environment-variable store. Reads the process environment unless built with
/// [`EnvStore::with_vars`].
pub struct EnvStore {
    vars: Option<BTreeMap<String, Secret>>,
}

impl std::fmt::Debug for EnvStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.vars {
            None => f.write_str("EnvStore(process environment)"),
            Some(v) => f
                .debug_tuple("EnvStore")
                .field(&v.keys().collect::<Vec<_>>())
                .finish(),
        }
    }
}

impl Default for EnvStore {
    fn default() -> Self {
        Self::new()
    }
}

impl EnvStore {
    /// Reads the process environment at each lookup.
    pub fn new() -> Self {
        Self { vars: None }
    }

    /// Reads only the given variables (for tests and for embedding fstore).
    pub fn with_vars<K: Into<String>, V: Into<Secret>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: Some(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    /// The variable holding `key` in `scope`: `FSTORE_SECRET_<SCOPE>_<KEY>`.
    pub fn var_name(scope: &str, key: &str) -> String {
        let norm = |s: &str| {
            s.chars()
                .map(|c| match c {
                    '-' | '.' => '_',
                    c => c.to_ascii_uppercase(),
                })
                .collect::<String>()
        };
        format!("{ENV_PREFIX}{}_{}", norm(scope), norm(key))
    }

    fn lookup(&self, var: &str) -> Result<Option<Secret>> {
        let value = match &self.vars {
            Some(vars) => vars.get(var).cloned(),
            None => match std::env::var_os(var) {
                None => None,
                Some(v) => Some(Secret::new(v.into_string().map_err(|_| {
                    Error::EnvNotUnicode {
                        var: var.to_string(),
                    }
                })?)),
            },
        };
        Ok(value.filter(|v| !v.is_empty()))
    }

    fn read_only(action: impl Into<String>, hint: impl Into<String>) -> Error {
        Error::EnvReadOnly {
            action: action.into(),
            hint: hint.into(),
        }
    }
}

impl SecretStore for EnvStore {
    fn create_scope(&self, scope: &str) -> Result<bool> {
        validate_name("scope", scope)?;
        Err(Self::read_only(
            format!("create scope `{scope}`"),
            format!(
                "scopes exist implicitly; set {}<KEY> for each key",
                Self::var_name(scope, "")
            ),
        ))
    }

    fn put(&self, scope: &str, key: &str, _value: Secret) -> Result<()> {
        validate_name("scope", scope)?;
        validate_name("key", key)?;
        Err(Self::read_only(
            format!("store `{key}` in scope `{scope}`"),
            format!(
                "set the environment variable {} instead",
                Self::var_name(scope, key)
            ),
        ))
    }

    fn get(&self, scope: &str, key: &str) -> Result<Secret> {
        validate_name("scope", scope)?;
        validate_name("key", key)?;
        let var = Self::var_name(scope, key);
        self.lookup(&var)?.ok_or_else(|| Error::EnvMissing {
            scope: scope.to_string(),
            key: key.to_string(),
            var,
        })
    }

    fn list_scopes(&self) -> Result<Vec<String>> {
        Err(Error::EnvCannotList { what: "scopes" })
    }

    fn list(&self, scope: &str) -> Result<Vec<String>> {
        validate_name("scope", scope)?;
        Err(Error::EnvCannotList { what: "keys" })
    }

    fn delete(&self, scope: &str, key: &str) -> Result<()> {
        validate_name("scope", scope)?;
        validate_name("key", key)?;
        Err(Self::read_only(
            format!("delete `{key}` from scope `{scope}`"),
            format!(
                "unset the environment variable {} instead",
                Self::var_name(scope, key)
            ),
        ))
    }

    fn delete_scope(&self, scope: &str) -> Result<()> {
        validate_name("scope", scope)?;
        Err(Self::read_only(
            format!("delete scope `{scope}`"),
            format!(
                "unset the environment variables {}*",
                Self::var_name(scope, "")
            ),
        ))
    }
}
