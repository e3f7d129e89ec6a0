//! Backend-independent checks run before anything is written: every value must be one that every
//! online store can hold, so a publish either writes everything or nothing, and every backend ends
//! up with the same data.
//!
//! Rejected (as [`StoreErrorKind::InvalidData`], naming the column and the row's primary key):
//! NaN and ±infinity in float columns; NULL in a primary-key column; string primary keys longer
//! than [`MAX_STRING_KEY_CHARS`] characters; the same primary key twice (across all batches);
//! dates and timestamps outside MySQL's range (years 1000 to 9999); batches that lack a layout
//! column or hold it with another type.

use arrow::array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use fstore_core::types::MAX_STRING_KEY_CHARS;
use fstore_core::value::days_from_civil;
use fstore_core::{FeatureType, Value};

use crate::arrow_values::{Col, describe_key, prepare_columns_with};
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::OnlineLayout;

/// First and last day online stores accept: MySQL `DATE`/`DATETIME` hold years 1000 to 9999.
fn day_bounds() -> (i64, i64) {
    (days_from_civil(1000, 1, 1), days_from_civil(9999, 12, 31))
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

fn invalid(message: String) -> StoreError {
    StoreError::new(StoreErrorKind::InvalidData, message)
}

/// Checks `batches` against `layout` before any statement runs. See the module docs.
pub fn validate_batches(layout: &OnlineLayout, batches: &[RecordBatch]) -> Result<()> {
    let key_idx: Vec<usize> = layout
        .primary_keys
        .iter()
        .map(|k| {
            layout
                .columns
                .iter()
                .position(|c| &c.name == k)
                .ok_or_else(|| invalid(format!("primary key `{k}` is not a published column")))
        })
        .collect::<Result<_>>()?;

    let mut prepared: Vec<Vec<ArrayRef>> = Vec::with_capacity(batches.len());
    for batch in batches {
        prepared.push(prepare_columns_with(layout, batch, false)?);
    }

    let mut offset = 0usize;
    let mut key_rows = Vec::with_capacity(batches.len());
    let sort_fields: Vec<SortField> = match prepared.first() {
        Some(first) => key_idx
            .iter()
            .map(|&i| SortField::new(first[i].data_type().clone()))
            .collect(),
        None => return Ok(()),
    };
    let converter = RowConverter::new(sort_fields)
        .map_err(|e| invalid(format!("cannot compare primary keys: {e}")))?;

    for arrays in &prepared {
        let cols: Vec<Option<Col<'_>>> = layout
            .columns
            .iter()
            .zip(arrays)
            .map(|(c, a)| match c.ftype {
                FeatureType::Json => Ok(None),
                t => Col::new(&c.name, a, t).map(Some),
            })
            .collect::<Result<_>>()?;
        let keys: Vec<(&str, Col<'_>)> = key_idx
            .iter()
            .filter_map(|&i| cols[i].map(|c| (layout.columns[i].name.as_str(), c)))
            .collect();
        let key_of = |row: usize| describe_key(&keys, row);

        for (i, (column, col)) in layout.columns.iter().zip(&cols).enumerate() {
            let Some(col) = col else { continue };
            let name = &column.name;
            if key_idx.contains(&i) {
                check_key(name, *col, &key_of, offset)?;
            }
            check_values(name, *col, &key_of)?;
        }

        let key_arrays: Vec<ArrayRef> = key_idx.iter().map(|&i| arrays[i].clone()).collect();
        let rows = converter
            .convert_columns(&key_arrays)
            .map_err(|e| invalid(format!("cannot compare primary keys: {e}")))?;
        key_rows.push((rows, keys.iter().map(|(n, c)| (*n, *c)).collect::<Vec<_>>()));
        offset += arrays.first().map_or(0, |a| a.len());
    }

    // Duplicate keys: the encoded keys of all rows, compared as bytes. Published data usually
    // comes sorted by key, which a linear scan confirms without hashing or sorting.
    let mut all: Vec<(&[u8], u32, u32)> =
        Vec::with_capacity(key_rows.iter().map(|(r, _)| r.num_rows()).sum());
    for (b, (rows, _)) in key_rows.iter().enumerate() {
        all.extend(
            rows.iter()
                .enumerate()
                .map(|(r, k)| (k.data(), b as u32, r as u32)),
        );
    }
    if !all.windows(2).all(|w| w[0].0 < w[1].0) {
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        if let Some(w) = all.windows(2).find(|w| w[0].0 == w[1].0) {
            let (_, b, r) = w[1];
            return Err(invalid(format!(
                "primary key {} occurs more than once in the data being published; an online table holds one row per primary key — deduplicate the rows (time-series tables: keep the latest row per key)",
                describe_key(&key_rows[b as usize].1, r as usize)
            )));
        }
    }
    Ok(())
}

fn check_key(
    name: &str,
    col: Col<'_>,
    key_of: &dyn Fn(usize) -> String,
    offset: usize,
) -> Result<()> {
    let array = col.array();
    if array.null_count() > 0 {
        let row = (0..array.len()).find(|&r| array.is_null(r)).unwrap_or(0);
        return Err(invalid(format!(
            "primary key column `{name}` holds NULL (row {} of the data, key {}); primary keys cannot be NULL online — fix or filter these rows",
            offset + row + 1,
            key_of(row)
        )));
    }
    let long = |chars: usize, row: usize| {
        invalid(format!(
            "primary key column `{name}` holds a value of {chars} characters (limit {MAX_STRING_KEY_CHARS}) for key {}; online string keys are VARCHAR({MAX_STRING_KEY_CHARS}) — shorten or filter these rows",
            key_of(row)
        ))
    };
    let check_str = |row: usize, s: &str| -> Result<()> {
        // A string of at most N bytes has at most N characters: count only long ones.
        if s.len() > MAX_STRING_KEY_CHARS {
            let chars = s.chars().count();
            if chars > MAX_STRING_KEY_CHARS {
                return Err(long(chars, row));
            }
        }
        Ok(())
    };
    match col {
        Col::Str(a) => {
            let offsets = a.value_offsets();
            for row in 0..a.len() {
                if (offsets[row + 1] - offsets[row]) as usize > MAX_STRING_KEY_CHARS {
                    check_str(row, a.value(row))?;
                }
            }
        }
        Col::LargeStr(a) => {
            for row in 0..a.len() {
                check_str(row, a.value(row))?;
            }
        }
        Col::StrView(a) => {
            for row in 0..a.len() {
                check_str(row, a.value(row))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Position of the first non-null value outside `lo..=hi`.
fn first_outside<T>(a: &PrimitiveArray<T>, lo: i64, hi: i64) -> Option<usize>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i64>,
{
    let values = a.values();
    let mut start = 0;
    while start < values.len() {
        let pos = values[start..]
            .iter()
            .position(|v| {
                let v: i64 = (*v).into();
                v < lo || v > hi
            })
            .map(|p| p + start)?;
        if a.is_valid(pos) {
            return Some(pos);
        }
        start = pos + 1;
    }
    None
}

fn check_values(name: &str, col: Col<'_>, key_of: &dyn Fn(usize) -> String) -> Result<()> {
    let not_finite = |row: usize, what: &str| {
        invalid(format!(
            "column `{name}` holds {what} for key {}; MySQL cannot store NaN or infinity — fix or filter these rows",
            key_of(row)
        ))
    };
    let float_what = |v: f64| {
        if v.is_nan() {
            "NaN"
        } else if v > 0.0 {
            "infinity"
        } else {
            "-infinity"
        }
    };
    macro_rules! floats {
        ($a:expr) => {{
            let a = $a;
            let values = a.values();
            let mut start = 0;
            while start < values.len() {
                let Some(pos) = values[start..].iter().position(|v| !v.is_finite()) else {
                    break;
                };
                let pos = pos + start;
                if a.is_valid(pos) {
                    return Err(not_finite(pos, float_what(values[pos] as f64)));
                }
                start = pos + 1;
            }
        }};
    }
    let (lo_day, hi_day) = day_bounds();
    let out_of_range = |row: usize, shown: Value, what: &str| {
        invalid(format!(
            "column `{name}` holds {} for key {}; online stores hold {what} from year 1000 to 9999 (MySQL's range) — fix or filter these rows",
            shown.render(),
            key_of(row)
        ))
    };
    let (lo_us, hi_us) = (lo_day * MICROS_PER_DAY, (hi_day + 1) * MICROS_PER_DAY - 1);
    let ts = |row: usize| {
        let shown = match col.cell(row) {
            crate::arrow_values::Cell::Timestamp(us) => Value::Timestamp(us),
            other => other.to_value(),
        };
        out_of_range(row, shown, "timestamps")
    };
    match col {
        Col::F32(a) => floats!(a),
        Col::F64(a) => floats!(a),
        Col::Date32(a) => {
            if let Some(row) = first_outside(a, lo_day, hi_day) {
                return Err(out_of_range(row, Value::Date(a.value(row)), "dates"));
            }
        }
        Col::Date64(a) => {
            if let Some(row) = first_outside(a, lo_day * 86_400_000, (hi_day + 1) * 86_400_000 - 1)
            {
                let days = a.value(row).div_euclid(86_400_000);
                let shown = i32::try_from(days).map_or(Value::Int(days), Value::Date);
                return Err(out_of_range(row, shown, "dates"));
            }
        }
        Col::TsS(a) => {
            let lo = lo_us.div_euclid(1_000_000) + i64::from(lo_us.rem_euclid(1_000_000) != 0);
            if let Some(row) = first_outside(a, lo, hi_us.div_euclid(1_000_000)) {
                return Err(ts(row));
            }
        }
        Col::TsMs(a) => {
            let lo = lo_us.div_euclid(1_000) + i64::from(lo_us.rem_euclid(1_000) != 0);
            if let Some(row) = first_outside(a, lo, hi_us.div_euclid(1_000)) {
                return Err(ts(row));
            }
        }
        Col::TsUs(a) => {
            if let Some(row) = first_outside(a, lo_us, hi_us) {
                return Err(ts(row));
            }
        }
        // Nanosecond timestamps span 1677..2262: always inside the range.
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use fstore_core::TableSpec;

    use super::*;

    fn batch(ids: Vec<Option<i64>>, ages: Vec<Option<f64>>) -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("PassengerId", DataType::Int64, true),
            Field::new("Age", DataType::Float64, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(Float64Array::from(ages)),
            ],
        )
        .unwrap()
    }

    fn layout_of(b: &RecordBatch, keys: &[&str]) -> OnlineLayout {
        let spec = TableSpec::new(keys.iter().map(|k| k.to_string()).collect(), None).unwrap();
        OnlineLayout::new("t", &b.schema(), &spec).unwrap()
    }

    fn err(layout: &OnlineLayout, batches: &[RecordBatch]) -> String {
        let e = validate_batches(layout, batches).unwrap_err();
        assert_eq!(e.kind, StoreErrorKind::InvalidData);
        e.message
    }

    #[test]
    fn accepts_clean_data() {
        let b = batch(vec![Some(1), Some(2)], vec![Some(1.0), None]);
        validate_batches(&layout_of(&b, &["PassengerId"]), &[b]).unwrap();
    }

    #[test]
    fn rejects_nan_and_infinity_naming_column_and_key() {
        let b = batch(vec![Some(1), Some(7)], vec![Some(1.0), Some(f64::NAN)]);
        let l = layout_of(&b, &["PassengerId"]);
        assert_eq!(
            err(&l, &[b]),
            "column `Age` holds NaN for key PassengerId=7; MySQL cannot store NaN or infinity — fix or filter these rows"
        );
        let b = batch(vec![Some(3)], vec![Some(f64::NEG_INFINITY)]);
        assert!(err(&l, &[b]).contains("holds -infinity for key PassengerId=3"));
    }

    #[test]
    fn nan_behind_a_null_is_ignored() {
        let ids = Int64Array::from(vec![1, 2]);
        let ages = Float64Array::new(vec![f64::NAN, 1.0].into(), Some(vec![false, true].into()));
        let b = RecordBatch::try_from_iter([
            ("PassengerId", Arc::new(ids) as ArrayRef),
            ("Age", Arc::new(ages) as ArrayRef),
        ])
        .unwrap();
        validate_batches(&layout_of(&b, &["PassengerId"]), &[b]).unwrap();
    }

    #[test]
    fn rejects_null_keys_and_duplicates_across_batches() {
        let b1 = batch(vec![Some(1), None], vec![None, None]);
        let l = layout_of(&b1, &["PassengerId"]);
        assert!(err(&l, &[b1]).contains("primary key column `PassengerId` holds NULL (row 2"));
        let b1 = batch(vec![Some(1), Some(2)], vec![None, None]);
        let b2 = batch(vec![Some(3), Some(2)], vec![None, None]);
        let m = err(&l, &[b1, b2]);
        assert!(
            m.contains("primary key PassengerId=2 occurs more than once"),
            "{m}"
        );
    }

    #[test]
    fn rejects_long_string_keys_counting_characters() {
        let ok = "é".repeat(100); // 200 bytes, 100 characters
        let bad = "x".repeat(101);
        let mk = |s: &str| {
            RecordBatch::try_from_iter([("name", Arc::new(StringArray::from(vec![s])) as ArrayRef)])
                .unwrap()
        };
        let l = layout_of(&mk(&ok), &["name"]);
        validate_batches(&l, &[mk(&ok)]).unwrap();
        let m = err(&l, &[mk(&bad)]);
        assert!(
            m.contains("`name` holds a value of 101 characters (limit 100)"),
            "{m}"
        );
    }

    #[test]
    fn rejects_timestamps_outside_mysql_range() {
        let ts = TimestampMicrosecondArray::from(vec![0, -40_000_000_000_000_000]);
        let b = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("ts", Arc::new(ts) as ArrayRef),
        ])
        .unwrap();
        let l = layout_of(&b, &["id"]);
        let m = err(&l, &[b]);
        assert!(
            m.contains("column `ts` holds ") && m.contains("for key id=2"),
            "{m}"
        );
    }

    #[test]
    fn rejects_missing_columns() {
        let b = batch(vec![Some(1)], vec![None]);
        let mut l = layout_of(&b, &["PassengerId"]);
        l.columns.push(crate::layout::OnlineColumn {
            name: "Fare".into(),
            ftype: FeatureType::Double,
        });
        assert!(err(&l, &[b]).contains("no column `Fare`"));
        let _ = TimeUnit::Second;
    }

    #[test]
    fn a_million_rows_validate_quickly() {
        let n = 1_000_000i64;
        let b = RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(Int64Array::from_iter_values(0..n)) as ArrayRef,
            ),
            (
                "name",
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("k{i}")),
                )) as ArrayRef,
            ),
            (
                "x",
                Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64))) as ArrayRef,
            ),
        ])
        .unwrap();
        let l = layout_of(&b, &["id", "name"]);
        let start = std::time::Instant::now();
        validate_batches(&l, &[b]).unwrap();
        let took = start.elapsed();
        // Debug builds are ~10x slower than release; this bound holds for both.
        assert!(took.as_secs_f64() < 5.0, "took {took:?}");
    }
}
