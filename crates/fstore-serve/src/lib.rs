//! Online feature serving (PRODUCT §6): `fstore serve` as a library.
//!
//! - [`Lookups`]: lookups by JSON keys with type-faithful results over one [`ReadStore`] (read-only by type), in
//!   process, no HTTP; one backend call per table per request; the table layout cached and
//!   refreshed in the background so a publish never stalls serving; concurrent lookups of one
//!   table coalesced into shared queries under load.
//! - [`router`]: the axum router (`POST /v1/feature-tables/{name}/lookup`,
//!   `POST /v1/feature-vectors/lookup`, `GET /healthz`, `GET /readyz`, `GET /metrics`) with auth,
//!   limits, timeouts, metrics and access logs; [`serve`] accepts connections for it (header
//!   timeout, `TCP_NODELAY`, graceful shutdown).
//! - [`freshness`]: publishing metrics — per-table freshness gauges on `/metrics`, and what
//!   `fstore publish --watch --metrics-listen` serves.
//! - [`ServeError`]: where store errors become HTTP statuses (nowhere else).
//!
//! The store is a [`ReadStore`], opened with the reader identity (`fstore_publish::stores::open_reader`):
//! nothing here writes. `docs/serving.md` describes the HTTP API.
//!
//! [`ReadStore`]: fstore_online::ReadStore

pub mod busy_poll;
mod coalesce;
pub mod error;
pub mod freshness;
pub mod http;
pub mod json;
pub mod listen;
pub mod lookups;
pub mod metrics;
pub mod request;

pub use busy_poll::BusyPoll;
pub use error::{ErrorKind, ServeError};
pub use http::{ServerOptions, router, router_with_ui};
pub use listen::{ListenOptions, serve, shutdown_signal};
pub use lookups::{
    LookupOptions, Lookups, Output, TableLookupResponse, TableRef, VectorLookupResponse, VectorPart,
};
pub use metrics::Metrics;
pub use request::{FeatureLookup, TableLookupRequest, VectorLookupRequest};
