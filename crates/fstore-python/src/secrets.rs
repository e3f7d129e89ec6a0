//! `fstore._fstore.Secrets`: secret scopes from Python, over the configured backend
//! (`[secrets]` in `fstore.toml`), with the same checks and messages as `fstore secrets`.
//!
//! Values only go in: `put` takes one, nothing returns one (`list` gives key names). The value
//! crosses into a [`Secret`] at once (redacted `Debug`, wiped on drop) and no error carries it:
//! fstore-secrets' errors name scopes, keys and paths only.

use std::path::Path;

use fstore_core::config::{DEFAULT_DATA_DIR, SecretsConfig};
use fstore_secrets::{Secret, SecretStore};
use pyo3::prelude::*;

use crate::errors::{Class, Error};

impl From<fstore_secrets::Error> for Error {
    fn from(e: fstore_secrets::Error) -> Self {
        use fstore_secrets::Error as E;
        let class = match &e {
            E::InvalidName { .. } | E::EmptyValue { .. } => Class::InvalidInput,
            _ => Class::Secrets,
        };
        Error {
            class,
            message: e.to_string(),
        }
    }
}

/// The backend `[secrets]` configures, opened per call like the CLI does per command (the local
/// file is re-read each time, so a `fstore secrets put` in a shell is seen at once).
#[pyclass(frozen, module = "fstore._fstore")]
pub struct Secrets {
    config: SecretsConfig,
}

impl Secrets {
    pub fn new(config: SecretsConfig) -> Self {
        Self { config }
    }

    fn open(&self) -> Result<fstore_secrets::Secrets, Error> {
        Ok(fstore_secrets::Secrets::from_config(
            &self.config,
            Path::new(DEFAULT_DATA_DIR),
        )?)
    }
}

#[pymethods]
impl Secrets {
    /// One line naming the backend, e.g. `local file ./fstore-data/secrets.enc (key: ...)`.
    fn describe(&self) -> PyResult<String> {
        Ok(self.open()?.describe())
    }

    /// Whether the backend refuses writes (`env`).
    fn is_read_only(&self) -> PyResult<bool> {
        Ok(self.open()?.is_read_only())
    }

    /// Creates `scope`; `False` if it already existed.
    fn create_scope(&self, py: Python<'_>, scope: &str) -> PyResult<bool> {
        let store = self.open()?;
        // The local backend stretches the passphrase with Argon2: seconds, not microseconds.
        Ok(py
            .detach(|| store.create_scope(scope))
            .map_err(Error::from)?)
    }

    /// Refuses as `put` would for reasons other than the value (bad name, read-only backend,
    /// missing scope): lets Python refuse before prompting for a value.
    fn check_put(&self, scope: &str, key: &str) -> PyResult<()> {
        Ok(self.open()?.check_put(scope, key).map_err(Error::from)?)
    }

    /// Stores `value` under `key` in `scope` (which must exist).
    fn put(&self, py: Python<'_>, scope: &str, key: &str, value: String) -> PyResult<()> {
        let store = self.open()?;
        store.check_put(scope, key).map_err(Error::from)?;
        let value = Secret::new(value);
        if value.is_empty() {
            return Err(Error::from(fstore_secrets::Error::EmptyValue {
                scope: scope.to_string(),
                key: key.to_string(),
            })
            .into());
        }
        Ok(py
            .detach(|| store.put(scope, key, value))
            .map_err(Error::from)?)
    }

    /// Scope names, sorted.
    fn list_scopes(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let store = self.open()?;
        Ok(py.detach(|| store.list_scopes()).map_err(Error::from)?)
    }

    /// Key names in `scope`, sorted (never values).
    fn list(&self, py: Python<'_>, scope: &str) -> PyResult<Vec<String>> {
        let store = self.open()?;
        Ok(py.detach(|| store.list(scope)).map_err(Error::from)?)
    }

    fn delete(&self, py: Python<'_>, scope: &str, key: &str) -> PyResult<()> {
        let store = self.open()?;
        Ok(py
            .detach(|| store.delete(scope, key))
            .map_err(Error::from)?)
    }

    fn delete_scope(&self, py: Python<'_>, scope: &str) -> PyResult<()> {
        let store = self.open()?;
        Ok(py
            .detach(|| store.delete_scope(scope))
            .map_err(Error::from)?)
    }

    fn __repr__(&self) -> PyResult<String> {
        Ok(format!("Secrets({})", self.open()?.describe()))
    }
}
