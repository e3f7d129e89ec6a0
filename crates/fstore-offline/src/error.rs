//! The error type of `fstore-offline`. Variants are grouped by fault so callers (the CLI's exit
//! codes) can tell the user's mistakes from a broken environment from our own bugs, via
//! [`Error::kind`]. Every bad-input message names the table, column or key involved and the remedy.

use std::path::PathBuf;

use deltalake::DeltaTableError;
use deltalake::arrow::error::ArrowError;
use deltalake::datafusion::error::DataFusionError;
use deltalake::logstore::object_store;

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Who is at fault, for exit codes and retry decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request or its data is wrong; retrying the same thing fails the same way.
    BadInput,
    /// Storage or the file system failed; retrying may help.
    Environment,
    /// A bug in fstore or a library it uses.
    Internal,
}

/// Everything `fstore-offline` can report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---------------------------------------------------------------- bad input
    /// A name, spec or type rejected by `fstore-core` (bad table name, bad spec, unsupported type).
    #[error(transparent)]
    Core(#[from] fstore_core::Error),

    #[error("invalid offline root `{root}`: {reason}")]
    InvalidRoot { root: String, reason: String },

    #[error("no feature table `{name}` under {root}; create it with `fstore tables create`")]
    TableNotFound { name: String, root: String },

    #[error(
        "feature table `{name}` is registered at {location}, but there is no Delta table there any more; remove the registration with `fstore tables drop {name}`"
    )]
    DanglingLink { name: String, location: String },

    #[error(
        "the Delta table at {location} is not a feature table (it has no primary keys recorded); register it with `fstore tables register {name} --primary-key ...`"
    )]
    NotAFeatureTable { name: String, location: String },

    #[error(
        "feature table `{name}` already exists at {location}; use `fstore tables write` to add data"
    )]
    TableExists { name: String, location: String },

    #[error(
        "the Delta table at {location} is already a feature table (primary keys: {primary_keys}); it cannot be registered again"
    )]
    AlreadyFeatureTable {
        location: String,
        primary_keys: String,
    },

    #[error(
        "there is no Delta table at {location} (no `_delta_log`); check the path or create the table with `fstore tables create {name}`"
    )]
    NotADeltaTable { name: String, location: String },

    #[error("cannot create `{table}`: {reason}")]
    InvalidCreate { table: String, reason: String },

    #[error(
        "input for `{table}` has no key column `{column}`; every write must include all key columns ({keys})"
    )]
    MissingKeyColumn {
        table: String,
        column: String,
        keys: String,
    },

    #[error(
        "input for `{table}` has NULL in key column `{column}` at row {row} (1-based); key columns may not be NULL"
    )]
    NullKey {
        table: String,
        column: String,
        row: u64,
    },

    #[error(
        "duplicate key {key} appears {count} times in the input for `{table}` (rows {rows}){more}; each (primary key, timestamp key) may appear once per write — deduplicate the input"
    )]
    DuplicateKey {
        table: String,
        key: String,
        count: u64,
        rows: String,
        more: String,
    },

    #[error("input for `{table}` has the column `{column}` more than once")]
    DuplicateColumn { table: String, column: String },

    #[error(
        "column `{column}` is {input} in the input but {table_type} in the table `{table}`{hint}"
    )]
    TypeConflict {
        table: String,
        column: String,
        input: String,
        table_type: String,
        hint: String,
    },

    #[error("column `{column}` of `{table}`: {detail}")]
    LossyValue {
        table: String,
        column: String,
        detail: String,
    },

    #[error("column `{column}` of `{table}` is NOT NULL, but {problem}")]
    NotNullViolation {
        table: String,
        column: String,
        problem: String,
    },

    #[error(
        "column `{column}` in the input differs only in letter case from the column `{existing}` of `{table}`; column names are case-sensitive — rename it to `{existing}`"
    )]
    ColumnCaseConflict {
        table: String,
        column: String,
        existing: String,
    },

    #[error("`{table}` has no column `{column}`; its columns are: {columns}")]
    UnknownColumn {
        table: String,
        column: String,
        columns: String,
    },

    #[error("invalid filter `{filter}` on `{table}`: {reason}")]
    BadFilter {
        table: String,
        filter: String,
        reason: String,
    },

    #[error("cannot read `{table}` {at}: {reason}")]
    TimeTravel {
        table: String,
        at: String,
        reason: String,
    },

    #[error(
        "unsupported input file {path}: {reason}; supported extensions are .parquet, .csv, .json, .jsonl and .ndjson"
    )]
    UnsupportedInput { path: PathBuf, reason: String },

    #[error("cannot read input file {path}: {source}")]
    BadInputFile {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("input has an inconsistent schema: {0}")]
    InconsistentInput(String),

    #[error(
        "no S3 credentials for {location} (endpoint {endpoint}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or a web identity), or put the keys in a secret scope and set `credentials_secret_prefix = \"<scope>/<prefix>\"` in [offline] (secrets `<prefix>-access-key-id`, `<prefix>-secret-access-key`)"
    )]
    S3NoCredentials { location: String, endpoint: String },

    #[error(
        "the bucket `{bucket}` of {location} does not exist (endpoint {endpoint}); create it (e.g. `aws s3 mb s3://{bucket}`) or fix [offline] root / the table path"
    )]
    S3NoSuchBucket {
        bucket: String,
        location: String,
        endpoint: String,
    },

    #[error(
        "access to {location} was denied ({code}) for the credentials from {credentials}; check those credentials and that their policy allows s3:ListBucket on bucket `{bucket}` and s3:GetObject, s3:PutObject, s3:DeleteObject under the prefix"
    )]
    S3AccessDenied {
        location: String,
        code: String,
        credentials: String,
        bucket: String,
    },

    #[error(
        "cannot reach the S3 endpoint {endpoint} for {location}; check that the service is running and `endpoint` in [offline] (or AWS_ENDPOINT_URL)"
    )]
    S3Unreachable { location: String, endpoint: String },

    #[error(
        "refusing to commit to {location}: the S3 service at {endpoint} cannot guarantee that two writers never overwrite each other's Delta commits: {why}. Use a service that honours conditional writes (If-None-Match: *), such as AWS S3 or MinIO; if only one process ever writes under this root, set `allow_unsafe_commits = true` in [offline] (or AWS_S3_ALLOW_UNSAFE_RENAME=true)"
    )]
    S3UnsafeCommits {
        location: String,
        endpoint: String,
        why: String,
    },

    // ---------------------------------------------------------------- environment
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("Delta storage error while {context}: {source}")]
    Delta {
        context: String,
        #[source]
        source: DeltaTableError,
    },

    #[error("storage error while {context}: {source}")]
    Storage {
        context: String,
        #[source]
        source: object_store::Error,
    },

    // ---------------------------------------------------------------- internal
    #[error("internal error while {context} (Arrow): {source}")]
    Arrow {
        context: String,
        #[source]
        source: ArrowError,
    },

    #[error("internal error while {context} (DataFusion): {source}")]
    DataFusion {
        context: String,
        #[source]
        source: DataFusionError,
    },

    #[error("internal error: {0}; this is a bug in fstore")]
    Internal(String),
}

