//! The MySQL read path: lookups by primary key (one prepared statement per call, chunked at
//! [`KEYS_PER_STATEMENT`] keys), decoded to [`Value`] by the bookkeeping layout's types.

use crate::lookup_plan::{KeyPlan, bad_request, in_request_order, missing_table, plan};

use fstore_core::ident::quote_mysql;
use fstore_core::value::{days_from_civil, parse_date, parse_timestamp};
use fstore_core::{FeatureType, Value};
use mysql_async::Conn;
use mysql_async::Value as MyValue;
use mysql_async::prelude::Queryable;

use super::ddl::{self, quoted_list};
use super::error::{Target, server_code};
use crate::LookupResult;
use crate::arrow_values::{f32_to_f64_shortest, parse_decimal, write_decimal};
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::{OnlineColumn, OnlineLayout};

/// Most keys bound into one lookup statement.
pub const KEYS_PER_STATEMENT: usize = 1000;

/// IN-list sizes we prepare statements for: a request is padded (with its first key repeated) to
/// the next size, so the driver's statement cache holds a handful of statements, not one per size.
const BUCKETS: [usize; 11] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, KEYS_PER_STATEMENT];

/// A key value in the one form both requests and stored rows convert to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum KeyAtom {
    Int(i64),
    Text(String),
    /// Unscaled decimal at the column's scale.
    Decimal(i128),
    /// Days since the epoch.
    Date(i64),
}

/// Converts a requested key value to its atom, or explains why it cannot match.
pub(super) fn key_atom(column: &OnlineColumn, v: &Value) -> Result<KeyAtom> {
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
    Ok(match (column.ftype, v) {
        (_, Value::Null) => return Err(wrong()),
        (FeatureType::SmallInt | FeatureType::Int | FeatureType::BigInt, Value::Int(i)) => {
            KeyAtom::Int(*i)
        }
        (FeatureType::Boolean, Value::Bool(b)) => KeyAtom::Int(*b as i64),
        (FeatureType::String, Value::String(s)) => KeyAtom::Text(s.clone()),
        (FeatureType::Date, Value::Date(d)) => KeyAtom::Date(*d as i64),
        (FeatureType::Date, Value::String(s)) => {
            KeyAtom::Date(parse_date(s.trim()).ok_or_else(wrong)? as i64)
        }
        (FeatureType::Timestamp, Value::Timestamp(us)) => KeyAtom::Int(*us),
        (FeatureType::Timestamp, Value::String(s)) => {
            KeyAtom::Int(parse_timestamp(s.trim()).ok_or_else(wrong)?)
        }
        (FeatureType::Decimal { scale, .. }, Value::Decimal(s) | Value::String(s)) => {
            KeyAtom::Decimal(parse_decimal(s, scale).ok_or_else(wrong)?)
        }
        (FeatureType::Decimal { scale, .. }, Value::Int(i)) => {
            KeyAtom::Decimal(parse_decimal(&i.to_string(), scale).ok_or_else(wrong)?)
        }
        _ => return Err(wrong()),
    })
}

/// The bound parameter for `atom` in a column of `ftype`.
pub(super) fn atom_param(ftype: FeatureType, atom: &KeyAtom) -> MyValue {
    match (ftype, atom) {
        (FeatureType::Timestamp, KeyAtom::Int(us)) => super::load::cell_value(
            crate::arrow_values::Cell::Timestamp(*us),
            &mut String::new(),
        ),
        (_, KeyAtom::Int(i)) => MyValue::Int(*i),
        (_, KeyAtom::Text(s)) => MyValue::Bytes(s.as_bytes().to_vec()),
        (FeatureType::Decimal { scale, .. }, KeyAtom::Decimal(v)) => {
            let mut s = String::new();
            write_decimal(*v, scale, &mut s);
            MyValue::Bytes(s.into_bytes())
        }
        (_, KeyAtom::Decimal(v)) => MyValue::Bytes(v.to_string().into_bytes()),
        (_, KeyAtom::Date(d)) => super::load::cell_value(
            crate::arrow_values::Cell::Date(*d as i32),
            &mut String::new(),
        ),
    }
}

