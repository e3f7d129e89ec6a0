//! The JSON mapping of online values, both ways.
//!
//! Out (feature values): integers stay JSON integers, floats JSON numbers (NaN and ±∞, which
//! JSON cannot hold, become `null`), decimals strings with their exact digits, timestamps RFC 3339
//! strings in UTC with microseconds, dates ISO `YYYY-MM-DD`, JSON columns inline JSON, binary
//! standard base64 with padding, booleans JSON booleans.
//!
//! In (key values, typed by the key column): integers need JSON integers; strings JSON strings;
//! dates `YYYY-MM-DD`; timestamps RFC 3339 (any offset) or `YYYY-MM-DD[T ]HH:MM:SS[.ffffff]` in
//! UTC; decimals a string or an integer (not a float, which would not be exact).

use base64::Engine as _;
use fstore_core::value::{
    date_string, parse_date, parse_timestamp, timestamp_ascii, timestamp_string,
};
use fstore_core::{FeatureType, Value};
use serde::Serialize;
use serde_json::Value as J;

/// Serializes a [`Value`] as type-faithful JSON without building a `serde_json::Value`.
pub struct JsonValue<'a>(pub &'a Value);

impl Serialize for JsonValue<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_none(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Value::Float(_) => s.serialize_none(),
            Value::Decimal(t) | Value::String(t) => s.serialize_str(t),
            Value::Bytes(b) => {
                s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
            }
            Value::Date(d) => s.serialize_str(&date_string(*d)),
            Value::Timestamp(us) => match timestamp_ascii(*us) {
                Some(b) => s.serialize_str(std::str::from_utf8(&b).unwrap_or_default()),
                None => s.serialize_str(&timestamp_string(*us)),
            },
            Value::Json(t) => match serde_json::from_str::<J>(t) {
                Ok(j) => j.serialize(s),
                Err(_) => s.serialize_str(t),
            },
        }
    }
}

/// A [`Value`] as a `serde_json::Value` (the same mapping as [`JsonValue`]).
pub fn to_json(v: &Value) -> J {
    serde_json::to_value(JsonValue(v)).unwrap_or(J::Null)
}

