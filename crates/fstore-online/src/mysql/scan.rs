//! The MySQL scan: a table's rows in primary-key order, one page per statement (see
//! [`crate::scan`]). InnoDB stores a table in its primary key, so `ORDER BY k1, k2 LIMIT n`
//! after a key is a range read of the clustered index. The "after" condition is spelled out
//! (`k1 > ? OR (k1 = ? AND k2 > ?)`) rather than as a row comparison, which older MySQL and
//! MariaDB optimizers do not turn into an index range. String keys are `utf8mb4_bin`, which
//! orders by code point, the same as UTF-8 bytes (it pads with spaces when comparing, so keys
//! that differ only by control characters or trailing spaces after a common prefix may order
//! differently from bytes: the verify merge detects that rather than miscounting).

use fstore_core::Value;
use fstore_core::ident::quote_mysql;
use mysql_async::Conn;
use mysql_async::Value as MyValue;
use mysql_async::prelude::Queryable;

use super::ddl::quoted_list;
use super::error::{Target, server_code};
use super::read::{atom_param, decode, key_atom};
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::{OnlineColumn, OnlineLayout};
use crate::lookup_plan::missing_table;

/// `(k1 > ?) OR (k1 = ? AND k2 > ?) OR …`: the rows after a key, and which key value each
/// placeholder takes (by key column index).
fn after_clause(keys: &[String]) -> (String, Vec<usize>) {
    let mut terms = Vec::with_capacity(keys.len());
    let mut slots = Vec::new();
    for i in 0..keys.len() {
        let mut parts = Vec::with_capacity(i + 1);
        for (j, k) in keys.iter().enumerate().take(i) {
            parts.push(format!("{} = ?", quote_mysql(k)));
            slots.push(j);
        }
        parts.push(format!("{} > ?", quote_mysql(&keys[i])));
        slots.push(i);
        terms.push(format!("({})", parts.join(" AND ")));
    }
    (terms.join(" OR "), slots)
}

fn page_sql(layout: &OnlineLayout, after: bool, limit: usize) -> (String, Vec<usize>) {
    let names: Vec<&str> = layout.columns.iter().map(|c| c.name.as_str()).collect();
    let mut sql = format!(
        "SELECT {} FROM {}",
        quoted_list(&names),
        quote_mysql(&layout.table)
    );
    let mut slots = Vec::new();
    if after {
        let (clause, s) = after_clause(&layout.primary_keys);
        sql.push_str(" WHERE ");
        sql.push_str(&clause);
        slots = s;
    }
    sql.push_str(&format!(
        " ORDER BY {} LIMIT {limit}",
        quoted_list(&layout.primary_keys)
    ));
    (sql, slots)
}

/// At most `limit` rows after the key `after` (see [`crate::OnlineReader::scan_page`]).
pub async fn scan_page(
    conn: &mut Conn,
    t: &Target,
    layout: &OnlineLayout,
    after: Option<&[Value]>,
    limit: usize,
) -> Result<Vec<Vec<Value>>> {
    let table = layout.table.as_str();
    let mut key_params: Vec<MyValue> = Vec::new();
    if let Some(after) = after {
        if after.len() != layout.primary_keys.len() {
            return Err(StoreError::new(
                StoreErrorKind::BadRequest,
                format!(
                    "a scan of `{table}` continues after a key of {} values, but the table has {} key columns",
                    after.len(),
                    layout.primary_keys.len()
                ),
            ));
        }
        for (k, v) in layout.primary_keys.iter().zip(after) {
            let column: &OnlineColumn = layout.column(k).ok_or_else(|| {
                StoreError::new(
                    StoreErrorKind::Database,
                    format!("the layout of `{table}` lacks its key column `{k}`"),
                )
            })?;
            key_params.push(atom_param(column.ftype, &key_atom(column, v)?));
        }
    }
    let (sql, slots) = page_sql(layout, after.is_some(), limit.max(1));
    let params: Vec<MyValue> = slots.iter().map(|&i| key_params[i].clone()).collect();
    let rows: Vec<mysql_async::Row> = match conn.exec(sql, params).await {
        Ok(rows) => rows,
        Err(e) if server_code(&e) == Some(1146) => return Err(missing_table(table)),
        Err(e) => {
            return Err(super::error::map(
                t,
                &format!("reading the rows of `{table}`"),
                e,
            ));
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let raw = row.unwrap_raw();
        if raw.len() != layout.columns.len() {
            return Err(StoreError::new(
                StoreErrorKind::Database,
                format!(
                    "reading `{table}` returned {} columns, not the layout's {}",
                    raw.len(),
                    layout.columns.len()
                ),
            ));
        }
        let mut values = Vec::with_capacity(raw.len());
        for (c, v) in layout.columns.iter().zip(raw) {
            values.push(decode(table, c, v.unwrap_or(MyValue::NULL))?);
        }
        out.push(values);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_after_condition_is_spelled_out_per_key_prefix() {
        let keys = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let (clause, slots) = after_clause(&keys);
        assert_eq!(
            clause,
            "(`a` > ?) OR (`a` = ? AND `b` > ?) OR (`a` = ? AND `b` = ? AND `c` > ?)"
        );
        assert_eq!(slots, vec![0, 0, 1, 0, 1, 2]);
        let (clause, slots) = after_clause(&keys[..1]);
        assert_eq!(clause, "(`a` > ?)");
        assert_eq!(slots, vec![0]);
    }
}
