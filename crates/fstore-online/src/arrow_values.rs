//! Backend-neutral access to Arrow cells, shared by every backend's write path and by
//! [`crate::validate`].
//!
//! A write first calls [`prepare_columns`] once per batch: it picks the layout's columns in layout
//! order, unpacks dictionaries and turns nested columns (lists, maps, structs) into JSON text in
//! Spark's `to_json` form ([`crate::spark_json`]). Then
//! [`Col::new`] downcasts each column once, and [`Col::cell`] reads one cell without allocating.
//! The `write_*` helpers render dates, timestamps and decimals into a reused buffer.

use std::fmt::Write as _;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryViewArray, BooleanArray, Date32Array, Date64Array,
    Decimal128Array, FixedSizeBinaryArray, Float32Array, Float64Array, Int8Array, Int16Array,
    Int32Array, Int64Array, LargeBinaryArray, LargeStringArray, StringArray, StringViewArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
    TimestampSecondArray, UInt8Array, UInt16Array, UInt32Array,
};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::record_batch::RecordBatch;
use fstore_core::value::civil_from_days;
use fstore_core::{FeatureType, Value};

use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::OnlineLayout;

const MICROS_PER_DAY: i64 = 86_400_000_000;

fn invalid(message: String) -> StoreError {
    StoreError::new(StoreErrorKind::InvalidData, message)
}

/// The columns of `batch` that `layout` publishes, in layout order, ready for [`Col::new`]:
/// dictionaries unpacked, nested values encoded as JSON text (`Utf8`). Fails with
/// [`StoreErrorKind::InvalidData`] when a column is missing or has another type than the layout.
pub fn prepare_columns(layout: &OnlineLayout, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
    prepare_columns_with(layout, batch, true)
}

/// [`prepare_columns`], optionally leaving nested columns as they are (for checks that do not
/// look at them).
pub fn prepare_columns_with(
    layout: &OnlineLayout,
    batch: &RecordBatch,
    encode_json: bool,
) -> Result<Vec<ArrayRef>> {
    let schema = batch.schema();
    let mut out = Vec::with_capacity(layout.columns.len());
    for col in &layout.columns {
        let Some((idx, field)) = schema.column_with_name(&col.name) else {
            return Err(invalid(format!(
                "the data has no column `{}`, which the online table `{}` expects",
                col.name, layout.table
            )));
        };
        let ftype = FeatureType::from_arrow(&col.name, field.data_type())
            .map_err(|e| invalid(e.to_string()))?;
        if ftype != col.ftype {
            return Err(invalid(format!(
                "column `{}` is {} in the data but {} in the online layout",
                col.name, ftype, col.ftype
            )));
        }
        let mut array = batch.column(idx).clone();
        if let DataType::Dictionary(_, value) = array.data_type() {
            let value = value.as_ref().clone();
            array = arrow::compute::cast(&array, &value).map_err(|e| {
                invalid(format!(
                    "column `{}`: cannot unpack dictionary: {e}",
                    col.name
                ))
            })?;
        }
        if encode_json && ftype == FeatureType::Json {
            array = crate::spark_json::encode_column(&col.name, &array)?;
        }
        out.push(array);
    }
    Ok(out)
}

/// One cell, borrowed from its array. Integers of every width are `Int`; `Float32` stays apart so
/// a backend can decide how to widen it (see [`f32_to_f64_shortest`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    Null,
    Int(i64),
    Float32(f32),
    Float(f64),
    /// Unscaled value and scale.
    Decimal(i128, i8),
    Bool(bool),
    Str(&'a str),
    Bytes(&'a [u8]),
    /// Days since the epoch.
    Date(i32),
    /// Microseconds since the epoch, UTC.
    Timestamp(i64),
    /// JSON text.
    Json(&'a str),
}

impl Cell<'_> {
    /// The owned [`Value`] (what a lookup would return for this cell).
    pub fn to_value(self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Int(i) => Value::Int(i),
            Cell::Float32(f) => Value::Float(f32_to_f64_shortest(f)),
            Cell::Float(f) => Value::Float(f),
            Cell::Decimal(v, s) => {
                let mut t = String::new();
                write_decimal(v, s, &mut t);
                Value::Decimal(t)
            }
            Cell::Bool(b) => Value::Bool(b),
            Cell::Str(s) => Value::String(s.to_string()),
            Cell::Bytes(b) => Value::Bytes(b.to_vec()),
            Cell::Date(d) => Value::Date(d),
            Cell::Timestamp(us) => Value::Timestamp(us),
            Cell::Json(s) => Value::Json(s.to_string()),
        }
    }

    /// Short human rendering for error messages (long strings are cut).
    pub fn describe(self) -> String {
        match self {
            Cell::Null => "NULL".into(),
            Cell::Str(s) => {
                let mut out: String = s.chars().take(24).collect();
                if s.chars().nth(24).is_some() {
                    out.push('…');
                }
                format!("\"{out}\"")
            }
            Cell::Timestamp(us) => fstore_core::value::timestamp_string(us),
            other => other.to_value().render(),
        }
    }
}

