//! The PostgreSQL read path: lookups by primary key with prepared statements cached per
//! connection, all keys of a request in one statement (`unnest` of one array per key column
//! `WITH ORDINALITY`, joined to the table on its primary key), and values decoded from the
//! binary result format by the layout's types.

use fstore_core::value::{parse_date, parse_timestamp};
use fstore_core::{FeatureType, Value};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, Type};

use super::conn::Conn;
use super::copy::{PG_EPOCH_DAYS, PG_EPOCH_MICROS, decode_numeric, pg_type};
use super::ddl::{q, qualified};
use crate::LookupResult;
use crate::arrow_values::{
    f32_to_f64_shortest, parse_decimal, write_date, write_decimal, write_timestamp,
};
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::{OnlineColumn, OnlineLayout};
use crate::lookup_plan::{KeyPlan, bad_request, in_request_order, missing_table, plan};

/// A value's raw binary encoding, whatever its type (decoded by the layout's type).
pub struct Raw<'a>(pub &'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A requested key value as PostgreSQL text input for the key column's type (cast in SQL), or
/// why it cannot match.
fn key_text(column: &OnlineColumn, v: &Value) -> Result<String> {
    let wrong = || {
        bad_request(format!(
            "key column `{}` is {}, but the lookup gave {}",
            column.name,
            column.ftype,
            match v {
                Value::Null => "null".to_string(),
                other => format!("`{}`", other.render()),
            }
        ))
    };
    let mut text = String::new();
    match (column.ftype, v) {
        (_, Value::Null) => return Err(wrong()),
        (FeatureType::SmallInt | FeatureType::Int | FeatureType::BigInt, Value::Int(i)) => {
            text = i.to_string()
        }
        (FeatureType::Boolean, Value::Bool(b)) => text = b.to_string(),
        (FeatureType::String, Value::String(s)) => {
            if s.contains('\0') {
                return Err(wrong());
            }
            text = s.clone()
        }
        (FeatureType::Date, Value::Date(d)) => write_date(*d, &mut text),
        (FeatureType::Date, Value::String(s)) => {
            write_date(parse_date(s.trim()).ok_or_else(wrong)?, &mut text)
        }
        (FeatureType::Timestamp, Value::Timestamp(us)) => {
            write_timestamp(*us, &mut text);
            text.push_str("+00");
        }
        (FeatureType::Timestamp, Value::String(s)) => {
            write_timestamp(parse_timestamp(s.trim()).ok_or_else(wrong)?, &mut text);
            text.push_str("+00");
        }
        (FeatureType::Decimal { scale, .. }, Value::Decimal(s) | Value::String(s)) => {
            write_decimal(parse_decimal(s, scale).ok_or_else(wrong)?, scale, &mut text)
        }
        (FeatureType::Decimal { scale, .. }, Value::Int(i)) => write_decimal(
            parse_decimal(&i.to_string(), scale).ok_or_else(wrong)?,
            scale,
            &mut text,
        ),
        _ => return Err(wrong()),
    }
    Ok(text)
}

/// Decodes one binary cell of `column` (None: NULL).
pub fn decode(table: &str, column: &OnlineColumn, raw: Option<Raw<'_>>) -> Result<Value> {
    let Some(Raw(b)) = raw else {
        return Ok(Value::Null);
    };
    let corrupt = || {
        StoreError::new(
            StoreErrorKind::Database,
            format!(
                "column `{}` of `{table}` holds a value that is not a {}; republish with --mode overwrite",
                column.name, column.ftype
            ),
        )
    };
    let text = || {
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| corrupt())
    };
    Ok(match column.ftype {
        FeatureType::SmallInt => {
            Value::Int(i16::from_be_bytes(b.try_into().map_err(|_| corrupt())?).into())
        }
        FeatureType::Int => {
            Value::Int(i32::from_be_bytes(b.try_into().map_err(|_| corrupt())?).into())
        }
        FeatureType::BigInt => Value::Int(i64::from_be_bytes(b.try_into().map_err(|_| corrupt())?)),
        FeatureType::Float => Value::Float(f32_to_f64_shortest(f32::from_be_bytes(
            b.try_into().map_err(|_| corrupt())?,
        ))),
        FeatureType::Double => {
            Value::Float(f64::from_be_bytes(b.try_into().map_err(|_| corrupt())?))
        }
        FeatureType::Decimal { scale, .. } => {
            Value::Decimal(decode_numeric(b, scale).ok_or_else(corrupt)?)
        }
        FeatureType::Boolean => Value::Bool(*b.first().ok_or_else(corrupt)? != 0),
        FeatureType::String => Value::String(text()?),
        FeatureType::Json => Value::Json(text()?),
        FeatureType::Binary => Value::Bytes(b.to_vec()),
        FeatureType::Date => {
            Value::Date(i32::from_be_bytes(b.try_into().map_err(|_| corrupt())?) + PG_EPOCH_DAYS)
        }
        FeatureType::Timestamp => Value::Timestamp(
            i64::from_be_bytes(b.try_into().map_err(|_| corrupt())?) + PG_EPOCH_MICROS,
        ),
    })
}

