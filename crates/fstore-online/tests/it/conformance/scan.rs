//! Conformance cases of [`OnlineReader::scan_page`], the keyset pagination `fstore online verify`
//! reads a whole table with: pages of at most `limit` rows that, chained by the last key of each,
//! return every row exactly once, in the order [`OnlineReader::key_sort`] and
//! [`compare_keys`] describe — so verify's merge with the sorted offline view lines up — with
//! every column decoded as a lookup decodes it.

use std::cmp::Ordering;

use arrow::array::{Date32Array, Decimal128Array, Float64Array, Int64Array, StringArray};
use fstore_core::Value;
use fstore_online::arrow_values::write_decimal;
use fstore_online::scan::{compare_keys, key_orders};
use fstore_online::{OnlineLayout, OnlineReader, OnlineStore, StoreErrorKind, WriteMode};

use super::{Harness, arr, batch, layout, write};

/// Every row of `l`'s table, page by page (`limit` rows each); checks the page sizes.
async fn scan_all(store: &OnlineStore, l: &OnlineLayout, limit: usize) -> Vec<Vec<Value>> {
    let keys = l.primary_keys.len();
    let mut out: Vec<Vec<Value>> = Vec::new();
    loop {
        let after = out.last().map(|r| r[..keys].to_vec());
        let page = store
            .scan_page(l, after.as_deref(), limit)
            .await
            .unwrap_or_else(|e| panic!("scan after {after:?}: {e}"));
        assert!(
            page.len() <= limit,
            "a page of {} rows, limit {limit}",
            page.len()
        );
        let done = page.len() < limit;
        out.extend(page);
        if done {
            return out;
        }
    }
}

/// `rows` sorted the way `store` says its scans order `l`'s keys (the key columns come first).
fn in_store_order(
    store: &OnlineStore,
    l: &OnlineLayout,
    mut rows: Vec<Vec<Value>>,
) -> Vec<Vec<Value>> {
    let orders = key_orders(l, |t| store.key_sort(t));
    let n = orders.len();
    rows.sort_by(|a, b| compare_keys(&orders, &a[..n], &b[..n]).expect("comparable keys"));
    rows
}

pub async fn scan_pages_return_every_row_once_in_key_order<H: Harness>(h: &H) {
    let store = h.store().await;
    // Strings whose byte order differs from any locale's ("B" < "a" < "ab" < "é"), and integers
    // whose text order differs from their value order.
    let names = ["b", "B", "a", "ab", "é", "", "a b", "Z"];
    let nums = [-5_i64, 0, 3, 10_000_000_000, 20];
    let (mut ks, mut ns, mut vs, mut labels) = (vec![], vec![], vec![], vec![]);
    for (i, k) in names.iter().enumerate() {
        for (j, n) in nums.iter().enumerate() {
            ks.push(*k);
            ns.push(*n);
            vs.push(((i + j) % 3 != 0).then_some(i as f64 + j as f64 / 4.0));
            labels.push(((i * j) % 4 != 1).then(|| format!("{k}/{n}")));
        }
    }
    let b = batch(vec![
        ("k", arr(StringArray::from(ks.clone()))),
        ("n", arr(Int64Array::from(ns.clone()))),
        ("v", arr(Float64Array::from(vs.clone()))),
        ("label", arr(StringArray::from(labels.clone()))),
    ]);
    let l = layout(&b, &["k", "n"], None);
    write(&store, &l, WriteMode::Merge, vec![b], 1)
        .await
        .expect("write");

    let expected: Vec<Vec<Value>> = (0..ks.len())
        .map(|r| {
            vec![
                Value::String(ks[r].to_string()),
                Value::Int(ns[r]),
                vs[r].map_or(Value::Null, Value::Float),
                labels[r].clone().map_or(Value::Null, Value::String),
            ]
        })
        .collect();
    let expected = in_store_order(&store, &l, expected);
    // Byte order, whatever the backend: "B" and "Z" before "a", "é" last.
    let first_keys: Vec<&Value> = expected.iter().step_by(nums.len()).map(|r| &r[0]).collect();
    let text = |s: &str| Value::String(s.into());
    assert_eq!(
        first_keys,
        [
            &text(""),
            &text("B"),
            &text("Z"),
            &text("a"),
            &text("a b"),
            &text("ab"),
            &text("b"),
            &text("é")
        ]
    );
    for limit in [1, 7, expected.len(), 1000] {
        assert_eq!(
            scan_all(&store, &l, limit).await,
            expected,
            "pages of {limit} rows"
        );
    }
    // After the last key: nothing. A key of the wrong arity is a bad request.
    let last = expected.last().expect("rows")[..2].to_vec();
    assert!(
        store
            .scan_page(&l, Some(&last), 10)
            .await
            .expect("scan")
            .is_empty()
    );
    let err = store
        .scan_page(&l, Some(&[Value::String("a".into())]), 10)
        .await
        .expect_err("one value for two key columns");
    assert_eq!(err.kind, StoreErrorKind::BadRequest, "{err}");

    // A table that is not there is reported as missing.
    let mut gone = l.clone();
    gone.table = "no_such_table".into();
    let err = store
        .scan_page(&gone, None, 10)
        .await
        .expect_err("missing table");
    assert_eq!(err.kind, StoreErrorKind::MissingTable, "{err}");
}

pub async fn scan_pages_order_decimal_and_date_keys_as_key_sort_says<H: Harness>(h: &H) {
    let store = h.store().await;
    // Decimals whose text order differs from their value order ("10.00" < "9.00" as text).
    let amounts: [i128; 6] = [900, 1000, -150, 5, 0, 123_456];
    let days = [19_723, -1, 0];
    let (mut ds, mut am, mut vs) = (vec![], vec![], vec![]);
    for a in amounts {
        for d in days {
            am.push(a);
            ds.push(d);
            vs.push(a as i64 + d as i64);
        }
    }
    let b = batch(vec![
        (
            "amount",
            arr(Decimal128Array::from(am.clone())
                .with_precision_and_scale(10, 2)
                .expect("valid decimal")),
        ),
        ("day", arr(Date32Array::from(ds.clone()))),
        ("v", arr(Int64Array::from(vs.clone()))),
    ]);
    let l = layout(&b, &["amount", "day"], None);
    write(&store, &l, WriteMode::Merge, vec![b], 1)
        .await
        .expect("write");
    let expected: Vec<Vec<Value>> = (0..am.len())
        .map(|r| {
            let mut text = String::new();
            write_decimal(am[r], 2, &mut text);
            vec![Value::Decimal(text), Value::Date(ds[r]), Value::Int(vs[r])]
        })
        .collect();
    let expected = in_store_order(&store, &l, expected);
    for w in expected.windows(2) {
        let orders = key_orders(&l, |t| store.key_sort(t));
        assert_eq!(
            compare_keys(&orders, &w[0][..2], &w[1][..2]),
            Some(Ordering::Less)
        );
    }
    for limit in [1, 4, 100] {
        assert_eq!(
            scan_all(&store, &l, limit).await,
            expected,
            "pages of {limit} rows"
        );
    }
}
