//! The backend-neutral half of a lookup: which columns to return, the primary-key columns, and
//! the requested keys converted (by the backend's own `atom` function) and de-duplicated, with
//! each request's slot, so both backends answer in request order with the same messages.

use std::collections::HashMap;
use std::hash::Hash;

use fstore_core::{FeatureType, Value};

use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::{OnlineColumn, OnlineLayout};

pub(crate) fn bad_request(message: String) -> StoreError {
    StoreError::new(StoreErrorKind::BadRequest, message)
}

/// The error for a table that is not published (the same on every backend).
pub fn missing_table(table: &str) -> StoreError {
    StoreError::new(
        StoreErrorKind::MissingTable,
        format!(
            "`{table}` is not published in this store; run `fstore publish <schema>.<table>` to publish it (see `fstore online list` for what is)"
        ),
    )
}

/// Distinct keys → their index. foldhash, not SipHash: the map is hashed once per requested key
/// and once per returned row, on the serving path (SipHash was 4% of a 100-key lookup's
/// instructions); its per-process random seed keeps request keys from choosing collisions, and
/// `fstore serve` caps the keys of a request (`--max-keys`, 1000 by default) anyway.
pub(crate) type KeyIndex<A> = HashMap<Vec<A>, usize, foldhash::fast::RandomState>;

/// A planned lookup.
pub(crate) struct KeyPlan<'a, A> {
    /// Columns to return, in order.
    pub selected: Vec<&'a OnlineColumn>,
    /// The layout's primary-key columns, in key order.
    pub key_cols: Vec<&'a OnlineColumn>,
    /// Distinct keys, in first-request order.
    pub order: Vec<Vec<A>>,
    /// Each distinct key's index in `order` (to place the rows the database returns).
    pub unique: KeyIndex<A>,
    /// `slots[i]` is the index in `order` of request `i`.
    pub slots: Vec<usize>,
    /// `selected` as names and types, for the result.
    pub columns: Vec<(String, FeatureType)>,
}

/// Resolves the requested feature names (all non-key columns when `None`).
pub(crate) fn select_features<'a>(
    layout: &'a OnlineLayout,
    features: Option<&[String]>,
) -> Result<Vec<&'a OnlineColumn>> {
    match features {
        None => Ok(layout.value_columns().collect()),
        Some(names) => names
            .iter()
            .map(|n| {
                layout.column(n).ok_or_else(|| {
                    let known: Vec<&str> = layout.columns.iter().map(|c| c.name.as_str()).collect();
                    bad_request(format!(
                        "unknown feature `{n}` in `{}`; its columns are: {}",
                        layout.table,
                        known.join(", ")
                    ))
                })
            })
            .collect(),
    }
}

/// Plans a lookup of `keys` in `layout`, converting each key value with `atom`.
pub(crate) fn plan<'a, A: Clone + Eq + Hash>(
    layout: &'a OnlineLayout,
    table: &str,
    keys: &[Vec<Value>],
    features: Option<&[String]>,
    atom: impl Fn(&OnlineColumn, &Value) -> Result<A>,
) -> Result<KeyPlan<'a, A>> {
    let selected = select_features(layout, features)?;
    let key_cols: Vec<&OnlineColumn> = layout
        .primary_keys
        .iter()
        .map(|k| {
            layout.column(k).ok_or_else(|| {
                StoreError::new(
                    StoreErrorKind::Database,
                    format!("bookkeeping row for `{table}` lacks key column `{k}`; republish with --mode overwrite"),
                )
            })
        })
        .collect::<Result<_>>()?;

    let mut unique: KeyIndex<A> =
        HashMap::with_capacity_and_hasher(keys.len(), foldhash::fast::RandomState::default());
    let mut order: Vec<Vec<A>> = Vec::new();
    let mut slots = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        if key.len() != key_cols.len() {
            return Err(bad_request(format!(
                "key #{} has {} value(s) but `{table}` has {} primary key(s) ({})",
                i + 1,
                key.len(),
                key_cols.len(),
                layout.primary_keys.join(", ")
            )));
        }
        let atoms = key_cols
            .iter()
            .zip(key)
            .map(|(c, v)| atom(c, v))
            .collect::<Result<Vec<_>>>()?;
        let next = order.len();
        let slot = *unique.entry(atoms.clone()).or_insert(next);
        if slot == next {
            order.push(atoms);
        }
        slots.push(slot);
    }
    let columns = selected.iter().map(|c| (c.name.clone(), c.ftype)).collect();
    Ok(KeyPlan {
        selected,
        key_cols,
        order,
        unique,
        slots,
        columns,
    })
}

/// The rows found per distinct key (`found`, indexed like [`KeyPlan::order`]) in request order.
/// Each key's last request takes its row; only the requests that repeat a key get a copy, so a
/// lookup of distinct keys copies no value.
pub(crate) fn in_request_order(
    mut found: Vec<Option<Vec<Value>>>,
    slots: Vec<usize>,
) -> Vec<Option<Vec<Value>>> {
    let mut uses = vec![0u32; found.len()];
    for &s in &slots {
        uses[s] += 1;
    }
    slots
        .into_iter()
        .map(|s| {
            uses[s] -= 1;
            if uses[s] == 0 {
                found[s].take()
            } else {
                found[s].clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_request_order_with_repeats() {
        let row = |i: i64| Some(vec![Value::Int(i)]);
        let found = vec![row(10), None, row(30)];
        // Keys 0 and 2 are requested twice; key 1 was not found.
        let slots = vec![2, 0, 1, 2, 0];
        assert_eq!(
            in_request_order(found, slots),
            vec![row(30), row(10), None, row(30), row(10)]
        );
    }
}
