//! Reading a whole online table in primary-key order, page by page: what `fstore online verify`
//! compares with the offline view (see `fstore_publish::verify`).
//!
//! [`crate::OnlineReader::scan_page`] returns at most `limit` rows whose primary key comes after
//! the last key of the previous page (keyset pagination: `WHERE (k1, k2) > (?, ?) ORDER BY k1, k2
//! LIMIT n`, the key values bound), so every page is one index range read and memory holds one
//! page whatever the table's size. Rows hold every layout column, in layout order, decoded as a
//! lookup decodes them.
//!
//! The order is the database's own primary-key order, which a caller merging the scan with
//! another sorted stream must reproduce: [`KeySort`] says, per key type, how a backend orders
//! (numbers, dates and decimals by value, strings by their UTF-8 bytes — SQLite `BINARY`,
//! MySQL `utf8mb4_bin`, PostgreSQL `COLLATE "C"` — except SQLite's decimal keys, stored as
//! text and so ordered as text), and [`compare_keys`] compares two keys that way.

use std::borrow::Borrow;
use std::cmp::Ordering;

use fstore_core::{FeatureType, Value};

use crate::arrow_values::parse_decimal;
use crate::layout::OnlineLayout;

/// Rows a verify scan asks for per page: large enough that per-statement costs vanish, small
/// enough that a page of wide rows stays a few MB.
pub const DEFAULT_PAGE_ROWS: usize = 10_000;

/// How a backend orders the values of one primary-key column in a scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySort {
    /// By value: integers and decimals numerically, dates by day, strings by their UTF-8 bytes.
    Value,
    /// By the stored text, bytewise: SQLite's decimal keys (`TEXT` columns, so `"10.00"` sorts
    /// before `"9.00"`). The text is [`crate::arrow_values::write_decimal`]'s.
    Text,
}

/// The key columns of `layout` with the order `sort` gives each (in primary-key order).
pub fn key_orders(
    layout: &OnlineLayout,
    sort: impl Fn(FeatureType) -> KeySort,
) -> Vec<(FeatureType, KeySort)> {
    layout
        .primary_keys
        .iter()
        .filter_map(|k| layout.column(k))
        .map(|c| (c.ftype, sort(c.ftype)))
        .collect()
}

/// Compares two keys (one value per key column, primary-key order) in the order a scan returns
/// them. `None` when a value is not one a key of that type holds (NULL, another variant, a
/// decimal that does not parse): such keys cannot be placed in the order.
pub fn compare_keys<A: Borrow<Value>, B: Borrow<Value>>(
    orders: &[(FeatureType, KeySort)],
    a: &[A],
    b: &[B],
) -> Option<Ordering> {
    if a.len() != orders.len() || b.len() != orders.len() {
        return None;
    }
    for ((ftype, sort), (x, y)) in orders.iter().zip(a.iter().zip(b)) {
        let o = compare_one(*ftype, *sort, x.borrow(), y.borrow())?;
        if o != Ordering::Equal {
            return Some(o);
        }
    }
    Some(Ordering::Equal)
}

fn compare_one(ftype: FeatureType, sort: KeySort, x: &Value, y: &Value) -> Option<Ordering> {
    Some(match (x, y) {
        (Value::Int(a), Value::Int(b)) => a.cmp(b),
        (Value::String(a), Value::String(b)) => a.as_bytes().cmp(b.as_bytes()),
        (Value::Date(a), Value::Date(b)) => a.cmp(b),
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Value::Decimal(a), Value::Decimal(b)) => match (sort, ftype) {
            (KeySort::Text, _) => a.as_bytes().cmp(b.as_bytes()),
            (KeySort::Value, FeatureType::Decimal { scale, .. }) => {
                parse_decimal(a, scale)?.cmp(&parse_decimal(b, scale)?)
            }
            _ => return None,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Value {
        Value::Decimal(s.into())
    }

    #[test]
    fn decimals_compare_by_value_or_by_text() {
        let t = FeatureType::Decimal {
            precision: 10,
            scale: 2,
        };
        let by_value = [(t, KeySort::Value)];
        let by_text = [(t, KeySort::Text)];
        let (a, b) = ([dec("9.00")], [dec("10.00")]);
        assert_eq!(compare_keys(&by_value, &a, &b), Some(Ordering::Less));
        assert_eq!(compare_keys(&by_text, &a, &b), Some(Ordering::Greater));
        assert_eq!(
            compare_keys(&by_value, &[dec("-1.50")], &[dec("-1.5")]),
            Some(Ordering::Equal)
        );
    }

    #[test]
    fn composite_keys_compare_column_by_column_and_strings_by_bytes() {
        let orders = [
            (FeatureType::BigInt, KeySort::Value),
            (FeatureType::String, KeySort::Value),
        ];
        let k = |i: i64, s: &str| vec![Value::Int(i), Value::String(s.into())];
        assert_eq!(
            compare_keys(&orders, &k(1, "z"), &k(2, "a")),
            Some(Ordering::Less)
        );
        assert_eq!(
            compare_keys(&orders, &k(1, "Z"), &k(1, "a")),
            Some(Ordering::Less)
        );
        assert_eq!(
            compare_keys(&orders, &k(1, "é"), &k(1, "z")),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare_keys(&orders, &k(1, "a"), &[Value::Null, Value::Null]),
            None
        );
    }
}
