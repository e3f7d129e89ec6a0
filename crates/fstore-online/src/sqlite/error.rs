//! rusqlite errors → [`StoreError`] with a backend-neutral kind and a message naming what was
//! being done.

use rusqlite::ErrorCode;

use crate::error::{StoreError, StoreErrorKind};

/// Maps a rusqlite error, prefixing the message with `context` ("creating table `t`").
pub fn map(context: &str, e: rusqlite::Error) -> StoreError {
    let kind = kind_of(&e);
    let detail = match &e {
        rusqlite::Error::SqliteFailure(err, Some(msg)) => format!("{msg} ({:?})", err.code),
        other => other.to_string(),
    };
    let busy = matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    );
    let hint = match kind {
        StoreErrorKind::PermissionDenied => {
            "; check that the SQLite file and its directory are writable by this user"
        }
        StoreErrorKind::Connection if busy => {
            "; another process (e.g. another publish to this store) kept the database locked for the whole wait; try again when it has finished"
        }
        StoreErrorKind::Connection => "; check the path of the SQLite file",
        _ => "",
    };
    StoreError::new(kind, format!("SQLite: {context}: {detail}{hint}"))
}

fn kind_of(e: &rusqlite::Error) -> StoreErrorKind {
    match e.sqlite_error_code() {
        Some(ErrorCode::CannotOpen | ErrorCode::NotFound | ErrorCode::SystemIoFailure) => {
            StoreErrorKind::Connection
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreErrorKind::Connection,
        Some(
            ErrorCode::ReadOnly
            | ErrorCode::PermissionDenied
            | ErrorCode::AuthorizationForStatementDenied,
        ) => StoreErrorKind::PermissionDenied,
        _ => StoreErrorKind::Database,
    }
}

/// `.ctx("what")` on rusqlite results.
pub trait Ctx<T> {
    fn ctx(self, context: &str) -> crate::error::Result<T>;
    fn with_ctx(self, context: impl FnOnce() -> String) -> crate::error::Result<T>;
}

impl<T> Ctx<T> for rusqlite::Result<T> {
    fn ctx(self, context: &str) -> crate::error::Result<T> {
        self.map_err(|e| map(context, e))
    }
    fn with_ctx(self, context: impl FnOnce() -> String) -> crate::error::Result<T> {
        self.map_err(|e| map(&context(), e))
    }
}
