//! The PostgreSQL scan: a table's rows in primary-key order, one page per statement (see
//! [`crate::scan`]). `WHERE (k1, k2) > ($1, $2) ORDER BY k1, k2 LIMIT n` is a range read of the
//! primary-key index (PostgreSQL compares row values lexicographically and uses the index for
//! them). String keys are `COLLATE "C"`, so they order by bytes as the offline sort does; the
//! bound key values are text cast to the key's type, as lookups bind them.

use fstore_core::{FeatureType, Value};
use tokio_postgres::error::SqlState;

use super::conn::Conn;
use super::copy::pg_type;
use super::ddl::{q, qualified};
use super::read::decode;
use crate::arrow_values::{parse_decimal, write_date, write_decimal};
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::{OnlineColumn, OnlineLayout};
use crate::lookup_plan::missing_table;

/// A key value (as a scan decoded it) as PostgreSQL text input for its column's type.
fn key_text(table: &str, column: &OnlineColumn, v: &Value) -> Result<String> {
    let mut text = String::new();
    match (column.ftype, v) {
        (_, Value::Int(i)) => text = i.to_string(),
        (FeatureType::String, Value::String(s)) if !s.contains('\0') => text = s.clone(),
        (_, Value::Date(d)) => write_date(*d, &mut text),
        (FeatureType::Decimal { scale, .. }, Value::Decimal(s))
            if parse_decimal(s, scale).is_some() =>
        {
            write_decimal(
                parse_decimal(s, scale).unwrap_or_default(),
                scale,
                &mut text,
            )
        }
        _ => {
            return Err(StoreError::new(
                StoreErrorKind::BadRequest,
                format!(
                    "a scan of `{table}` cannot continue after `{}` in key column `{}` ({})",
                    v.render(),
                    column.name,
                    column.ftype
                ),
            ));
        }
    }
    Ok(text)
}

fn page_sql(
    schema: &str,
    layout: &OnlineLayout,
    key_cols: &[&OnlineColumn],
    after: bool,
    limit: usize,
) -> String {
    let names: Vec<String> = layout.columns.iter().map(|c| q(&c.name)).collect();
    let keys: Vec<String> = key_cols.iter().map(|c| q(&c.name)).collect();
    let mut sql = format!(
        "SELECT {} FROM {}",
        names.join(", "),
        qualified(schema, &layout.table)
    );
    if after {
        let params: Vec<String> = key_cols
            .iter()
            .enumerate()
            .map(|(i, c)| format!("${}::text::{}", i + 1, pg_type(c.ftype, false)))
            .collect();
        sql.push_str(&format!(
            " WHERE ({}) > ({})",
            keys.join(", "),
            params.join(", ")
        ));
    }
    sql.push_str(&format!(" ORDER BY {} LIMIT {limit}", keys.join(", ")));
    sql
}

/// At most `limit` rows after the key `after` (see [`crate::OnlineReader::scan_page`]).
pub async fn scan_page(
    conn: &mut Conn,
    schema: &str,
    layout: &OnlineLayout,
    after: Option<&[Value]>,
    limit: usize,
) -> Result<Vec<Vec<Value>>> {
    let table = layout.table.as_str();
    let key_cols = layout
        .primary_keys
        .iter()
        .map(|k| {
            layout.column(k).ok_or_else(|| {
                StoreError::new(
                    StoreErrorKind::Database,
                    format!("the layout of `{table}` lacks its key column `{k}`"),
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut texts = Vec::new();
    if let Some(after) = after {
        if after.len() != key_cols.len() {
            return Err(StoreError::new(
                StoreErrorKind::BadRequest,
                format!(
                    "a scan of `{table}` continues after a key of {} values, but the table has {} key columns",
                    after.len(),
                    key_cols.len()
                ),
            ));
        }
        for (c, v) in key_cols.iter().zip(after) {
            texts.push(key_text(table, c, v)?);
        }
    }
    let sql = page_sql(schema, layout, &key_cols, after.is_some(), limit.max(1));
    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = texts
        .iter()
        .map(|t| t as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    let ctx = |e: &tokio_postgres::Error| {
        if e.code() == Some(&SqlState::UNDEFINED_TABLE) {
            missing_table(table)
        } else {
            super::error::map(&format!("reading the rows of `{table}`"), e)
        }
    };
    let stmt = conn.prepared(&sql).await.map_err(|e| ctx(&e))?;
    let rows = match conn.client.query(&stmt, &params).await {
        Ok(rows) => rows,
        Err(e) => {
            // A table replaced since the statement was prepared invalidates it.
            conn.statements.remove(&sql);
            return Err(ctx(&e));
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut values = Vec::with_capacity(layout.columns.len());
        for (j, c) in layout.columns.iter().enumerate() {
            values.push(decode(table, c, row.try_get(j).map_err(|e| ctx(&e))?)?);
        }
        out.push(values);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_continue_after_the_key_as_a_row_value_with_typed_parameters() {
        let col = |n: &str, ftype| OnlineColumn {
            name: n.to_string(),
            ftype,
        };
        let layout = OnlineLayout {
            table: "t".into(),
            columns: vec![
                col("a", FeatureType::String),
                col("d", FeatureType::Date),
                col("v", FeatureType::Double),
            ],
            primary_keys: vec!["a".into(), "d".into()],
            timestamp_key: None,
        };
        let keys = [&layout.columns[0], &layout.columns[1]];
        assert_eq!(
            page_sql("s", &layout, &keys, true, 10),
            r#"SELECT "a", "d", "v" FROM "s"."t" WHERE ("a", "d") > ($1::text::text, $2::text::date) ORDER BY "a", "d" LIMIT 10"#
        );
    }
}
