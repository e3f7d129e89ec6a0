//! Nested values (lists, maps, structs) as JSON text in the form Spark's `to_json` writes them,
//! which is what Databricks' publisher stores in a MySQL online table and what its lookup runtime
//! (`databricks-feature-lookup`) hands to a model after `json.loads`. Following it byte for byte
//! where a reader could tell the difference:
//!
//! - struct fields whose value is null are omitted (`spark.sql.jsonGenerator.ignoreNullFields`
//!   defaults to true); map entries and list elements that are null are kept (`{"a":null,"b":-7}`,
//!   `[1,null]`): Spark's generator always writes them;
//! - binary is base64 (Jackson's `writeBinary`, standard alphabet, padded);
//! - dates are `yyyy-MM-dd`; timestamps with a time zone are `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` in
//!   UTC (`…T12:00:00.123Z`) and those without one (`TIMESTAMP_NTZ`) the same without the zone,
//!   both cut to milliseconds as Spark's default `timestampFormat` does;
//! - doubles and floats are Java's `Double.toString` / `Float.toString` (always a `.` or an
//!   exponent, so `json.loads` gives a float, never an int: `1.0`, `1.0E10`); NaN and ±infinity are
//!   the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (Jackson quotes non-numeric numbers);
//! - decimals are JSON numbers in Java's `BigDecimal.toString` form (`12.50`, `1.2E-7`);
//! - map keys are strings (`{"1":"a"}` for integer keys), as JSON requires.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::{DataType, TimeUnit};
use fstore_core::value::civil_from_days;

use crate::arrow_values::{write_date, write_decimal};
use crate::error::{Result, StoreError, StoreErrorKind};

/// One JSON text per row of `array` (a list, map or struct column); null rows stay null.
pub fn encode_column(name: &str, array: &ArrayRef) -> Result<ArrayRef> {
    let mut builder = StringBuilder::with_capacity(array.len(), array.len() * 16);
    let mut out = String::with_capacity(64);
    for row in 0..array.len() {
        if array.is_null(row) {
            builder.append_null();
            continue;
        }
        out.clear();
        write_value(array.as_ref(), row, &mut out).map_err(|e| {
            StoreError::new(
                StoreErrorKind::InvalidData,
                format!("column `{name}` cannot be written as JSON: {e}"),
            )
        })?;
        builder.append_value(&out);
    }
    Ok(Arc::new(builder.finish()))
}