/// The atom of a stored key cell, `None` if it cannot be one.
fn stored_atom(column: &OnlineColumn, v: MyValue) -> Option<KeyAtom> {
    match decode_value(column.ftype, v).ok()? {
        Value::Int(i) => Some(KeyAtom::Int(i)),
        Value::Bool(b) => Some(KeyAtom::Int(b as i64)),
        Value::String(s) => Some(KeyAtom::Text(s)),
        Value::Date(d) => Some(KeyAtom::Date(d as i64)),
        Value::Timestamp(us) => Some(KeyAtom::Int(us)),
        Value::Decimal(s) => match column.ftype {
            FeatureType::Decimal { scale, .. } => parse_decimal(&s, scale).map(KeyAtom::Decimal),
            _ => None,
        },
        _ => None,
    }
}

fn micros_of(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, us: u32) -> Option<i64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y as i64, mo as u32, d as u32);
    Some(
        days * 86_400_000_000
            + (h as i64 * 3600 + mi as i64 * 60 + s as i64) * 1_000_000
            + us as i64,
    )
}

/// Decodes one owned cell as `ftype`; gives the cell back when it does not fit. Text and binary
/// cells move into the value (no copy); the rest decode through [`decode_ref`].
fn decode_value(ftype: FeatureType, v: MyValue) -> std::result::Result<Value, MyValue> {
    let utf8 = |b: Vec<u8>, wrap: fn(String) -> Value| {
        String::from_utf8(b)
            .map(wrap)
            .map_err(|e| MyValue::Bytes(e.into_bytes()))
    };
    match (ftype, v) {
        (FeatureType::String, MyValue::Bytes(b)) => utf8(b, Value::String),
        (FeatureType::Json, MyValue::Bytes(b)) => utf8(b, Value::Json),
        (FeatureType::Decimal { .. }, MyValue::Bytes(b)) => utf8(b, Value::Decimal),
        (FeatureType::Binary, MyValue::Bytes(b)) => Ok(Value::Bytes(b)),
        (ftype, v) => decode_ref(ftype, &v).map_err(|()| v),
    }
}

/// Decodes one cell (binary or text protocol) as `ftype`. `Err(())` when it does not fit.
fn decode_ref(ftype: FeatureType, v: &MyValue) -> std::result::Result<Value, ()> {
    let text = |b: &[u8]| std::str::from_utf8(b).map(str::to_string).map_err(|_| ());
    Ok(match (ftype, v) {
        (_, MyValue::NULL) => Value::Null,
        (FeatureType::SmallInt | FeatureType::Int | FeatureType::BigInt, MyValue::Int(i)) => {
            Value::Int(*i)
        }
        (FeatureType::SmallInt | FeatureType::Int | FeatureType::BigInt, MyValue::UInt(u)) => {
            Value::Int(i64::try_from(*u).map_err(|_| ())?)
        }
        (FeatureType::SmallInt | FeatureType::Int | FeatureType::BigInt, MyValue::Bytes(b)) => {
            Value::Int(text(b)?.trim().parse().map_err(|_| ())?)
        }
        (FeatureType::Float | FeatureType::Double, MyValue::Float(f)) => {
            Value::Float(f32_to_f64_shortest(*f))
        }
        (FeatureType::Float | FeatureType::Double, MyValue::Double(f)) => Value::Float(*f),
        (FeatureType::Float | FeatureType::Double, MyValue::Int(i)) => Value::Float(*i as f64),
        (FeatureType::Float | FeatureType::Double, MyValue::Bytes(b)) => {
            Value::Float(text(b)?.trim().parse().map_err(|_| ())?)
        }
        (FeatureType::Boolean, MyValue::Int(i)) => Value::Bool(*i != 0),
        (FeatureType::Boolean, MyValue::UInt(u)) => Value::Bool(*u != 0),
        (FeatureType::Boolean, MyValue::Bytes(b)) => match b.as_slice() {
            b"0" | [0] => Value::Bool(false),
            b"1" | [1] => Value::Bool(true),
            _ => return Err(()),
        },
        (FeatureType::Decimal { .. }, MyValue::Bytes(b)) => Value::Decimal(text(b)?),
        (FeatureType::Decimal { .. }, MyValue::Int(i)) => Value::Decimal(i.to_string()),
        (FeatureType::String, MyValue::Bytes(b)) => Value::String(text(b)?),
        (FeatureType::Json, MyValue::Bytes(b)) => Value::Json(text(b)?),
        (FeatureType::Binary, MyValue::Bytes(b)) => Value::Bytes(b.clone()),
        (FeatureType::Date, MyValue::Date(y, mo, d, ..)) => {
            let us = micros_of(*y, *mo, *d, 0, 0, 0, 0).ok_or(())?;
            Value::Date(i32::try_from(us.div_euclid(86_400_000_000)).map_err(|_| ())?)
        }
        (FeatureType::Date, MyValue::Bytes(b)) => Value::Date(parse_date(&text(b)?).ok_or(())?),
        (FeatureType::Timestamp, MyValue::Date(y, mo, d, h, mi, s, us)) => {
            Value::Timestamp(micros_of(*y, *mo, *d, *h, *mi, *s, *us).ok_or(())?)
        }
        (FeatureType::Timestamp, MyValue::Bytes(b)) => {
            Value::Timestamp(parse_timestamp(&text(b)?).ok_or(())?)
        }
        _ => return Err(()),
    })
}