/// A column downcast once to its concrete Arrow array type.
#[derive(Clone, Copy, Debug)]
pub enum Col<'a> {
    I8(&'a Int8Array),
    I16(&'a Int16Array),
    I32(&'a Int32Array),
    I64(&'a Int64Array),
    U8(&'a UInt8Array),
    U16(&'a UInt16Array),
    U32(&'a UInt32Array),
    F32(&'a Float32Array),
    F64(&'a Float64Array),
    Decimal(&'a Decimal128Array, i8),
    Bool(&'a BooleanArray),
    Str(&'a StringArray),
    LargeStr(&'a LargeStringArray),
    StrView(&'a StringViewArray),
    Bin(&'a BinaryArray),
    LargeBin(&'a LargeBinaryArray),
    BinView(&'a BinaryViewArray),
    FixedBin(&'a FixedSizeBinaryArray),
    Date32(&'a Date32Array),
    Date64(&'a Date64Array),
    TsS(&'a TimestampSecondArray),
    TsMs(&'a TimestampMillisecondArray),
    TsUs(&'a TimestampMicrosecondArray),
    TsNs(&'a TimestampNanosecondArray),
    /// JSON text produced by [`prepare_columns`].
    Json(&'a StringArray),
}

impl<'a> Col<'a> {
    /// Downcasts a column returned by [`prepare_columns`] for a column of type `ftype`.
    pub fn new(name: &str, array: &'a ArrayRef, ftype: FeatureType) -> Result<Self> {
        use DataType as D;
        let a = array.as_ref();
        Ok(match (ftype, a.data_type()) {
            (FeatureType::Json, D::Utf8) => Col::Json(a.as_string::<i32>()),
            (FeatureType::Json, _) => {
                return Err(invalid(format!(
                    "column `{name}` was not prepared as JSON text"
                )));
            }
            (_, D::Int8) => Col::I8(a.as_primitive()),
            (_, D::Int16) => Col::I16(a.as_primitive()),
            (_, D::Int32) => Col::I32(a.as_primitive()),
            (_, D::Int64) => Col::I64(a.as_primitive()),
            (_, D::UInt8) => Col::U8(a.as_primitive()),
            (_, D::UInt16) => Col::U16(a.as_primitive()),
            (_, D::UInt32) => Col::U32(a.as_primitive()),
            (_, D::Float32) => Col::F32(a.as_primitive()),
            (_, D::Float64) => Col::F64(a.as_primitive()),
            (_, D::Decimal128(_, s)) => Col::Decimal(a.as_primitive(), *s),
            (_, D::Boolean) => Col::Bool(a.as_boolean()),
            (_, D::Utf8) => Col::Str(a.as_string::<i32>()),
            (_, D::LargeUtf8) => Col::LargeStr(a.as_string::<i64>()),
            (_, D::Utf8View) => Col::StrView(a.as_string_view()),
            (_, D::Binary) => Col::Bin(a.as_binary::<i32>()),
            (_, D::LargeBinary) => Col::LargeBin(a.as_binary::<i64>()),
            (_, D::BinaryView) => Col::BinView(a.as_binary_view()),
            (_, D::FixedSizeBinary(_)) => Col::FixedBin(a.as_fixed_size_binary()),
            (_, D::Date32) => Col::Date32(a.as_primitive()),
            (_, D::Date64) => Col::Date64(a.as_primitive()),
            (_, D::Timestamp(TimeUnit::Second, _)) => Col::TsS(a.as_primitive()),
            (_, D::Timestamp(TimeUnit::Millisecond, _)) => Col::TsMs(a.as_primitive()),
            (_, D::Timestamp(TimeUnit::Microsecond, _)) => Col::TsUs(a.as_primitive()),
            (_, D::Timestamp(TimeUnit::Nanosecond, _)) => Col::TsNs(a.as_primitive()),
            (_, other) => {
                return Err(invalid(format!(
                    "column `{name}` has Arrow type {other}, which fstore cannot publish"
                )));
            }
        })
    }

    /// Downcasts every prepared column of a batch (layout order).
    pub fn all(layout: &OnlineLayout, arrays: &'a [ArrayRef]) -> Result<Vec<Col<'a>>> {
        layout
            .columns
            .iter()
            .zip(arrays)
            .map(|(c, a)| Col::new(&c.name, a, c.ftype))
            .collect()
    }

    pub fn array(&self) -> &'a dyn Array {
        match *self {
            Col::I8(a) => a,
            Col::I16(a) => a,
            Col::I32(a) => a,
            Col::I64(a) => a,
            Col::U8(a) => a,
            Col::U16(a) => a,
            Col::U32(a) => a,
            Col::F32(a) => a,
            Col::F64(a) => a,
            Col::Decimal(a, _) => a,
            Col::Bool(a) => a,
            Col::Str(a) | Col::Json(a) => a,
            Col::LargeStr(a) => a,
            Col::StrView(a) => a,
            Col::Bin(a) => a,
            Col::LargeBin(a) => a,
            Col::BinView(a) => a,
            Col::FixedBin(a) => a,
            Col::Date32(a) => a,
            Col::Date64(a) => a,
            Col::TsS(a) => a,
            Col::TsMs(a) => a,
            Col::TsUs(a) => a,
            Col::TsNs(a) => a,
        }
    }

    /// The cell at `row`. Timestamps become microseconds (nanoseconds truncated towards the past),
    /// dates days.
    #[inline]
    pub fn cell(&self, row: usize) -> Cell<'a> {
        macro_rules! nn {
            ($a:expr, $v:expr) => {
                if $a.is_null(row) { Cell::Null } else { $v }
            };
        }
        match *self {
            Col::I8(a) => nn!(a, Cell::Int(a.value(row) as i64)),
            Col::I16(a) => nn!(a, Cell::Int(a.value(row) as i64)),
            Col::I32(a) => nn!(a, Cell::Int(a.value(row) as i64)),
            Col::I64(a) => nn!(a, Cell::Int(a.value(row))),
            Col::U8(a) => nn!(a, Cell::Int(a.value(row) as i64)),
            Col::U16(a) => nn!(a, Cell::Int(a.value(row) as i64)),
            Col::U32(a) => nn!(a, Cell::Int(a.value(row) as i64)),
            Col::F32(a) => nn!(a, Cell::Float32(a.value(row))),
            Col::F64(a) => nn!(a, Cell::Float(a.value(row))),
            Col::Decimal(a, s) => nn!(a, Cell::Decimal(a.value(row), s)),
            Col::Bool(a) => nn!(a, Cell::Bool(a.value(row))),
            Col::Str(a) => nn!(a, Cell::Str(a.value(row))),
            Col::LargeStr(a) => nn!(a, Cell::Str(a.value(row))),
            Col::StrView(a) => nn!(a, Cell::Str(a.value(row))),
            Col::Json(a) => nn!(a, Cell::Json(a.value(row))),
            Col::Bin(a) => nn!(a, Cell::Bytes(a.value(row))),
            Col::LargeBin(a) => nn!(a, Cell::Bytes(a.value(row))),
            Col::BinView(a) => nn!(a, Cell::Bytes(a.value(row))),
            Col::FixedBin(a) => nn!(a, Cell::Bytes(a.value(row))),
            Col::Date32(a) => nn!(a, Cell::Date(a.value(row))),
            Col::Date64(a) => nn!(a, Cell::Date(a.value(row).div_euclid(86_400_000) as i32)),
            Col::TsS(a) => nn!(a, Cell::Timestamp(a.value(row).saturating_mul(1_000_000))),
            Col::TsMs(a) => nn!(a, Cell::Timestamp(a.value(row).saturating_mul(1_000))),
            Col::TsUs(a) => nn!(a, Cell::Timestamp(a.value(row))),
            Col::TsNs(a) => nn!(a, Cell::Timestamp(a.value(row).div_euclid(1_000))),
        }
    }
}

/// `name=value, name=value` for the key columns `keys` at `row` (for error messages).
pub fn describe_key(keys: &[(&str, Col<'_>)], row: usize) -> String {
    let mut out = String::new();
    for (name, col) in keys {
        if !out.is_empty() {
            out.push_str(", ");
        }
        let _ = write!(out, "{name}={}", col.cell(row).describe());
    }
    out
}

/// Widens an `f32` to the `f64` with the same shortest decimal form (`0.1f32` → `0.1`, not
/// `0.10000000149011612`), so readers of the online store see the number the user wrote.
pub fn f32_to_f64_shortest(x: f32) -> f64 {
    if !x.is_finite() {
        return x as f64;
    }
    let mut buf = String::with_capacity(24);
    let _ = write!(buf, "{x}");
    buf.parse().unwrap_or(x as f64)
}

/// Appends the exact decimal text of `unscaled × 10^-scale` (`12345, 2` → `123.45`).
pub fn write_decimal(unscaled: i128, scale: i8, out: &mut String) {
    if scale <= 0 {
        let _ = write!(out, "{unscaled}");
        for _ in 0..(-(scale as i32)) {
            out.push('0');
        }
        return;
    }
    let scale = scale as usize;
    if unscaled < 0 {
        out.push('-');
    }
    let digits = unscaled.unsigned_abs().to_string();
    if digits.len() <= scale {
        out.push_str("0.");
        for _ in digits.len()..scale {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
}

/// Parses decimal text into the unscaled integer at `scale` (`"12.5", 2` → `1250`). Fails when
/// the text has more fractional digits than `scale` (other than trailing zeros) or is not a number.
pub fn parse_decimal(text: &str, scale: i8) -> Option<i128> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let scale = scale.max(0) as usize;
    let frac = frac.trim_end_matches('0');
    if frac.len() > scale {
        return None;
    }
    let mut v: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        v = v.checked_mul(10)?.checked_add((b - b'0') as i128)?;
    }
    for _ in frac.len()..scale {
        v = v.checked_mul(10)?;
    }
    Some(if neg { -v } else { v })
}

fn push_num(out: &mut String, v: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let mut n = v;
    let mut i = buf.len();
    while n > 0 || i == buf.len() {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    for _ in (buf.len() - i)..width {
        out.push('0');
    }
    for &b in &buf[i..] {
        out.push(b as char);
    }
}

fn push_year(out: &mut String, y: i64) {
    if (0..=9999).contains(&y) {
        push_num(out, y as u32, 4);
    } else {
        let _ = write!(out, "{y:04}");
    }
}

/// Appends `YYYY-MM-DD` for days since the epoch.
pub fn write_date(days: i32, out: &mut String) {
    let (y, m, d) = civil_from_days(days as i64);
    push_year(out, y);
    out.push('-');
    push_num(out, m, 2);
    out.push('-');
    push_num(out, d, 2);
}

/// Appends `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) for microseconds since the epoch: the SQLite text
/// form, and MySQL's `DATETIME(6)` literal form.
pub fn write_timestamp(micros: i64, out: &mut String) {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let rem = micros.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    push_year(out, y);
    out.push('-');
    push_num(out, m, 2);
    out.push('-');
    push_num(out, d, 2);
    out.push(' ');
    let secs = (rem / 1_000_000) as u32;
    push_num(out, secs / 3600, 2);
    out.push(':');
    push_num(out, (secs / 60) % 60, 2);
    out.push(':');
    push_num(out, secs % 60, 2);
    out.push('.');
    push_num(out, (rem % 1_000_000) as u32, 6);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_render_exactly() {
        let cases = [
            (12345, 2, "123.45"),
            (-12345, 2, "-123.45"),
            (5, 3, "0.005"),
            (-5, 3, "-0.005"),
            (0, 2, "0.00"),
            (42, 0, "42"),
            (42, -2, "4200"),
        ];
        for (v, s, want) in cases {
            let mut out = String::new();
            write_decimal(v, s, &mut out);
            assert_eq!(out, want);
            if s >= 0 {
                assert_eq!(parse_decimal(want, s), Some(v), "{want}");
            }
        }
        assert_eq!(parse_decimal("12.5", 2), Some(1250));
        assert_eq!(parse_decimal("12.500", 2), Some(1250));
        assert_eq!(parse_decimal("12.505", 2), None);
        assert_eq!(parse_decimal("abc", 2), None);
        assert_eq!(parse_decimal("", 2), None);
    }

    #[test]
    fn dates_and_timestamps_render() {
        let mut s = String::new();
        write_date(19_723, &mut s);
        assert_eq!(s, "2024-01-01");
        s.clear();
        write_timestamp(1_500_000, &mut s);
        assert_eq!(s, "1970-01-01 00:00:01.500000");
        s.clear();
        write_timestamp(-1, &mut s);
        assert_eq!(s, "1969-12-31 23:59:59.999999");
        s.clear();
        write_timestamp(253_402_300_799_999_999, &mut s);
        assert_eq!(s, "9999-12-31 23:59:59.999999");
        assert_eq!(
            fstore_core::value::parse_timestamp("9999-12-31 23:59:59.999999"),
            Some(253_402_300_799_999_999)
        );
    }

    #[test]
    fn floats_widen_to_their_shortest_form() {
        assert_eq!(f32_to_f64_shortest(0.1), 0.1);
        assert_eq!(f32_to_f64_shortest(1.5), 1.5);
        assert_eq!(f32_to_f64_shortest(-3.4e38) as f32, -3.4e38);
    }
}
