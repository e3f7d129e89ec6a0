//! [`ServingCheck`] on SQLite: one `LIMIT 0` query per table on a reader connection (SQLite has
//! no grants: this finds missing tables and columns, and an unreadable file).

use fstore_core::ident::quote_sqlite;

use super::SqliteStore;
use super::error::Ctx;
use crate::BOOKKEEPING_TABLE;
use crate::error::Result;
use crate::layout::OnlineLayout;
use crate::serving::{ServingCheck, probe_sql};

impl ServingCheck for SqliteStore {
    async fn check_serving(&self, tables: &[OnlineLayout]) -> Result<()> {
        let probes: Vec<(String, String)> = std::iter::once((
            format!("checking that the bookkeeping table `{BOOKKEEPING_TABLE}` can be read"),
            format!(
                "SELECT online_table FROM {} LIMIT 0",
                quote_sqlite(BOOKKEEPING_TABLE)
            ),
        ))
        .chain(tables.iter().map(|l| {
            (
                format!("checking that `{}` can be served", l.table),
                probe_sql(l, quote_sqlite),
            )
        }))
        .collect();
        self.with_reader(move |conn| {
            for (what, sql) in &probes {
                let mut stmt = conn.prepare(sql).ctx(what)?;
                let mut rows = stmt.query([]).ctx(what)?;
                rows.next().ctx(what)?;
            }
            Ok(())
        })
        .await
    }
}