/// Appends the JSON of `array[row]`.
pub fn write_value(
    array: &dyn Array,
    row: usize,
    out: &mut String,
) -> std::result::Result<(), String> {
    use DataType as D;
    if array.is_null(row) {
        out.push_str("null");
        return Ok(());
    }
    macro_rules! int {
        ($t:ty) => {{
            let _ = write!(out, "{}", array.as_primitive::<$t>().value(row));
        }};
    }
    use arrow::datatypes as t;
    match array.data_type() {
        D::Boolean => out.push_str(if array.as_boolean().value(row) {
            "true"
        } else {
            "false"
        }),
        D::Int8 => int!(t::Int8Type),
        D::Int16 => int!(t::Int16Type),
        D::Int32 => int!(t::Int32Type),
        D::Int64 => int!(t::Int64Type),
        D::UInt8 => int!(t::UInt8Type),
        D::UInt16 => int!(t::UInt16Type),
        D::UInt32 => int!(t::UInt32Type),
        D::UInt64 => int!(t::UInt64Type),
        D::Float32 => write_java_float(array.as_primitive::<t::Float32Type>().value(row), out),
        D::Float64 => write_java_double(array.as_primitive::<t::Float64Type>().value(row), out),
        D::Decimal128(_, scale) => write_java_bigdecimal(
            array.as_primitive::<t::Decimal128Type>().value(row),
            *scale,
            out,
        ),
        D::Utf8 => write_string(array.as_string::<i32>().value(row), out),
        D::LargeUtf8 => write_string(array.as_string::<i64>().value(row), out),
        D::Utf8View => write_string(array.as_string_view().value(row), out),
        D::Binary => write_base64(array.as_binary::<i32>().value(row), out),
        D::LargeBinary => write_base64(array.as_binary::<i64>().value(row), out),
        D::BinaryView => write_base64(array.as_binary_view().value(row), out),
        D::FixedSizeBinary(_) => write_base64(array.as_fixed_size_binary().value(row), out),
        D::Date32 => {
            out.push('"');
            write_date(array.as_primitive::<t::Date32Type>().value(row), out);
            out.push('"');
        }
        D::Date64 => {
            let ms = array.as_primitive::<t::Date64Type>().value(row);
            out.push('"');
            write_date(ms.div_euclid(86_400_000) as i32, out);
            out.push('"');
        }
        D::Timestamp(unit, tz) => {
            let v = match unit {
                TimeUnit::Second => array
                    .as_primitive::<t::TimestampSecondType>()
                    .value(row)
                    .saturating_mul(1000),
                TimeUnit::Millisecond => array
                    .as_primitive::<t::TimestampMillisecondType>()
                    .value(row),
                TimeUnit::Microsecond => array
                    .as_primitive::<t::TimestampMicrosecondType>()
                    .value(row)
                    .div_euclid(1000),
                TimeUnit::Nanosecond => array
                    .as_primitive::<t::TimestampNanosecondType>()
                    .value(row)
                    .div_euclid(1_000_000),
            };
            write_timestamp_millis(v, tz.is_some(), out);
        }
        D::List(_) => write_list(array.as_list::<i32>().value(row), out)?,
        D::LargeList(_) => write_list(array.as_list::<i64>().value(row), out)?,
        D::FixedSizeList(_, _) => write_list(array.as_fixed_size_list().value(row), out)?,
        D::Struct(fields) => {
            let s = array.as_struct();
            out.push('{');
            let mut first = true;
            for (f, child) in fields.iter().zip(s.columns()) {
                let child = plain(child)?;
                if child.is_null(row) {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                write_string(f.name(), out);
                out.push(':');
                write_value(child.as_ref(), row, out)?;
            }
            out.push('}');
        }
        D::Map(_, _) => {
            let entries = array.as_map().value(row);
            let keys = plain(entries.column(0))?;
            let values = plain(entries.column(1))?;
            out.push('{');
            for i in 0..entries.len() {
                if i > 0 {
                    out.push(',');
                }
                write_key(keys.as_ref(), i, out)?;
                out.push(':');
                write_value(values.as_ref(), i, out)?;
            }
            out.push('}');
        }
        D::Dictionary(_, _) => {
            let a = plain(&array.slice(row, 1))?;
            write_value(a.as_ref(), 0, out)?;
        }
        other => return Err(format!("values of type {other} have no JSON form")),
    }
    Ok(())
}

/// `array` with dictionaries unpacked (nested dictionaries are rare; this copies them).
fn plain(array: &ArrayRef) -> std::result::Result<ArrayRef, String> {
    match array.data_type() {
        DataType::Dictionary(_, value) => arrow::compute::cast(array, value)
            .map_err(|e| format!("cannot unpack a dictionary: {e}")),
        _ => Ok(array.clone()),
    }
}

fn write_list(items: ArrayRef, out: &mut String) -> std::result::Result<(), String> {
    let items = plain(&items)?;
    out.push('[');
    for i in 0..items.len() {
        if i > 0 {
            out.push(',');
        }
        write_value(items.as_ref(), i, out)?;
    }
    out.push(']');
    Ok(())
}

/// A map key: JSON strings as they are, anything else as its JSON text in quotes (Spark writes
/// the key's `toString`).
fn write_key(keys: &dyn Array, i: usize, out: &mut String) -> std::result::Result<(), String> {
    if keys.is_null(i) {
        return Err("a map key is null".into());
    }
    let mut text = String::new();
    write_value(keys, i, &mut text)?;
    if text.starts_with('"') {
        out.push_str(&text);
    } else {
        write_string(&text, out);
    }
    Ok(())
}

/// A JSON string, escaped as Jackson does: `"` and `\`, and control characters (short forms
/// for `\b \t \n \f \r`, `\u00XX` for the others); everything else as it is.
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04X}", b);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard, padded base64 in quotes.
pub fn write_base64(bytes: &[u8], out: &mut String) {
    out.push('"');
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out.push('"');
}

/// `"yyyy-MM-ddTHH:mm:ss.SSS"` (+ `Z` with a zone) for milliseconds since the epoch, UTC.
fn write_timestamp_millis(ms: i64, zoned: bool, out: &mut String) {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / 1000;
    let _ = write!(
        out,
        "\"{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}{}\"",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60,
        rem % 1000,
        if zoned { "Z" } else { "" }
    );
}

