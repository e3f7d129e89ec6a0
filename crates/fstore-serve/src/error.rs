//! Serving errors: what the client is told, with which status, and what only the log sees.
//!
//! This is the one place where online-store error kinds become HTTP status codes (an exhaustive
//! `match` on [`StoreErrorKind`]). 4xx errors carry a message written for the caller; 5xx errors
//! carry a generic message, and the store's detail goes to the log only.

use axum::http::StatusCode;
use fstore_online::{StoreError, StoreErrorKind};

/// Why a request failed, independent of the transport. Also the `kind` label of the
/// `fstore_serve_errors_total` metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Well-formed JSON that asks for something impossible: wrong key type, unknown feature, …
    BadRequest,
    /// The body is not JSON or not the request's shape.
    MalformedJson,
    /// Too many keys, rows or lookups in one request.
    TooManyKeys,
    /// Unknown feature table (or route).
    NotFound,
    /// Missing or wrong bearer token.
    Unauthorized,
    /// Body larger than the limit.
    PayloadTooLarge,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// The online table's schema conflicts with the request (a publish changed it mid-request).
    Conflict,
    /// The request took longer than the timeout.
    Timeout,
    /// The database cannot be reached (or refuses our credentials): retry later.
    Unavailable,
    /// Anything else; the detail is in the log.
    Internal,
}

impl ErrorKind {
    /// Every kind, in metric order.
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::BadRequest,
        ErrorKind::MalformedJson,
        ErrorKind::TooManyKeys,
        ErrorKind::NotFound,
        ErrorKind::Unauthorized,
        ErrorKind::PayloadTooLarge,
        ErrorKind::MethodNotAllowed,
        ErrorKind::Conflict,
        ErrorKind::Timeout,
        ErrorKind::Unavailable,
        ErrorKind::Internal,
    ];

    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::BadRequest | ErrorKind::MalformedJson | ErrorKind::TooManyKeys => {
                StatusCode::BAD_REQUEST
            }
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::MalformedJson => "malformed_json",
            ErrorKind::TooManyKeys => "too_many_keys",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            ErrorKind::BadRequest => 0,
            ErrorKind::MalformedJson => 1,
            ErrorKind::TooManyKeys => 2,
            ErrorKind::NotFound => 3,
            ErrorKind::Unauthorized => 4,
            ErrorKind::PayloadTooLarge => 5,
            ErrorKind::MethodNotAllowed => 6,
            ErrorKind::Conflict => 7,
            ErrorKind::Timeout => 8,
            ErrorKind::Unavailable => 9,
            ErrorKind::Internal => 10,
        }
    }

    pub fn is_server_error(self) -> bool {
        self.status().is_server_error()
    }
}

/// A failed lookup: a kind, the message the caller sees and (for server errors) the detail that
/// only the log sees.
#[derive(Clone, Debug, PartialEq)]
pub struct ServeError {
    pub kind: ErrorKind,
    /// Shown to the caller as `{"error": message}`.
    pub message: String,
    /// Logged, never sent (5xx causes: the store's own message).
    pub detail: Option<String>,
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServeError {}

/// Generic message of a database-unavailable response.
pub const UNAVAILABLE_MESSAGE: &str = "the online store is unavailable; retry later";
/// Generic message of an internal error response.
pub const INTERNAL_MESSAGE: &str = "internal error; the server log has the details";

impl ServeError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            detail: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// A server-side failure: generic message for the caller, `detail` for the log.
    pub fn server(kind: ErrorKind, detail: impl Into<String>) -> Self {
        let message = match kind {
            ErrorKind::Unavailable => UNAVAILABLE_MESSAGE,
            _ => INTERNAL_MESSAGE,
        };
        Self {
            kind,
            message: message.into(),
            detail: Some(detail.into()),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }
}

impl From<StoreError> for ServeError {
    fn from(e: StoreError) -> Self {
        // Exhaustive on purpose: a new store error kind must be given a status here.
        match e.kind {
            StoreErrorKind::BadRequest | StoreErrorKind::InvalidData => {
                ServeError::bad_request(e.message)
            }
            StoreErrorKind::MissingTable => ServeError::not_found(e.message),
            StoreErrorKind::Incompatible => ServeError::new(ErrorKind::Conflict, e.message),
            StoreErrorKind::Connection
            | StoreErrorKind::AuthFailed
            | StoreErrorKind::UnknownDatabase => {
                ServeError::server(ErrorKind::Unavailable, e.message)
            }
            StoreErrorKind::PermissionDenied | StoreErrorKind::Database => {
                ServeError::server(ErrorKind::Internal, e.message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_statuses_and_hide_server_details() {
        let e = |k| ServeError::from(StoreError::new(k, "secret detail"));
        assert_eq!(
            e(StoreErrorKind::BadRequest).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            e(StoreErrorKind::MissingTable).status(),
            StatusCode::NOT_FOUND
        );
        let down = e(StoreErrorKind::Connection);
        assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(down.message, UNAVAILABLE_MESSAGE);
        assert_eq!(down.detail.as_deref(), Some("secret detail"));
        let db = e(StoreErrorKind::Database);
        assert_eq!(db.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!db.message.contains("secret"));
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(k.index(), i);
        }
    }
}
