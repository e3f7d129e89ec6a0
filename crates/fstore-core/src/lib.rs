//! fstore's vocabulary, shared by every other crate: feature-table names and specs, identifier rules,
//! the one Arrow → online-store type mapping, secret-prefix parsing and the `fstore.toml` configuration.
//!
//! Invariant: no async, no network, no Delta, no database. The only I/O is reading the config file.

pub mod config;
pub mod error;
pub mod ident;
pub mod progress;
pub mod schema;
pub mod secret_prefix;
pub mod spec;
pub mod types;
pub mod value;

pub use error::{Error, Result};
pub use ident::TableName;
pub use progress::{NoProgress, Progress};
pub use schema::parse_schema;
pub use secret_prefix::SecretPrefix;
pub use spec::TableSpec;
pub use types::FeatureType;
pub use value::Value;