impl Error {
    /// Who is at fault.
    pub fn kind(&self) -> ErrorKind {
        use Error as E;
        match self {
            E::Core(_)
            | E::InvalidRoot { .. }
            | E::TableNotFound { .. }
            | E::DanglingLink { .. }
            | E::NotAFeatureTable { .. }
            | E::TableExists { .. }
            | E::AlreadyFeatureTable { .. }
            | E::NotADeltaTable { .. }
            | E::InvalidCreate { .. }
            | E::MissingKeyColumn { .. }
            | E::NullKey { .. }
            | E::DuplicateKey { .. }
            | E::DuplicateColumn { .. }
            | E::TypeConflict { .. }
            | E::LossyValue { .. }
            | E::NotNullViolation { .. }
            | E::ColumnCaseConflict { .. }
            | E::UnknownColumn { .. }
            | E::BadFilter { .. }
            | E::TimeTravel { .. }
            | E::UnsupportedInput { .. }
            | E::BadInputFile { .. }
            | E::InconsistentInput(_)
            | E::S3NoCredentials { .. }
            | E::S3NoSuchBucket { .. }
            | E::S3AccessDenied { .. }
            | E::S3UnsafeCommits { .. } => ErrorKind::BadInput,
            E::S3Unreachable { .. } => ErrorKind::Environment,
            E::Io { .. } | E::Delta { .. } | E::Storage { .. } => ErrorKind::Environment,
            E::Arrow { .. } | E::DataFusion { .. } | E::Internal(_) => ErrorKind::Internal,
        }
    }

    pub(crate) fn delta(context: impl Into<String>) -> impl FnOnce(DeltaTableError) -> Self {
        let context = context.into();
        move |source| Error::Delta { context, source }
    }

    pub(crate) fn storage(context: impl Into<String>) -> impl FnOnce(object_store::Error) -> Self {
        let context = context.into();
        move |source| Error::Storage { context, source }
    }

    pub(crate) fn arrow(context: impl Into<String>) -> impl FnOnce(ArrowError) -> Self {
        let context = context.into();
        move |source| Error::Arrow { context, source }
    }
}
