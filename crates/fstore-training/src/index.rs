//! The per-table lookup index behind exact and as-of joins.
//!
//! A feature table's rows (only the key, timestamp and requested feature columns) are held once in
//! memory as one Arrow batch. Keys are encoded with Arrow's row format, so any mix of key types
//! hashes and compares as plain bytes, and every distinct key gets a dense group number. Rows are
//! then counting-sorted by group and, inside a group, stably by timestamp: a CSR layout
//! (`offsets`, `ts`, `rows`) where one key's history is one contiguous, time-ordered slice.
//!
//! Probing a spine batch encodes its keys the same way, finds the group with one hash look-up and
//! binary-searches the slice for the last `feature_ts <= spine_ts` (then checks the lookback).
//! The result is one take-index per spine row (NULL: no match), so feature columns are gathered
//! with Arrow's vectorised `take` and the spine's row order and duplicates are kept as they are.
//!
//! Rows with a NULL key or a NULL timestamp never match (SQL equality semantics). Should a table
//! hold duplicate (key, timestamp) rows — fstore rejects them on write, but a table registered from
//! elsewhere might — the one read last wins, as it does for duplicate keys of an exact join.

use arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, PrimitiveArray, RecordBatch, UInt32Array,
};
use arrow::buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Int64Type, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use arrow::row::{RowConverter, SortField};
use std::collections::HashMap;

use crate::error::{Error, Result};

type KeyMap = HashMap<Box<[u8]>, u32, foldhash::fast::FixedState>;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// One feature table's rows, grouped by key and ordered by time within each key.
pub(crate) struct Index {
    converter: RowConverter,
    key_types: Vec<DataType>,
    groups: KeyMap,
    /// `offsets[g]..offsets[g + 1]` are group `g`'s positions in `ts` and `rows`.
    offsets: Vec<u32>,
    /// Timestamps in microseconds, ascending within each group; empty without a timestamp key.
    ts: Vec<i64>,
    /// The row of `features` at each position.
    rows: Vec<u32>,
    /// The feature columns (and keys), one batch.
    pub features: RecordBatch,
}

impl Index {
    /// Indexes `features` by the columns `key_columns` and, for a time-series table, the column
    /// `ts_column` (a timestamp or date).
    pub fn build(
        features: RecordBatch,
        key_columns: &[usize],
        ts_column: Option<usize>,
    ) -> Result<Self> {
        let n = features.num_rows();
        if u32::try_from(n).is_err() {
            return Err(Error::BadRequest(format!(
                "a feature table of {n} rows is too large to index in one piece (at most {} rows)",
                u32::MAX
            )));
        }
        let keys: Vec<ArrayRef> = key_columns
            .iter()
            .map(|&i| features.column(i).clone())
            .collect();
        let key_types: Vec<DataType> = keys.iter().map(|k| k.data_type().clone()).collect();
        let converter = RowConverter::new(key_types.iter().cloned().map(SortField::new).collect())
            .map_err(Error::arrow("preparing the key index"))?;
        let encoded = converter
            .convert_columns(&keys)
            .map_err(Error::arrow("encoding feature keys"))?;
        let valid = combined_validity(&keys);
        let ts = ts_column
            .map(|i| to_micros(features.column(i).as_ref()))
            .transpose()?;

        const SKIP: u32 = u32::MAX;
        let mut groups = KeyMap::with_capacity_and_hasher(n / 4 + 1, Default::default());
        let mut group_of: Vec<u32> = Vec::with_capacity(n);
        for i in 0..n {
            let usable = valid.as_ref().is_none_or(|v| v.is_valid(i))
                && ts.as_ref().is_none_or(|t| t.is_valid(i));
            if !usable {
                group_of.push(SKIP);
                continue;
            }
            let bytes = encoded.row(i);
            let bytes = bytes.as_ref();
            let g = match groups.get(bytes) {
                Some(&g) => g,
                None => {
                    let g = groups.len() as u32;
                    groups.insert(bytes.into(), g);
                    g
                }
            };
            group_of.push(g);
        }

        let mut offsets = vec![0u32; groups.len() + 1];
        for &g in group_of.iter().filter(|&&g| g != SKIP) {
            offsets[g as usize + 1] += 1;
        }
        for g in 1..offsets.len() {
            offsets[g] += offsets[g - 1];
        }
        let mut cursor = offsets.clone();
        let mut rows = vec![0u32; offsets[groups.len()] as usize];
        for (i, &g) in group_of.iter().enumerate() {
            if g != SKIP {
                let c = &mut cursor[g as usize];
                rows[*c as usize] = i as u32;
                *c += 1;
            }
        }
        let ts = match &ts {
            Some(t) => {
                let values = t.values();
                for w in offsets.windows(2) {
                    let slice = &mut rows[w[0] as usize..w[1] as usize];
                    if slice.len() > 1 {
                        // Stable: equal timestamps keep read order, and the last one read wins.
                        slice.sort_by_key(|&r| values[r as usize]);
                    }
                }
                rows.iter().map(|&r| values[r as usize]).collect()
            }
            None => Vec::new(),
        };
        Ok(Self {
            converter,
            key_types,
            groups,
            offsets,
            ts,
            rows,
            features,
        })
    }

