//! The error type of `fstore-core`: bad names, bad specs, unsupported types, bad configuration.

use std::path::PathBuf;

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything `fstore-core` can reject. All variants are bad input from the user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "invalid table name `{name}`: {reason} (expected `<schema>.<table>`, e.g. `default.online_feature_table`)"
    )]
    InvalidTableName { name: String, reason: String },

    #[error("invalid {what} `{name}`: {reason}")]
    InvalidIdentifier {
        what: &'static str,
        name: String,
        reason: String,
    },

    #[error("invalid feature table spec: {0}")]
    InvalidSpec(String),

    #[error("column `{column}` has type {arrow_type}, which fstore cannot publish: {hint}")]
    UnsupportedType {
        column: String,
        arrow_type: String,
        hint: String,
    },

    #[error(
        "invalid secret prefix `{prefix}`: the format of this parameter should be `<scope>/<prefix>`, e.g. `aurora_writer/aurora` ({reason})"
    )]
    InvalidSecretPrefix { prefix: String, reason: String },

    #[error("invalid schema: {0}")]
    InvalidSchema(String),

    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },

    #[error("unknown online store `{name}`; {known}")]
    UnknownStore { name: String, known: String },
}
