//! Opens the configured online store with the right identity.
//!
//! Write credentials are used only to publish and read credentials only to look up, as in the
//! walk-through: publishing also checks that the read secrets exist (as Databricks does), so a
//! table is never published where no reader could serve it.

use fstore_core::config::StoreConfig;
use fstore_online::OnlineStore;

use crate::{Error, Result};

/// Which identity to connect as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// Publishes: creates, alters and writes tables.
    Writer,
    /// Serves: reads only.
    Reader,
}

/// Opens the store described by `cfg` as `identity`.
pub async fn open_store(name: &str, cfg: &StoreConfig, identity: Identity) -> Result<OnlineStore> {
    let _ = identity; // SQLite has no users; the file's permissions are the identity.
    match cfg {
        StoreConfig::Sqlite(s) => Ok(OnlineStore::Sqlite(
            fstore_online::sqlite::SqliteStore::open(&s.path)?,
        )),
        StoreConfig::Mysql(_) => Err(Error::BadOptions(format!(
            "store `{name}` is a MySQL store, which this build cannot open yet"
        ))),
    }
}
