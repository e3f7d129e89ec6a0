//! [`ServingCheck`] on MySQL: one `LIMIT 0` query per table on one pooled connection.

use fstore_core::ident::quote_mysql;
use mysql_async::prelude::Queryable;

use super::MysqlStore;
use super::error::Ctx;
use crate::BOOKKEEPING_TABLE;
use crate::error::Result;
use crate::layout::OnlineLayout;
use crate::serving::{ServingCheck, probe_sql};

impl ServingCheck for MysqlStore {
    async fn check_serving(&self, tables: &[OnlineLayout]) -> Result<()> {
        let mut conn = self.conn().await?;
        let t = &self.target;
        conn.query_drop(format!(
            "SELECT online_table FROM {} LIMIT 0",
            quote_mysql(BOOKKEEPING_TABLE)
        ))
        .await
        .with_ctx(t, || {
            format!("checking that the bookkeeping table `{BOOKKEEPING_TABLE}` can be read")
        })?;
        for layout in tables {
            conn.query_drop(probe_sql(layout, quote_mysql))
                .await
                .with_ctx(t, || {
                    format!("checking that `{}` can be served", layout.table)
                })?;
        }
        Ok(())
    }
}
