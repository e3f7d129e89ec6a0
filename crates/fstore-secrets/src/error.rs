//! The one error type of `fstore-secrets`. No variant carries a secret value: only scope and key
//! names, paths, variable names and the command that fixes the problem.

use std::path::PathBuf;

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the secret stores can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "invalid secret {what} name `{name}`: {reason} (use 1 to 128 letters, digits, `_`, `-` or `.`)"
    )]
    InvalidName {
        what: &'static str,
        name: String,
        reason: String,
    },

    #[error("secret scope `{scope}` does not exist in {location}; create it with `fstore secrets create-scope {scope}`{then}", then = then_put(.scope, .key.as_deref()))]
    MissingScope {
        scope: String,
        key: Option<String>,
        location: String,
    },

    #[error(
        "no secret `{key}` in scope `{scope}` of {location}; add it with `fstore secrets put --scope {scope} --key {key}`"
    )]
    MissingKey {
        scope: String,
        key: String,
        location: String,
    },

    #[error("refusing to store an empty value for `{key}` in scope `{scope}`")]
    EmptyValue { scope: String, key: String },

    #[error(
        "secret `{key}` in scope `{scope}` is not set: the env secrets backend reads it from the environment variable {var}, which is unset or empty"
    )]
    EnvMissing {
        scope: String,
        key: String,
        var: String,
    },

    #[error("the environment variable {var} is not valid UTF-8")]
    EnvNotUnicode { var: String },

    #[error(
        "the env secrets backend is read-only and cannot {action}: {hint} (or set `backend = \"local\"` under [secrets] in fstore.toml)"
    )]
    EnvReadOnly { action: String, hint: String },

    #[error(
        "the env secrets backend cannot list {what}: variable names FSTORE_SECRET_<SCOPE>_<KEY> do not show where the scope ends; run `env | grep '^FSTORE_SECRET_'` to see what is set"
    )]
    EnvCannotList { what: &'static str },

    #[error("cannot decrypt {path}: wrong {key_source} or the file was modified")]
    Decrypt { path: PathBuf, key_source: String },

    #[error("cannot read {path}: {reason}; the file was modified or is not an fstore secrets file")]
    Corrupt { path: PathBuf, reason: String },

    #[error("key file {path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },

    #[error("FSTORE_MASTER_KEY {reason}")]
    MasterKey { reason: &'static str },

    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot encrypt the secrets: {0}")]
    Crypto(String),
}

fn then_put(scope: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => format!(", then `fstore secrets put --scope {scope} --key {key}`"),
        None => String::new(),
    }
}

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}