/// Non-finite numbers the way Jackson writes them by default: quoted.
fn write_non_finite(v: f64, out: &mut String) -> bool {
    if v.is_nan() {
        out.push_str("\"NaN\"");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 {
            "\"Infinity\""
        } else {
            "\"-Infinity\""
        });
    } else {
        return false;
    }
    true
}

/// Java's `Double.toString` layout from Rust's shortest digits: plain with at least one
/// fractional digit for 10^-3 <= |v| < 10^7, else `d.dddE[-]n`.
pub fn write_java_double(v: f64, out: &mut String) {
    if write_non_finite(v, out) {
        return;
    }
    let a = v.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        java_plain(&format!("{v}"), out);
    } else {
        java_sci(&format!("{v:e}"), out);
    }
}

/// Java's `Float.toString` (same layout as doubles, float's shortest digits).
pub fn write_java_float(v: f32, out: &mut String) {
    if write_non_finite(v as f64, out) {
        return;
    }
    let a = v.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        java_plain(&format!("{v}"), out);
    } else {
        java_sci(&format!("{v:e}"), out);
    }
}

fn java_plain(text: &str, out: &mut String) {
    out.push_str(text);
    if !text.contains('.') {
        out.push_str(".0");
    }
}

/// `1.5e10` → `1.5E10`, `1e-5` → `1.0E-5`.
fn java_sci(text: &str, out: &mut String) {
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    out.push_str(mantissa);
    if !mantissa.contains('.') {
        out.push_str(".0");
    }
    out.push('E');
    out.push_str(exp);
}

/// Java's `BigDecimal.toString` for `unscaled × 10^-scale`: plain when the scale is not negative
/// and the adjusted exponent is at least -6, else scientific (`1.2E-7`, `1.23E+5`).
pub fn write_java_bigdecimal(unscaled: i128, scale: i8, out: &mut String) {
    let digits = unscaled.unsigned_abs().to_string();
    let adjusted = -(scale as i64) + (digits.len() as i64 - 1);
    if scale >= 0 && adjusted >= -6 {
        write_decimal(unscaled, scale, out);
        return;
    }
    if unscaled < 0 {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    let _ = write!(out, "E{}{adjusted}", if adjusted > 0 { "+" } else { "" });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(v: f64) -> String {
        let mut s = String::new();
        write_java_double(v, &mut s);
        s
    }

    #[test]
    fn numbers_follow_java() {
        assert_eq!(double(1.0), "1.0");
        assert_eq!(double(-0.5), "-0.5");
        assert_eq!(double(0.0), "0.0");
        assert_eq!(double(1e7), "1.0E7");
        assert_eq!(double(1.5e10), "1.5E10");
        assert_eq!(double(1e-5), "1.0E-5");
        assert_eq!(double(0.001), "0.001");
        assert_eq!(double(1234567.0), "1234567.0");
        assert_eq!(double(f64::NAN), "\"NaN\"");
        assert_eq!(double(f64::NEG_INFINITY), "\"-Infinity\"");
        let mut s = String::new();
        write_java_float(0.1, &mut s);
        assert_eq!(s, "0.1");
        for (v, sc, want) in [
            (1250, 2, "12.50"),
            (12, 8, "1.2E-7"),
            (-5, 3, "-0.005"),
            (123, -3, "1.23E+5"),
        ] {
            let mut s = String::new();
            write_java_bigdecimal(v, sc, &mut s);
            assert_eq!(s, want);
        }
    }

    #[test]
    fn strings_binary_and_timestamps() {
        let mut s = String::new();
        write_string("a\"b\\c\n\u{1}é", &mut s);
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u0001é\"");
        for (b, want) in [
            (&b""[..], "\"\""),
            (b"f", "\"Zg==\""),
            (b"fo", "\"Zm8=\""),
            (b"foo", "\"Zm9v\""),
            (&[0xff, 0xfe, 0x00, 0x01][..], "\"//4AAQ==\""),
        ] {
            let mut s = String::new();
            write_base64(b, &mut s);
            assert_eq!(s, want);
        }
        let mut s = String::new();
        write_timestamp_millis(1_500, true, &mut s);
        assert_eq!(s, "\"1970-01-01T00:00:01.500Z\"");
        s.clear();
        write_timestamp_millis(-1, false, &mut s);
        assert_eq!(s, "\"1969-12-31T23:59:59.999\"");
    }
}