/// Decodes one stored cell of `column` of `table`.
pub fn decode(table: &str, column: &OnlineColumn, v: MyValue) -> Result<Value> {
    decode_value(column.ftype, v).map_err(|v| {
        StoreError::new(
            StoreErrorKind::Database,
            format!(
                "column `{}` of `{table}` holds a value that is not a {} ({v:?}); republish with --mode overwrite",
                column.name, column.ftype
            ),
        )
    })
}

/// `(k1, k2) IN ((?, ?), …)` or `k IN (?, …)` for `n` keys.
fn where_in(keys: &[String], n: usize) -> String {
    if keys.len() == 1 {
        format!("{} IN ({})", quote_mysql(&keys[0]), vec!["?"; n].join(", "))
    } else {
        let tuple = format!("({})", vec!["?"; keys.len()].join(", "));
        format!("({}) IN ({})", quoted_list(keys), vec![tuple; n].join(", "))
    }
}

/// A lookup that reads the layout from the bookkeeping table first (two round trips).
pub async fn lookup(
    conn: &mut Conn,
    t: &Target,
    table: &str,
    keys: &[Vec<Value>],
    features: Option<&[String]>,
) -> Result<LookupResult> {
    let published = ddl::read_bookkeeping(conn, t, table)
        .await?
        .ok_or_else(|| missing_table(table))?;
    lookup_in(conn, t, &published.layout, keys, features).await
}