/// A short description of a JSON value for error messages (never longer than ~60 characters).
pub fn describe(j: &J) -> String {
    let kind = match j {
        J::Null => return "null".into(),
        J::Bool(_) => "a boolean",
        J::Number(n) if n.is_f64() => "a non-integer number",
        J::Number(_) => "a number",
        J::String(_) => "a string",
        J::Array(_) => "an array",
        J::Object(_) => "an object",
    };
    let mut text = j.to_string();
    if text.len() > 40 {
        let mut cut = 37;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    format!("{kind} ({text})")
}

/// Converts a JSON key value to a [`Value`] of the key column's type, or says what was expected.
pub fn key_value(ftype: FeatureType, j: &J) -> Result<Value, String> {
    use FeatureType as T;
    let expected = match ftype {
        T::SmallInt | T::Int | T::BigInt => "a JSON integer",
        T::Boolean => "true or false",
        T::String => "a JSON string",
        T::Date => "a date string YYYY-MM-DD",
        T::Timestamp => "an RFC 3339 timestamp string",
        T::Decimal { .. } => "a decimal as a string (or an integer)",
        T::Float | T::Double | T::Binary | T::Json => "nothing (this type cannot be a key)",
    };
    let value = match (ftype, j) {
        (T::SmallInt | T::Int | T::BigInt, J::Number(n)) => n.as_i64().map(Value::Int),
        (T::Boolean, J::Bool(b)) => Some(Value::Bool(*b)),
        (T::String, J::String(s)) => Some(Value::String(s.clone())),
        (T::Date, J::String(s)) => iso_date_prefix(s.trim())
            .then(|| parse_date(s.trim()))
            .flatten()
            .map(Value::Date),
        (T::Timestamp, J::String(s)) => parse_rfc3339(s.trim()).map(Value::Timestamp),
        (T::Decimal { .. }, J::String(s)) if s.len() <= MAX_DECIMAL_CHARS => {
            Value::parse_as(s, ftype).ok()
        }
        (T::Decimal { .. }, J::Number(n)) if !n.is_f64() => {
            Value::parse_as(&n.to_string(), ftype).ok()
        }
        _ => None,
    };
    value.ok_or_else(|| format!("expected {expected}, got {}", describe(j)))
}

/// Longest decimal key text accepted (DECIMAL(65, 30) needs at most 67 characters).
const MAX_DECIMAL_CHARS: usize = 80;

/// First and last microsecond of years 0001..=9999, the range every store can hold.
const MIN_MICROS: i64 = -62_135_596_800_000_000;
const MAX_MICROS: i64 = 253_402_300_799_999_999;

/// `YYYY-` with a four-digit year and a short tail: what keeps the date arithmetic in range.
fn iso_date_prefix(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() <= 64 && b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// Microseconds since the epoch of an RFC 3339 timestamp (any offset), or of fstore's UTC forms
/// (`YYYY-MM-DD[T ]HH:MM:SS[.ffffff][Z]`), within years 0001..=9999.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    if !iso_date_prefix(s) {
        return None;
    }
    let us = match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.timestamp_micros(),
        // The fallback parser takes signed fields; a `-` after the date could overflow it.
        Err(_) => {
            let time = s.as_bytes().get(10..).unwrap_or_default();
            let time = time.strip_suffix(b"+00:00").unwrap_or(time);
            if s.len() > 40 || time.iter().any(|&b| b == b'-' || b == b'+') {
                return None;
            }
            parse_timestamp(s)?
        }
    };
    (MIN_MICROS..=MAX_MICROS).contains(&us).then_some(us)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_become_type_faithful_json() {
        let out = |v: Value| serde_json::to_string(&JsonValue(&v)).unwrap();
        assert_eq!(out(Value::Int(7)), "7");
        assert_eq!(out(Value::Float(22.0)), "22.0");
        assert_eq!(out(Value::Float(f64::NAN)), "null");
        assert_eq!(out(Value::Decimal("1.50".into())), "\"1.50\"");
        assert_eq!(out(Value::Date(19_723)), "\"2024-01-01\"");
        assert_eq!(
            out(Value::Timestamp(1_500_000)),
            "\"1970-01-01T00:00:01.500000Z\""
        );
        assert_eq!(out(Value::Json("[1, {\"a\": 2}]".into())), "[1,{\"a\":2}]");
        assert_eq!(out(Value::Json("not json".into())), "\"not json\"");
        assert_eq!(out(Value::Bytes(vec![0, 1, 2, 255])), "\"AAEC/w==\"");
        assert_eq!(out(Value::Null), "null");
        assert_eq!(to_json(&Value::Bool(true)), json!(true));
    }

    #[test]
    fn keys_are_typed_by_their_column() {
        assert_eq!(key_value(FeatureType::BigInt, &json!(1)), Ok(Value::Int(1)));
        assert!(key_value(FeatureType::BigInt, &json!("1")).is_err());
        assert!(key_value(FeatureType::BigInt, &json!(1.5)).is_err());
        assert!(key_value(FeatureType::BigInt, &json!(u64::MAX)).is_err());
        assert_eq!(
            key_value(FeatureType::Date, &json!("2024-01-01")),
            Ok(Value::Date(19_723))
        );
        assert!(key_value(FeatureType::Date, &json!("2024-02-30")).is_err());
        assert_eq!(
            key_value(
                FeatureType::Timestamp,
                &json!("1970-01-01T01:00:01.5+01:00")
            ),
            Ok(Value::Timestamp(1_500_000))
        );
        assert_eq!(
            key_value(FeatureType::Timestamp, &json!("1970-01-01 00:00:01")),
            Ok(Value::Timestamp(1_000_000))
        );
        let dec = FeatureType::Decimal {
            precision: 5,
            scale: 2,
        };
        assert_eq!(
            key_value(dec, &json!("1.5")),
            Ok(Value::Decimal("1.5".into()))
        );
        assert_eq!(key_value(dec, &json!(3)), Ok(Value::Decimal("3".into())));
        assert!(key_value(dec, &json!(1.5)).is_err());
        let e = key_value(FeatureType::String, &json!(["x".repeat(100)])).unwrap_err();
        assert!(e.starts_with("expected a JSON string, got an array"), "{e}");
        assert!(e.len() < 120, "{e}");
        assert!(key_value(FeatureType::Double, &json!(1.0)).is_err());
    }
}
