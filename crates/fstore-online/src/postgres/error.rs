//! tokio-postgres errors → [`StoreError`] with a backend-neutral kind (by SQLSTATE) and a message
//! naming what was being done. Never includes a password: the server's texts hold none.

use tokio_postgres::error::SqlState;

use crate::error::{StoreError, StoreErrorKind};

/// Maps `e`, raised while doing `what`.
pub fn map(what: &str, e: &tokio_postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error() else {
        // No server error: the connection failed or broke.
        return StoreError::new(
            StoreErrorKind::Connection,
            format!("{what}: the PostgreSQL connection failed: {e}"),
        );
    };
    let code = db.code();
    let kind = if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        StoreErrorKind::PermissionDenied
    } else if *code == SqlState::INVALID_PASSWORD
        || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    {
        StoreErrorKind::AuthFailed
    } else if *code == SqlState::INVALID_CATALOG_NAME {
        StoreErrorKind::UnknownDatabase
    } else if *code == SqlState::UNDEFINED_TABLE {
        StoreErrorKind::MissingTable
    } else if code.code().starts_with("08") || *code == SqlState::ADMIN_SHUTDOWN {
        StoreErrorKind::Connection
    } else {
        StoreErrorKind::Database
    };
    let remedy = match kind {
        StoreErrorKind::PermissionDenied => {
            "; grant the privilege to this identity (see `fstore online init` and docs/postgres.md)"
        }
        _ => "",
    };
    StoreError::new(
        kind,
        format!(
            "{what}: PostgreSQL error {}: {}{remedy}",
            code.code(),
            db.message()
        ),
    )
}

/// `.ctx("doing x")` on driver results.
pub trait Ctx<T> {
    fn ctx(self, what: &str) -> Result<T, StoreError>;
    fn with_ctx(self, what: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T> Ctx<T> for Result<T, tokio_postgres::Error> {
    fn ctx(self, what: &str) -> Result<T, StoreError> {
        self.map_err(|e| map(what, &e))
    }
    fn with_ctx(self, what: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(|e| map(&what(), &e))
    }
}

/// The SQLSTATE of `e`, if the server raised it.
pub fn code(e: &tokio_postgres::Error) -> Option<&SqlState> {
    e.code()
}
