//! [`ServingCheck`]: can this store's identity read what serving needs? What `fstore serve`'s
//! readiness probe (`GET /readyz`) runs, so that a reader that lost its grant on a served table
//! (or a table dropped behind fstore's back) makes the server not ready instead of answering
//! every lookup of that table with an error.
//!
//! A read-side check, implemented for [`ReadStore`] (what serving holds) and for
//! [`OnlineStore`].

use crate::error::Result;
use crate::layout::OnlineLayout;
use crate::{OnlineStore, ReadStore};

/// See the module docs.
#[allow(async_fn_in_trait)] // Used through the closed `OnlineStore` enum, never `dyn`.
pub trait ServingCheck {
    /// Reads, with this store's identity, the bookkeeping table and the layout's columns of
    /// each of `tables` (one cheap query each, no rows: `SELECT … LIMIT 0`). The error of the
    /// first table that cannot be read names that table and says why (missing table or column,
    /// missing privilege, …).
    async fn check_serving(&self, tables: &[OnlineLayout]) -> Result<()>;
}

impl ServingCheck for OnlineStore {
    async fn check_serving(&self, tables: &[OnlineLayout]) -> Result<()> {
        match self {
            #[cfg(feature = "sqlite")]
            OnlineStore::Sqlite(s) => s.check_serving(tables).await,
            #[cfg(feature = "mysql")]
            OnlineStore::Mysql(s) => s.check_serving(tables).await,
            #[cfg(feature = "postgres")]
            OnlineStore::Postgres(s) => s.check_serving(tables).await,
        }
    }
}

impl ServingCheck for ReadStore {
    async fn check_serving(&self, tables: &[OnlineLayout]) -> Result<()> {
        self.0.check_serving(tables).await
    }
}

/// `SELECT <every layout column> FROM <table> LIMIT 0`, with `quote` for the backend's
/// identifiers: what a lookup reads, so a column-level grant is checked too.
pub(crate) fn probe_sql(layout: &OnlineLayout, quote: fn(&str) -> String) -> String {
    let columns: Vec<String> = layout.columns.iter().map(|c| quote(&c.name)).collect();
    format!(
        "SELECT {} FROM {} LIMIT 0",
        columns.join(", "),
        quote(&layout.table)
    )
}