    /// For each spine row, the matching row of [`Index::features`] or NULL. `spine_ts` (in
    /// microseconds) is given for as-of joins; `lookback` (microseconds) bounds how old a match may be.
    pub fn probe(
        &self,
        keys: &[ArrayRef],
        spine_ts: Option<&Int64Array>,
        lookback: Option<i64>,
    ) -> Result<UInt32Array> {
        let n = keys.first().map_or(0, |k| k.len());
        let keys = cast_keys(keys, &self.key_types)?;
        let encoded = self
            .converter
            .convert_columns(&keys)
            .map_err(Error::arrow("encoding spine keys"))?;
        let valid = combined_validity(&keys);
        let mut values = vec![0u32; n];
        let mut matched = vec![false; n];
        for i in 0..n {
            if valid.as_ref().is_some_and(|v| v.is_null(i)) {
                continue;
            }
            let Some(&g) = self.groups.get(encoded.row(i).as_ref()) else {
                continue;
            };
            let (start, end) = (
                self.offsets[g as usize] as usize,
                self.offsets[g as usize + 1] as usize,
            );
            let pos = match spine_ts {
                None => end - 1,
                Some(st) => {
                    if st.is_null(i) {
                        continue;
                    }
                    let t = st.value(i);
                    let before = self.ts[start..end].partition_point(|&x| x <= t);
                    if before == 0 {
                        continue;
                    }
                    let pos = start + before - 1;
                    if let Some(lb) = lookback
                        && i128::from(t) - i128::from(self.ts[pos]) > i128::from(lb)
                    {
                        continue;
                    }
                    pos
                }
            };
            values[i] = self.rows[pos];
            matched[i] = true;
        }
        let nulls = NullBuffer::new(BooleanBuffer::from(matched));
        Ok(PrimitiveArray::new(ScalarBuffer::from(values), Some(nulls)))
    }
}

/// Spine keys in the table's key types (a no-op when they already are).
pub(crate) fn cast_keys(keys: &[ArrayRef], types: &[DataType]) -> Result<Vec<ArrayRef>> {
    keys.iter()
        .zip(types)
        .map(|(k, t)| {
            if k.data_type() == t {
                Ok(k.clone())
            } else {
                cast(k, t).map_err(Error::arrow(
                    "converting spine keys to the table's key types",
                ))
            }
        })
        .collect()
}

/// Valid where every key column is non-NULL; `None` when no column has NULLs.
fn combined_validity(keys: &[ArrayRef]) -> Option<NullBuffer> {
    keys.iter().fold(None, |acc: Option<NullBuffer>, k| {
        NullBuffer::union(acc.as_ref(), k.logical_nulls().as_ref())
    })
}

/// Is `dt` a type [`to_micros`] accepts?
pub(crate) fn is_temporal(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64
    )
}

/// A timestamp or date column as microseconds since the Unix epoch (dates at midnight), rounded
/// down for nanosecond timestamps. Time zones do not matter: Arrow stores instants in UTC.
pub(crate) fn to_micros(a: &dyn Array) -> Result<Int64Array> {
    let out: Int64Array = match a.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => a
            .as_primitive::<TimestampSecondType>()
            .unary(|v| v.saturating_mul(1_000_000)),
        DataType::Timestamp(TimeUnit::Millisecond, _) => a
            .as_primitive::<TimestampMillisecondType>()
            .unary(|v| v.saturating_mul(1_000)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            a.as_primitive::<TimestampMicrosecondType>().unary(|v| v)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => a
            .as_primitive::<TimestampNanosecondType>()
            .unary(|v| v.div_euclid(1_000)),
        DataType::Date32 => a
            .as_primitive::<Date32Type>()
            .unary(|d| i64::from(d) * MICROS_PER_DAY),
        DataType::Date64 => a
            .as_primitive::<Date64Type>()
            .unary(|v| v.saturating_mul(1_000)),
        DataType::Int64 => a.as_primitive::<Int64Type>().clone(),
        other => {
            return Err(Error::Internal(format!(
                "a timestamp column of type {other} reached the join"
            )));
        }
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn index() -> Index {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![
                    Some("a"),
                    Some("b"),
                    Some("a"),
                    None,
                    Some("a"),
                ])),
                Arc::new(TimestampMicrosecondArray::from(vec![
                    Some(30),
                    Some(5),
                    Some(10),
                    Some(1),
                    None,
                ])),
            ],
        )
        .unwrap();
        Index::build(batch, &[0], Some(1)).unwrap()
    }

    #[test]
    fn as_of_probe() {
        let idx = index();
        let keys: Vec<ArrayRef> = vec![Arc::new(StringArray::from(vec![
            Some("a"),
            Some("a"),
            Some("a"),
            Some("a"),
            Some("b"),
            None,
            Some("z"),
            Some("a"),
        ]))];
        let ts = Int64Array::from(vec![
            Some(9),
            Some(10),
            Some(29),
            Some(100),
            Some(5),
            Some(50),
            Some(50),
            None,
        ]);
        let got = idx.probe(&keys, Some(&ts), None).unwrap();
        let got: Vec<Option<u32>> = got.iter().collect();
        assert_eq!(
            got,
            vec![None, Some(2), Some(2), Some(0), Some(1), None, None, None]
        );
        let got = idx.probe(&keys, Some(&ts), Some(70)).unwrap();
        let got: Vec<Option<u32>> = got.iter().collect();
        assert_eq!(
            got,
            vec![None, Some(2), Some(2), Some(0), Some(1), None, None, None]
        );
        let got = idx.probe(&keys, Some(&ts), Some(69)).unwrap();
        assert!(got.is_null(3));
    }

    #[test]
    fn micros_of_dates_and_nanos() {
        let d = arrow::array::Date32Array::from(vec![1, -1]);
        assert_eq!(
            to_micros(&d).unwrap().values(),
            &[MICROS_PER_DAY, -MICROS_PER_DAY]
        );
        let n = arrow::array::TimestampNanosecondArray::from(vec![1_999, -1]);
        assert_eq!(to_micros(&n).unwrap().values(), &[1, -1]);
    }
}
