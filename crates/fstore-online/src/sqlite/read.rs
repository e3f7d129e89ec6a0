//! The SQLite read path: lookups by primary key, decoded with the bookkeeping layout's types.

use crate::lookup_plan::{KeyPlan, bad_request, in_request_order, missing_table, plan};

use fstore_core::ident::quote_sqlite;
use fstore_core::value::{parse_date, parse_timestamp};
use fstore_core::{FeatureType, Value};
use rusqlite::Connection;
use rusqlite::types::ValueRef;

use super::ddl::{self, quoted_list};
use super::error::Ctx;
use crate::LookupResult;
use crate::arrow_values::{parse_decimal, write_date, write_decimal, write_timestamp};
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::{OnlineColumn, OnlineLayout};

/// Most keys bound into one lookup statement.
const KEYS_PER_STATEMENT: usize = 500;

/// A key value as stored online: integers as integers, everything else as its text encoding.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum KeyAtom {
    Int(i64),
    Text(String),
}

/// Converts a requested key value to its stored form, or explains why it cannot match.
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
    let mut text = String::new();
    Ok(match (column.ftype, v) {
        (_, Value::Null) => return Err(wrong()),
        (FeatureType::SmallInt | FeatureType::Int | FeatureType::BigInt, Value::Int(i)) => {
            KeyAtom::Int(*i)
        }
        (FeatureType::Boolean, Value::Bool(b)) => KeyAtom::Int(*b as i64),
        (FeatureType::String, Value::String(s)) => KeyAtom::Text(s.clone()),
        (FeatureType::Date, Value::Date(d)) => {
            write_date(*d, &mut text);
            KeyAtom::Text(text)
        }
        (FeatureType::Date, Value::String(s)) => {
            write_date(parse_date(s.trim()).ok_or_else(wrong)?, &mut text);
            KeyAtom::Text(text)
        }
        (FeatureType::Timestamp, Value::Timestamp(us)) => {
            write_timestamp(*us, &mut text);
            KeyAtom::Text(text)
        }
        (FeatureType::Timestamp, Value::String(s)) => {
            write_timestamp(parse_timestamp(s.trim()).ok_or_else(wrong)?, &mut text);
            KeyAtom::Text(text)
        }
        (FeatureType::Decimal { scale, .. }, Value::Decimal(s) | Value::String(s)) => {
            write_decimal(parse_decimal(s, scale).ok_or_else(wrong)?, scale, &mut text);
            KeyAtom::Text(text)
        }
        (FeatureType::Decimal { scale, .. }, Value::Int(i)) => {
            write_decimal(
                parse_decimal(&i.to_string(), scale).ok_or_else(wrong)?,
                scale,
                &mut text,
            );
            KeyAtom::Text(text)
        }
        _ => return Err(wrong()),
    })
}

pub(super) fn bind_atom(
    stmt: &mut rusqlite::Statement<'_>,
    idx: usize,
    a: &KeyAtom,
) -> rusqlite::Result<()> {
    match a {
        KeyAtom::Int(i) => stmt.raw_bind_parameter(idx, *i),
        KeyAtom::Text(s) => stmt.raw_bind_parameter(idx, s.as_str()),
    }
}

fn atom_of(v: ValueRef<'_>) -> Option<KeyAtom> {
    match v {
        ValueRef::Integer(i) => Some(KeyAtom::Int(i)),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .map(|s| KeyAtom::Text(s.to_string())),
        _ => None,
    }
}

/// Decodes one stored cell of `column`.
pub fn decode(table: &str, column: &OnlineColumn, v: ValueRef<'_>) -> Result<Value> {
    let corrupt = || {
        StoreError::new(
            StoreErrorKind::Database,
            format!(
                "column `{}` of `{table}` holds a value that is not a {} ({}); republish with --mode overwrite",
                column.name,
                column.ftype,
                v.data_type()
            ),
        )
    };
    let text = |t: &[u8]| {
        std::str::from_utf8(t)
            .map(str::to_string)
            .map_err(|_| corrupt())
    };
    Ok(match (column.ftype, v) {
        (_, ValueRef::Null) => Value::Null,
        (FeatureType::SmallInt | FeatureType::Int | FeatureType::BigInt, ValueRef::Integer(i)) => {
            Value::Int(i)
        }
        (FeatureType::Float | FeatureType::Double, ValueRef::Real(f)) => Value::Float(f),
        (FeatureType::Float | FeatureType::Double, ValueRef::Integer(i)) => Value::Float(i as f64),
        (FeatureType::Boolean, ValueRef::Integer(i)) => Value::Bool(i != 0),
        (FeatureType::Decimal { .. }, ValueRef::Text(t)) => Value::Decimal(text(t)?),
        (FeatureType::String, ValueRef::Text(t)) => Value::String(text(t)?),
        (FeatureType::Json, ValueRef::Text(t)) => Value::Json(text(t)?),
        (FeatureType::Binary, ValueRef::Blob(b)) => Value::Bytes(b.to_vec()),
        (FeatureType::Date, ValueRef::Text(t)) => {
            Value::Date(parse_date(&text(t)?).ok_or_else(corrupt)?)
        }
        (FeatureType::Timestamp, ValueRef::Text(t)) => {
            Value::Timestamp(parse_timestamp(&text(t)?).ok_or_else(corrupt)?)
        }
        _ => return Err(corrupt()),
    })
}