/// A lookup with a layout the caller holds: one prepared statement per
/// [`KEYS_PER_STATEMENT`] keys (one round trip for a usual request).
pub async fn lookup_in(
    conn: &mut Conn,
    t: &Target,
    layout: &OnlineLayout,
    keys: &[Vec<Value>],
    features: Option<&[String]>,
) -> Result<LookupResult> {
    let table = layout.table.as_str();
    let KeyPlan {
        selected,
        key_cols,
        order,
        unique,
        slots,
        columns,
    } = plan(layout, table, keys, features, key_atom)?;
    if order.is_empty() {
        return Ok(LookupResult {
            columns,
            rows: Vec::new(),
        });
    }

    let nk = key_cols.len();
    let mut select_cols: Vec<&str> = layout.primary_keys.iter().map(String::as_str).collect();
    select_cols.extend(selected.iter().map(|c| c.name.as_str()));
    let head = format!(
        "SELECT {} FROM {} WHERE ",
        quoted_list(&select_cols),
        quote_mysql(table)
    );
    let ctx = || format!("looking up keys in `{table}`");
    let mut found: Vec<Option<Vec<Value>>> = vec![None; order.len()];
    for chunk in order.chunks(KEYS_PER_STATEMENT) {
        let size = BUCKETS
            .iter()
            .copied()
            .find(|&b| b >= chunk.len())
            .unwrap_or(chunk.len());
        let sql = format!("{head}{}", where_in(&layout.primary_keys, size));
        let mut params = Vec::with_capacity(size * nk);
        for i in 0..size {
            let atoms = chunk.get(i).unwrap_or(&chunk[0]);
            for (c, a) in key_cols.iter().zip(atoms) {
                params.push(atom_param(c.ftype, a));
            }
        }
        let rows: Vec<mysql_async::Row> = match conn.exec(sql, params).await {
            Ok(rows) => rows,
            Err(e) if server_code(&e) == Some(1146) => return Err(missing_table(table)),
            // A publish dropped or renamed a column since the caller read the layout.
            Err(e) if server_code(&e) == Some(1054) => {
                return Err(bad_request(format!(
                    "the layout of `{table}` changed since it was read (a column is gone); read it again"
                )));
            }
            Err(e) => return Err(super::error::map(t, &ctx(), e)),
        };
        for row in rows {
            let raw = row.unwrap_raw();
            if raw.len() != nk + selected.len() {
                continue;
            }
            // The cells are consumed in order: key cells into atoms, then the features' cells
            // move into their values.
            let mut cells = raw.into_iter().map(|v| v.unwrap_or(MyValue::NULL));
            let atoms: Option<Vec<KeyAtom>> = key_cols
                .iter()
                .zip(cells.by_ref())
                .map(|(c, v)| stored_atom(c, v))
                .collect();
            let Some(&slot) = atoms.as_ref().and_then(|a| unique.get(a)) else {
                continue;
            };
            let mut values = Vec::with_capacity(selected.len());
            for (c, v) in selected.iter().zip(cells) {
                values.push(decode(table, c, v)?);
            }
            found[slot] = Some(values);
        }
    }
    Ok(LookupResult {
        columns,
        rows: in_request_order(found, slots),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_binary_protocol_cells_by_type() {
        let d = |t, v: MyValue| decode_value(t, v).unwrap();
        assert_eq!(
            d(
                FeatureType::Timestamp,
                MyValue::Date(1970, 1, 2, 1, 2, 3, 4)
            ),
            Value::Timestamp(86_400_000_000 + 3_723_000_004)
        );
        assert_eq!(
            d(FeatureType::Date, MyValue::Date(2024, 1, 1, 0, 0, 0, 0)),
            Value::Date(19_723)
        );
        assert_eq!(
            d(FeatureType::Float, MyValue::Float(0.1)),
            Value::Float(0.1)
        );
        assert_eq!(d(FeatureType::Boolean, MyValue::Int(1)), Value::Bool(true));
        assert_eq!(
            d(
                FeatureType::Decimal {
                    precision: 5,
                    scale: 2
                },
                MyValue::Bytes(b"-1.50".to_vec())
            ),
            Value::Decimal("-1.50".into())
        );
        assert!(decode_value(FeatureType::Date, MyValue::Date(0, 0, 0, 0, 0, 0, 0)).is_err());
        assert_eq!(
            decode_value(FeatureType::String, MyValue::Bytes(vec![0xff])),
            Err(MyValue::Bytes(vec![0xff])),
            "a cell that does not fit comes back for the message"
        );
        assert_eq!(
            d(FeatureType::Binary, MyValue::Bytes(vec![0xff, 0])),
            Value::Bytes(vec![0xff, 0])
        );
        assert_eq!(
            d(FeatureType::Json, MyValue::Bytes(b"{}".to_vec())),
            Value::Json("{}".into())
        );
    }

    #[test]
    fn in_lists_for_single_and_composite_keys() {
        assert_eq!(where_in(&["id".into()], 2), "`id` IN (?, ?)");
        assert_eq!(
            where_in(&["a".into(), "b".into()], 2),
            "(`a`, `b`) IN ((?, ?), (?, ?))"
        );
    }
}
