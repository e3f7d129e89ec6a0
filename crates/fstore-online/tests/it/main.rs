//! Integration tests of the online stores: the shared backend conformance suite, instantiated once
//! per backend, plus backend-specific checks.

#[macro_use]
mod conformance;
#[cfg(feature = "mysql")]
mod databricks_layout;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "mysql")]
mod tls;
