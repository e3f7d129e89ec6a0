//! Request checks and key typing of [`super::Lookups`]: which features a request may name, and
//! the JSON keys of table and vector lookups turned into typed key values by the table's layout
//! (a bad key is a 400 that names it).

use std::collections::{HashMap, HashSet};

use fstore_core::{FeatureType, Value};
use fstore_online::PublishedTable;
use serde_json::{Map, Value as J};

use super::{Fetched, Output, VectorPart};
use crate::error::{ErrorKind, ServeError};
use crate::json::key_value;
use crate::request::{FeatureLookup, shorten};

/// Unknown or repeated features are a 400.
pub(super) fn check_features(
    p: &PublishedTable,
    features: Option<&[String]>,
) -> Result<(), ServeError> {
    let Some(features) = features else {
        return Ok(());
    };
    let mut seen = HashSet::with_capacity(features.len());
    for f in features {
        if p.layout.column(f).is_none() {
            let known: Vec<&str> = p.layout.value_columns().map(|c| c.name.as_str()).collect();
            return Err(ServeError::bad_request(format!(
                "unknown feature `{}` in `{}`; its features are: {}",
                shorten(f),
                p.feature_table,
                known.join(", ")
            )));
        }
        if !seen.insert(f.as_str()) {
            return Err(ServeError::bad_request(format!(
                "feature `{}` is requested twice",
                shorten(f)
            )));
        }
    }
    Ok(())
}

pub(super) fn key_column_type(p: &PublishedTable, pk: &str) -> Result<FeatureType, ServeError> {
    p.layout.column(pk).map(|c| c.ftype).ok_or_else(|| {
        ServeError::server(
            ErrorKind::Internal,
            format!(
                "bookkeeping row for `{}` lacks key column `{pk}`",
                p.layout.table
            ),
        )
    })
}

/// The keys of a table lookup, in primary-key order, typed by the layout.
pub(super) fn table_keys(
    p: &PublishedTable,
    keys: &[Map<String, J>],
) -> Result<Vec<Vec<Value>>, ServeError> {
    let pks = &p.layout.primary_keys;
    let types = pks
        .iter()
        .map(|k| key_column_type(p, k))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(keys.len());
    for (i, obj) in keys.iter().enumerate() {
        if let Some(extra) = obj.keys().find(|k| !p.layout.is_primary_key(k)) {
            return Err(ServeError::bad_request(format!(
                "key #{}: `{}` is not a primary key of `{}`; its primary keys are: {}",
                i + 1,
                shorten(extra),
                p.feature_table,
                pks.join(", ")
            )));
        }
        let mut key = Vec::with_capacity(pks.len());
        for (pk, &ftype) in pks.iter().zip(&types) {
            let j = obj.get(pk).ok_or_else(|| {
                ServeError::bad_request(format!(
                    "key #{} lacks primary key `{pk}` of `{}`",
                    i + 1,
                    p.feature_table
                ))
            })?;
            key.push(key_value(ftype, j).map_err(|m| {
                ServeError::bad_request(format!(
                    "key #{}: primary key `{pk}` is {ftype}: {m}",
                    i + 1
                ))
            })?);
        }
        out.push(key);
    }
    Ok(out)
}

/// For each request row of a vector lookup, the index of its key (`None`: null lookup key).
type Slots = Vec<Option<usize>>;

/// The keys of lookup `j` of a vector lookup: one per row whose lookup key is not null, and for
/// each row the index of its key (`None` for a null lookup key).
pub(super) fn vector_keys(
    p: &PublishedTable,
    j: usize,
    l: &FeatureLookup,
    rows: &[Map<String, J>],
) -> Result<(Vec<Vec<Value>>, Slots), ServeError> {
    let pks = &p.layout.primary_keys;
    if l.lookup_key.len() != pks.len() {
        return Err(ServeError::bad_request(format!(
            "lookup #{} (`{}`): lookup_key has {} column(s) but the table has {} primary key(s) ({}); lookup keys map to primary keys by position",
            j + 1,
            shorten(&l.table),
            l.lookup_key.len(),
            pks.len(),
            pks.join(", ")
        )));
    }
    let types = pks
        .iter()
        .map(|k| key_column_type(p, k))
        .collect::<Result<Vec<_>, _>>()?;
    let mut keys = Vec::with_capacity(rows.len());
    let mut slots = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let mut key = Vec::with_capacity(pks.len());
        let mut null = false;
        for ((lk, pk), &ftype) in l.lookup_key.iter().zip(pks).zip(&types) {
            match row.get(lk) {
                None => {
                    return Err(ServeError::bad_request(format!(
                        "row #{} lacks `{}`, the lookup key of lookup #{} (`{}`)",
                        i + 1,
                        shorten(lk),
                        j + 1,
                        shorten(&l.table)
                    )));
                }
                Some(J::Null) => null = true,
                Some(v) => key.push(key_value(ftype, v).map_err(|m| {
                    ServeError::bad_request(format!(
                        "row #{}: `{}` (primary key `{pk}` of `{}`, {ftype}): {m}",
                        i + 1,
                        shorten(lk),
                        shorten(&l.table)
                    ))
                })?),
            }
        }
        if null {
            slots.push(None);
        } else {
            slots.push(Some(keys.len()));
            keys.push(key);
        }
    }
    Ok((keys, slots))
}

/// Names the outputs of lookup `j` (renames applied) and checks they are unique across lookups.
pub(super) fn vector_part(
    j: usize,
    l: &FeatureLookup,
    f: Fetched<Slots>,
    seen: &mut HashMap<String, usize>,
) -> Result<VectorPart, ServeError> {
    for from in l.rename.keys() {
        if !f.result.columns.iter().any(|(c, _)| c == from) {
            return Err(ServeError::bad_request(format!(
                "lookup #{} (`{}`): rename names `{}`, which is not one of its features",
                j + 1,
                shorten(&l.table),
                shorten(from)
            )));
        }
    }
    let mut outputs = Vec::with_capacity(f.result.columns.len());
    for (feature, ftype) in &f.result.columns {
        let name = l.rename.get(feature).unwrap_or(feature).clone();
        if let Some(prev) = seen.insert(name.clone(), j) {
            return Err(ServeError::bad_request(format!(
                "output `{}` comes from lookup #{} and lookup #{} (`{}`); give one of them another name with \"rename\"",
                shorten(&name),
                prev + 1,
                j + 1,
                shorten(&l.table)
            )));
        }
        outputs.push(Output {
            name,
            feature: feature.clone(),
            ftype: *ftype,
        });
    }
    Ok(VectorPart {
        table: l.table.clone(),
        feature_table: f.published.feature_table.clone(),
        online_table: f.published.layout.table.clone(),
        delta_version: f.published.delta_version,
        outputs,
        slots: f.extra,
        result: f.result,
    })
}
