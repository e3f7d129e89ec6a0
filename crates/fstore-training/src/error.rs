//! The error type of `fstore-training`. Every bad-input message names the lookup, table or column
//! involved and says what to change.

use std::path::PathBuf;

use arrow::error::ArrowError;
use parquet::errors::ParquetError;

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything `fstore-training` can report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Opening or reading a feature table failed (not found, bad version, storage, ...).
    #[error(transparent)]
    Offline(Box<fstore_offline::Error>),

    /// A table name or type rejected by `fstore-core`.
    #[error(transparent)]
    Core(#[from] fstore_core::Error),

    /// A `--lookup` specification that does not parse.
    #[error("bad lookup `{spec}`: {reason}")]
    BadLookupSpec { spec: String, reason: String },

    /// A lookup that does not fit its feature table or the spine.
    #[error("lookup of `{table}`: {reason}")]
    BadLookup { table: String, reason: String },

    /// A column named by the request (label, exclude, key) that the spine does not have.
    #[error("the spine has no column `{column}` ({what}); its columns are: {columns}")]
    MissingSpineColumn {
        column: String,
        what: String,
        columns: String,
    },

    /// Labels, exclusions or output names that contradict each other.
    #[error("{0}")]
    BadRequest(String),

    /// The spine file cannot be used.
    #[error("cannot use spine {path}: {reason}")]
    BadSpine { path: PathBuf, reason: String },

    /// Reading the spine or writing the output failed at the file-system level.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// An Arrow computation failed.
    #[error("{context}: {source}")]
    Arrow {
        context: String,
        #[source]
        source: ArrowError,
    },

    /// Reading or writing Parquet failed.
    #[error("{context}: {source}")]
    Parquet {
        context: String,
        #[source]
        source: ParquetError,
    },

    /// A bug in fstore.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<fstore_offline::Error> for Error {
    fn from(e: fstore_offline::Error) -> Self {
        Self::Offline(Box::new(e))
    }
}

impl Error {
    pub(crate) fn arrow(context: impl Into<String>) -> impl FnOnce(ArrowError) -> Self {
        let context = context.into();
        move |source| Self::Arrow { context, source }
    }

    pub(crate) fn parquet(context: impl Into<String>) -> impl FnOnce(ParquetError) -> Self {
        let context = context.into();
        move |source| Self::Parquet { context, source }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    pub(crate) fn lookup(table: impl ToString, reason: impl Into<String>) -> Self {
        Self::BadLookup {
            table: table.to_string(),
            reason: reason.into(),
        }
    }
}
