//! Feature tables as Delta Lake tables (PRODUCT.md §4): create, write (merge / overwrite), read
//! with time travel, history, list, drop and register.
//!
//! A feature table `<schema>.<table>` is the Delta table at `<root>/<schema>/<table>` (or, when
//! registered by path, wherever `<root>/<schema>/<table>.fstore-link` points). Its primary keys,
//! timestamp key and tags are table properties (`fstore.*`) and its description is the Delta
//! table description, so the table alone is the catalog entry and any Delta reader still sees an
//! ordinary table.
//!
//! Invariant: every write validates its whole input (key presence, NULL keys, duplicate keys,
//! types) before anything is committed. Inputs stream (`source.rs`): a rejection found at the
//! end of a large file still comes before the commit, so no new version appears; data files
//! already written for it stay unreferenced (removed where possible, else left for vacuum).

mod changes;
mod conform;
pub mod error;
mod history;
pub mod input;
mod keycheck;
mod location;
mod register;
mod s3;
mod source;
mod store;
mod table;
mod view;
mod write;

pub use changes::{CDF_PROPERTY, CommitSummary, Coverage, TableChanges};
pub use error::{Error, ErrorKind, Result};
pub use history::HistoryEntry;
pub use location::LINK_SUFFIX;
pub use s3::{S3Credentials, S3Settings};
pub use store::{OfflineStore, TimeTravel};
pub use table::FeatureTable;
pub use view::{BatchStream, Scan, SortKey, VIEW_MEMORY_BYTES, ViewStream};
pub use write::{WriteMode, WriteOutcome};
