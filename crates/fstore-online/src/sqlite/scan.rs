//! The SQLite scan: a table's rows in primary-key order, one page per statement (see
//! [`crate::scan`]). Tables are `WITHOUT ROWID`, so the primary key is the table's B-tree and
//! `WHERE (k1, k2) > (?, ?) ORDER BY k1, k2` is a range read of it. Keys compare with the
//! `BINARY` collation; decimal keys are `TEXT`, so they order as text ([`crate::KeySort::Text`]).

use fstore_core::Value;
use fstore_core::ident::quote_sqlite;
use rusqlite::Connection;

use super::ddl::quoted_list;
use super::error::Ctx;
use super::read::{bind_atom, decode, key_atom, stale_or};
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::OnlineLayout;

/// The SQL of one page: every layout column, keys after the bound ones when `after`.
fn page_sql(layout: &OnlineLayout, after: bool) -> String {
    let names: Vec<&str> = layout.columns.iter().map(|c| c.name.as_str()).collect();
    let keys = quoted_list(&layout.primary_keys);
    let mut sql = format!(
        "SELECT {} FROM {}",
        quoted_list(&names),
        quote_sqlite(&layout.table)
    );
    if after {
        let marks = vec!["?"; layout.primary_keys.len()].join(", ");
        sql.push_str(&format!(" WHERE ({keys}) > ({marks})"));
    }
    sql.push_str(&format!(" ORDER BY {keys} LIMIT ?"));
    sql
}

/// At most `limit` rows after the key `after` (see [`crate::OnlineReader::scan_page`]).
pub fn scan_page(
    conn: &Connection,
    layout: &OnlineLayout,
    after: Option<&[Value]>,
    limit: usize,
) -> Result<Vec<Vec<Value>>> {
    let table = layout.table.as_str();
    let ctx = || format!("reading the rows of `{table}`");
    let mut atoms = Vec::new();
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
            let column = layout.column(k).ok_or_else(|| {
                StoreError::new(
                    StoreErrorKind::Database,
                    format!("the layout of `{table}` lacks its key column `{k}`"),
                )
            })?;
            atoms.push(key_atom(column, v)?);
        }
    }
    let sql = page_sql(layout, after.is_some());
    let mut stmt = conn.prepare(&sql).map_err(|e| stale_or(table, e, ctx))?;
    for (i, a) in atoms.iter().enumerate() {
        bind_atom(&mut stmt, i + 1, a).with_ctx(ctx)?;
    }
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    stmt.raw_bind_parameter(atoms.len() + 1, limit)
        .with_ctx(ctx)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| stale_or(table, e, ctx))? {
        let mut values = Vec::with_capacity(layout.columns.len());
        for (j, c) in layout.columns.iter().enumerate() {
            values.push(decode(table, c, row.get_ref(j).with_ctx(ctx)?)?);
        }
        out.push(values);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::OnlineColumn;
    use fstore_core::FeatureType;

    #[test]
    fn pages_continue_after_the_key_as_a_row_value() {
        let layout = OnlineLayout {
            table: "t".into(),
            columns: ["a", "b", "v"]
                .iter()
                .map(|n| OnlineColumn {
                    name: n.to_string(),
                    ftype: FeatureType::BigInt,
                })
                .collect(),
            primary_keys: vec!["a".into(), "b".into()],
            timestamp_key: None,
        };
        assert_eq!(
            page_sql(&layout, true),
            r#"SELECT "a", "b", "v" FROM "t" WHERE ("a", "b") > (?, ?) ORDER BY "a", "b" LIMIT ?"#
        );
        assert_eq!(
            page_sql(&layout, false),
            r#"SELECT "a", "b", "v" FROM "t" ORDER BY "a", "b" LIMIT ?"#
        );
    }
}
