//! Online-store errors with a backend-neutral [`StoreErrorKind`], so callers (the CLI's exit
//! codes, the server's status codes) never match on driver errors.

/// Result with [`StoreError`] as the default error.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What went wrong, independent of the backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// Input values the store cannot hold (NaN, over-long keys, NULL keys): bad input.
    InvalidData,
    /// The online table's schema conflicts with what is being published: bad input.
    Incompatible,
    /// The table is not online (or was not published by fstore).
    MissingTable,
    /// A lookup or filter named something that does not exist or has the wrong type: bad input.
    BadRequest,
    /// The identity lacks a privilege.
    PermissionDenied,
    /// Wrong user or password.
    AuthFailed,
    /// The database does not exist.
    UnknownDatabase,
    /// Cannot reach the server, or the connection broke.
    Connection,
    /// Anything else the database reported.
    Database,
}

impl StoreErrorKind {
    /// Worth retrying after a pause (connection problems only).
    pub fn is_retryable(self) -> bool {
        matches!(self, StoreErrorKind::Connection)
    }
}

/// An online-store error: a kind and a message written for the user (it names the table, column
/// and key where relevant, and the remedy). Never contains a secret value.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    pub kind: StoreErrorKind,
    pub message: String,
}

impl StoreError {
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}