/// A failed lookup statement: the table or a column is gone when the caller's layout is
/// stale (a publish replaced the table since), anything else is a database error.
pub(super) fn stale_or(
    table: &str,
    e: rusqlite::Error,
    ctx: impl FnOnce() -> String,
) -> StoreError {
    let msg = match &e {
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.as_str(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.as_str(),
        _ => "",
    };
    if msg.starts_with("no such table") {
        missing_table(table)
    } else if msg.starts_with("no such column") {
        bad_request(format!(
            "the layout of `{table}` changed since it was read (a column is gone); read it again"
        ))
    } else {
        super::error::map(&ctx(), e)
    }
}

/// A lookup that reads the layout from the bookkeeping table first, in the same read
/// transaction as the rows (so both come from one snapshot).
pub fn lookup(
    conn: &mut Connection,
    table: &str,
    keys: &[Vec<Value>],
    features: Option<&[String]>,
) -> Result<LookupResult> {
    let tx = conn.transaction().ctx("starting a read transaction")?;
    let published = ddl::read_bookkeeping(&tx, table)?.ok_or_else(|| missing_table(table))?;
    if !ddl::table_exists(&tx, table)? {
        return Err(missing_table(table));
    }
    lookup_in(&tx, &published.layout, keys, features)
}

/// A lookup with a layout the caller holds (no bookkeeping read). A stale layout fails with
/// `MissingTable` (the table is gone) or `BadRequest` (a column is gone).
pub fn lookup_in(
    conn: &Connection,
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

    let mut found: Vec<Option<Vec<Value>>> = vec![None; order.len()];
    let nk = key_cols.len();
    let mut select_cols: Vec<&str> = layout.primary_keys.iter().map(String::as_str).collect();
    select_cols.extend(selected.iter().map(|c| c.name.as_str()));
    let head = format!(
        "SELECT {} FROM {} WHERE ",
        quoted_list(&select_cols),
        quote_sqlite(table)
    );
    let ctx = || format!("looking up keys in `{table}`");
    for chunk in order.chunks(KEYS_PER_STATEMENT) {
        let mut sql = head.clone();
        if nk == 1 {
            sql.push_str(&quote_sqlite(&layout.primary_keys[0]));
            sql.push_str(" IN (");
            sql.push_str(&vec!["?"; chunk.len()].join(", "));
            sql.push(')');
        } else {
            let tuple = format!("({})", vec!["?"; nk].join(", "));
            sql.push_str(&format!(
                "({}) IN (VALUES {})",
                quoted_list(&layout.primary_keys),
                vec![tuple; chunk.len()].join(", ")
            ));
        }
        let mut stmt = match conn.prepare(&sql) {
            Ok(stmt) => stmt,
            Err(e) => return Err(stale_or(table, e, ctx)),
        };
        for (i, atoms) in chunk.iter().enumerate() {
            for (j, a) in atoms.iter().enumerate() {
                bind_atom(&mut stmt, i * nk + j + 1, a).with_ctx(ctx)?;
            }
        }
        let mut rows = stmt.raw_query();
        // SQLite re-prepares a statement whose schema changed on its first step, so a stale
        // layout can fail here too.
        while let Some(row) = rows.next().map_err(|e| stale_or(table, e, ctx))? {
            let mut atoms = Vec::with_capacity(nk);
            for j in 0..nk {
                match atom_of(row.get_ref(j).with_ctx(ctx)?) {
                    Some(a) => atoms.push(a),
                    None => break,
                }
            }
            let Some(&slot) = unique.get(&atoms) else {
                continue;
            };
            let mut values = Vec::with_capacity(selected.len());
            for (j, c) in selected.iter().enumerate() {
                values.push(decode(table, c, row.get_ref(nk + j).with_ctx(ctx)?)?);
            }
            found[slot] = Some(values);
        }
    }
    Ok(LookupResult {
        columns,
        rows: in_request_order(found, slots),
    })
}
