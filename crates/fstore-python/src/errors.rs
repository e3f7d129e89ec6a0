//! Rust errors → Python exceptions. The classes live in `fstore/errors.py` (so an
//! `InvalidInputError` can be both an `FstoreError` and a `ValueError`, as Databricks' callers
//! expect `except ValueError` to catch bad input); messages are the library's own, the same the
//! CLI prints. No message carries a secret value (the libraries never put one in an error).

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use fstore_online::StoreErrorKind;

/// The `fstore.errors` class an error maps to.
#[derive(Clone, Copy, Debug)]
pub enum Class {
    /// Bad input: a `ValueError`.
    InvalidInput,
    TableNotFound,
    TableExists,
    OnlineStore(StoreErrorKind),
    Secrets,
    Conflict,
    /// `fstore serve` refused (the HTTP status, if it answered) or could not be reached.
    Serve(Option<u16>),
    /// Storage, network or our own bug.
    Fstore,
}

/// An error on its way to Python: the class and the message.
#[derive(Debug)]
pub struct Error {
    pub class: Class,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            class: Class::InvalidInput,
            message: message.into(),
        }
    }
    pub fn new(class: Class, message: impl std::fmt::Display) -> Self {
        Self {
            class,
            message: message.to_string(),
        }
    }
}

fn kind_name(k: StoreErrorKind) -> &'static str {
    use StoreErrorKind as K;
    match k {
        K::InvalidData => "invalid_data",
        K::Incompatible => "incompatible",
        K::MissingTable => "missing_table",
        K::BadRequest => "bad_request",
        K::PermissionDenied => "permission_denied",
        K::AuthFailed => "auth_failed",
        K::UnknownDatabase => "unknown_database",
        K::Connection => "connection",
        K::Database => "database",
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> Self {
        Python::attach(|py| {
            let (class, kind) = match e.class {
                Class::Serve(status) => {
                    let make = || -> PyResult<PyErr> {
                        let cls = py.import("fstore.errors")?.getattr("ServeError")?;
                        Ok(PyErr::from_value(cls.call1((e.message.as_str(), status))?))
                    };
                    return make().unwrap_or_else(|_| PyRuntimeError::new_err(e.message.clone()));
                }
                Class::InvalidInput => ("InvalidInputError", None),
                Class::TableNotFound => ("TableNotFoundError", None),
                Class::TableExists => ("TableExistsError", None),
                Class::OnlineStore(k) => ("OnlineStoreError", Some(k)),
                Class::Secrets => ("SecretsError", None),
                Class::Conflict => ("ConflictError", None),
                Class::Fstore => ("FstoreError", None),
            };
            let make = || -> PyResult<PyErr> {
                let cls = py.import("fstore.errors")?.getattr(class)?;
                let exc = match kind {
                    Some(k) => cls.call1((e.message.as_str(), kind_name(k), k.is_retryable()))?,
                    None => cls.call1((e.message.as_str(),))?,
                };
                Ok(PyErr::from_value(exc))
            };
            make().unwrap_or_else(|_| PyRuntimeError::new_err(e.message.clone()))
        })
    }
}

impl From<fstore_offline::Error> for Error {
    fn from(e: fstore_offline::Error) -> Self {
        use fstore_offline::Error as E;
        let class = match &e {
            E::TableNotFound { .. } => Class::TableNotFound,
            E::TableExists { .. } => Class::TableExists,
            _ if e.kind() == fstore_offline::ErrorKind::BadInput => Class::InvalidInput,
            _ => Class::Fstore,
        };
        Self::new(class, e)
    }
}

impl From<fstore_online::StoreError> for Error {
    fn from(e: fstore_online::StoreError) -> Self {
        use StoreErrorKind as K;
        let class = match e.kind {
            K::InvalidData | K::Incompatible | K::BadRequest => Class::InvalidInput,
            k => Class::OnlineStore(k),
        };
        Self::new(class, e)
    }
}

impl From<fstore_core::Error> for Error {
    fn from(e: fstore_core::Error) -> Self {
        Self::new(Class::InvalidInput, e)
    }
}

impl From<fstore_publish::Error> for Error {
    fn from(e: fstore_publish::Error) -> Self {
        use fstore_publish::Error as E;
        match e {
            E::BadOptions(m) => Self::invalid(m),
            E::Offline(e) => (*e).into(),
            E::Online(e) => e.into(),
            E::Core(e) => e.into(),
            E::Secrets(e) => Self::new(Class::Secrets, e),
            E::Conflict(m) => Self::new(Class::Conflict, m),
        }
    }
}

impl From<fstore_training::Error> for Error {
    fn from(e: fstore_training::Error) -> Self {
        use fstore_training::Error as E;
        match e {
            E::Offline(e) => (*e).into(),
            E::Core(e) => e.into(),
            e @ (E::BadLookupSpec { .. }
            | E::BadLookup { .. }
            | E::MissingSpineColumn { .. }
            | E::BadRequest(_)
            | E::BadSpine { .. }) => Self::invalid(e.to_string()),
            e => Self::new(Class::Fstore, e),
        }
    }
}

impl From<arrow::error::ArrowError> for Error {
    fn from(e: arrow::error::ArrowError) -> Self {
        Self::invalid(e.to_string())
    }
}