/// The lookup statement for `layout`: one text array per key column, cast to the key's type.
fn lookup_sql(
    schema: &str,
    layout: &OnlineLayout,
    selected: &[&OnlineColumn],
    key_cols: &[&OnlineColumn],
) -> String {
    let arrays: Vec<String> = key_cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("${}::text[]::{}[]", i + 1, pg_type(c.ftype, false)))
        .collect();
    let names: Vec<String> = (0..key_cols.len()).map(|i| format!("k{i}")).collect();
    let on: Vec<String> = key_cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("t.{} = k.k{i}", q(&c.name)))
        .collect();
    let mut cols = vec!["k.o".to_string()];
    cols.extend(selected.iter().map(|c| format!("t.{}", q(&c.name))));
    format!(
        "SELECT {} FROM unnest({}) WITH ORDINALITY AS k({}, o) JOIN {} AS t ON {}",
        cols.join(", "),
        arrays.join(", "),
        names.join(", "),
        qualified(schema, &layout.table),
        on.join(" AND ")
    )
}

/// A lookup with a layout the caller holds. A stale layout fails with `MissingTable` (the
/// table is gone) or `BadRequest` (a column is gone or changed type).
pub async fn lookup_in(
    conn: &mut Conn,
    schema: &str,
    layout: &OnlineLayout,
    keys: &[Vec<Value>],
    features: Option<&[String]>,
) -> Result<LookupResult> {
    let table = layout.table.as_str();
    let KeyPlan {
        selected,
        key_cols,
        order,
        slots,
        columns,
        ..
    } = plan(layout, table, keys, features, key_text)?;
    if order.is_empty() {
        return Ok(LookupResult {
            columns,
            rows: Vec::new(),
        });
    }
    let sql = lookup_sql(schema, layout, &selected, &key_cols);
    let arrays: Vec<Vec<&str>> = (0..key_cols.len())
        .map(|j| order.iter().map(|k| k[j].as_str()).collect())
        .collect();
    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = arrays
        .iter()
        .map(|a| a as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    let mut retried = false;
    let rows = loop {
        let result = match conn.prepared(&sql).await {
            Ok(stmt) => conn.client.query(&stmt, &params).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(rows) => break rows,
            Err(e) => {
                conn.statements.remove(&sql);
                let code = e.code();
                if code == Some(&SqlState::FEATURE_NOT_SUPPORTED) && !retried {
                    // "cached plan must not change result type": the table was replaced.
                    retried = true;
                    continue;
                }
                return Err(if code == Some(&SqlState::UNDEFINED_TABLE) {
                    missing_table(table)
                } else if code == Some(&SqlState::UNDEFINED_COLUMN)
                    || code == Some(&SqlState::DATATYPE_MISMATCH)
                {
                    bad_request(format!(
                        "the layout of `{table}` changed since it was read (a column is gone or changed); read it again"
                    ))
                } else {
                    super::error::map(&format!("looking up keys in `{table}`"), &e)
                });
            }
        }
    };
    let mut found: Vec<Option<Vec<Value>>> = vec![None; order.len()];
    let ctx =
        |e: tokio_postgres::Error| super::error::map(&format!("reading the rows of `{table}`"), &e);
    for row in rows {
        let o: i64 = row.try_get(0).map_err(ctx)?;
        let Some(slot) = usize::try_from(o - 1).ok().filter(|s| *s < found.len()) else {
            continue;
        };
        let mut values = Vec::with_capacity(selected.len());
        for (j, c) in selected.iter().enumerate() {
            values.push(decode(table, c, row.try_get(j + 1).map_err(ctx)?)?);
        }
        found[slot] = Some(values);
    }
    Ok(LookupResult {
        columns,
        rows: in_request_order(found, slots),
    })
}
