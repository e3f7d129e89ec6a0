//! `fstore online verify`: does the online table still hold the offline view its bookkeeping
//! row says it holds? Compares, key by key and column by column, the online table with the
//! published view of the Delta version it records (not the latest: lag is `status`'s business)
//! and reports the keys that are missing online, extra online, or different, with examples.
//!
//! Both sides stream in primary-key order, so memory holds one batch and one page whatever the
//! table's size: the offline view (the recorded filter, columns and latest-row-per-key rule)
//! through `fstore_offline::Scan::order_by`, which DataFusion sorts in a bounded memory pool
//! that spills to disk; the online table through `OnlineReader::scan_page` (keyset pagination).
//! The offline sort reproduces the store's key order (`OnlineReader::key_sort`: by value, or by
//! text for SQLite's decimal keys), and the merge checks that both sides really come strictly
//! ascending in that order, so a store collating differently fails the verify instead of
//! reporting false differences.
//!
//! Values are compared as a lookup returns them: offline cells go through the publish path's
//! conversions (`fstore_online::arrow_values::prepare_columns`: dictionaries unpacked, nested
//! values as Spark-style JSON text; floats widened as every backend widens them), online cells
//! through the backend's decoder. Floats compare exactly, decimals by value.
//!
//! Read-only: the read identity suffices.

use std::cmp::Ordering;
use std::time::Instant;

use crate::{Error, Result};
use arrow::record_batch::RecordBatch;
use fstore_core::{FeatureType, Progress, TableName, Value};
use fstore_offline::{BatchStream, OfflineStore, Scan, SortKey, TimeTravel};
use fstore_online::arrow_values::{Col, parse_decimal, prepare_columns};
use fstore_online::scan::{DEFAULT_PAGE_ROWS, compare_keys, key_orders};
use fstore_online::{KeySort, OnlineLayout, OnlineReader, PublishedTable};
use futures::StreamExt;

mod report;

pub use report::{ColumnDiff, DiffKind, Difference, KeyPart, VerifyReport};

/// Examples a report keeps by default.
pub const DEFAULT_EXAMPLES: usize = 10;

/// Progress is reported every this many offline rows.
const PROGRESS_STEP: u64 = 8192;

/// How to verify.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// Differences kept as examples (the counts are always complete).
    pub examples: usize,
    /// Online rows read per page.
    pub page_rows: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            examples: DEFAULT_EXAMPLES,
            page_rows: DEFAULT_PAGE_ROWS,
        }
    }
}

/// Compares online table `online_table` of `store` with the offline view its bookkeeping row
/// records. Differences are the report's business; `Err` means the comparison could not be made
/// (the table is not published, the recorded version cannot be read, the store's key order is not
/// one verify can reproduce).
pub async fn verify(
    offline: &OfflineStore,
    store: &impl OnlineReader,
    online_table: &str,
    opts: &VerifyOptions,
    progress: &dyn Progress,
) -> Result<VerifyReport> {
    let started = Instant::now();
    progress.set_stage("reading the bookkeeping row");
    let published = store.describe(online_table).await?.ok_or_else(|| {
        Error::BadOptions(format!(
            "`{online_table}` is not published in this store (no bookkeeping row); `fstore online list` shows what is"
        ))
    })?;
    let mut report = VerifyReport {
        online_table: online_table.to_string(),
        feature_table: published.feature_table.clone(),
        delta_version: published.delta_version,
        filter: None,
        columns: published
            .layout
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect(),
        offline_rows: 0,
        online_rows: 0,
        missing: 0,
        extra: 0,
        different: 0,
        examples: Vec::new(),
        seconds: 0.0,
        notes: Vec::new(),
    };
    let batches = offline_view(offline, store, &published, &mut report, progress).await?;
    progress.set_stage("comparing");
    let layout = &published.layout;
    let mut merge = Merge {
        orders: key_orders(layout, |t| store.key_sort(t)),
        key_idx: layout
            .primary_keys
            .iter()
            .filter_map(|k| layout.columns.iter().position(|c| &c.name == k))
            .collect(),
        layout,
        examples: opts.examples,
        report: &mut report,
    };
    let mut off = OfflineRows {
        batches,
        layout,
        rows: Vec::new().into_iter(),
        last: None,
    };
    let mut on = OnlineRows {
        store,
        layout,
        page: Vec::new().into_iter(),
        after: None,
        done: false,
        page_rows: opts.page_rows.max(1),
        last: None,
    };
    let mut a = off.next(&merge).await?;
    let mut b = on.next(&merge).await?;
    let mut unreported = 0u64;
    loop {
        let order = match (&a, &b) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => merge.compare(x, y)?,
        };
        if order != Ordering::Greater {
            unreported += 1;
            if unreported == PROGRESS_STEP {
                progress.inc(unreported);
                unreported = 0;
            }
        }
        match order {
            Ordering::Less => {
                merge.missing(a.as_deref().unwrap_or_default());
                a = off.next(&merge).await?;
            }
            Ordering::Greater => {
                merge.extra(b.as_deref().unwrap_or_default());
                b = on.next(&merge).await?;
            }
            Ordering::Equal => {
                merge.same_key(
                    a.as_deref().unwrap_or_default(),
                    b.as_deref().unwrap_or_default(),
                );
                a = off.next(&merge).await?;
                b = on.next(&merge).await?;
            }
        }
    }
    progress.inc(unreported);
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Opens the recorded version and streams its published view sorted in the store's key order.
async fn offline_view(
    offline: &OfflineStore,
    store: &impl OnlineReader,
    published: &PublishedTable,
    report: &mut VerifyReport,
    progress: &dyn Progress,
) -> Result<BatchStream> {
    let layout = &published.layout;
    let name = TableName::parse(&published.feature_table)?;
    progress.set_stage("opening the published version");
    let table = offline
        .open_at(&name, TimeTravel::Version(published.delta_version))
        .await
        .map_err(|e| {
            Error::BadOptions(format!(
                "cannot read version {} of `{name}`, which `{}` records as online: {e}",
                published.delta_version, layout.table
            ))
        })?;
    match &published.source {
        Some(src) => {
            if src.table_id != table.table_id()? {
                return Err(Error::BadOptions(format!(
                    "`{name}` was dropped and re-created since `{}` was published from it: the recorded version {} names a table that is gone; publish again, then verify",
                    layout.table, published.delta_version
                )));
            }
            if src.columns != report.columns {
                report.notes.push(format!(
                    "the publish recorded columns {} but the online layout has {}; compared the layout's",
                    src.columns.join(", "),
                    report.columns.join(", ")
                ));
            }
            report.filter = src.filter.clone();
        }
        None => report.notes.push(
            "the bookkeeping row records no publish source (an older fstore wrote it): compared the layout's columns of the whole version, without a filter".into(),
        ),
    }
    let order: Vec<SortKey> = layout
        .primary_keys
        .iter()
        .map(|k| SortKey {
            column: k.clone(),
            as_text: layout
                .column(k)
                .is_some_and(|c| store.key_sort(c.ftype) == KeySort::Text),
        })
        .collect();
    progress.set_stage("sorting the offline view");
    let view = table
        .stream(Scan {
            columns: Some(&report.columns),
            filter: report.filter.as_deref(),
            latest: true,
            limit: None,
            order_by: Some(&order),
        })
        .await?;
    if let Some(n) = view.rows_hint {
        progress.set_total(n);
    }
    Ok(view.batches)
}

/// The merge's state: the key order, the counts and the examples.
struct Merge<'a> {
    orders: Vec<(FeatureType, KeySort)>,
    /// Positions of the primary-key columns in a row (layout order).
    key_idx: Vec<usize>,
    layout: &'a OnlineLayout,
    examples: usize,
    report: &'a mut VerifyReport,
}

impl Merge<'_> {
    fn key<'r>(&self, row: &'r [Value]) -> Vec<&'r Value> {
        self.key_idx.iter().map(|&i| &row[i]).collect()
    }

    fn owned_key(&self, row: &[Value]) -> Vec<Value> {
        self.key_idx.iter().map(|&i| row[i].clone()).collect()
    }

    /// The order of two rows' keys.
    fn compare(&self, a: &[Value], b: &[Value]) -> Result<Ordering> {
        let (ka, kb) = (self.key(a), self.key(b));
        compare_keys(&self.orders, &ka, &kb).ok_or_else(|| {
            cannot_compare(format!(
                "cannot order keys {} and {} of `{}`",
                self.show_key(&ka),
                self.show_key(&kb),
                self.layout.table
            ))
        })
    }

    fn show_key<V: std::borrow::Borrow<Value>>(&self, key: &[V]) -> String {
        self.layout
            .primary_keys
            .iter()
            .zip(key)
            .map(|(k, v)| format!("{k}={}", show(v.borrow())))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn example(&mut self, kind: DiffKind, row: &[Value], columns: Vec<ColumnDiff>) {
        if self.report.examples.len() < self.examples {
            let key = self
                .layout
                .primary_keys
                .iter()
                .zip(self.key(row))
                .map(|(k, v)| KeyPart {
                    column: k.clone(),
                    value: show(v),
                })
                .collect();
            self.report.examples.push(Difference { kind, key, columns });
        }
    }

    fn missing(&mut self, row: &[Value]) {
        self.report.offline_rows += 1;
        self.report.missing += 1;
        self.example(DiffKind::Missing, row, Vec::new());
    }

    fn extra(&mut self, row: &[Value]) {
        self.report.online_rows += 1;
        self.report.extra += 1;
        self.example(DiffKind::Extra, row, Vec::new());
    }

    fn same_key(&mut self, offline: &[Value], online: &[Value]) {
        self.report.offline_rows += 1;
        self.report.online_rows += 1;
        let diffs: Vec<ColumnDiff> = self
            .layout
            .columns
            .iter()
            .zip(offline.iter().zip(online))
            .filter(|(c, (a, b))| !same_value(c.ftype, a, b))
            .map(|(c, (a, b))| ColumnDiff {
                column: c.name.clone(),
                offline: show(a),
                online: show(b),
            })
            .collect();
        if !diffs.is_empty() {
            self.report.different += 1;
            self.example(DiffKind::Different, offline, diffs);
        }
    }

    /// Checks that `row` comes strictly after `last` on its side (`side`: for the message).
    fn check_order(&self, last: &mut Option<Vec<Value>>, row: &[Value], side: Side) -> Result<()> {
        let key = self.owned_key(row);
        if let Some(prev) = last.as_ref() {
            match compare_keys(&self.orders, prev, &key) {
                Some(Ordering::Less) => {}
                Some(Ordering::Equal) => {
                    return Err(cannot_compare(format!(
                        "the {} holds key {} twice",
                        side.what(self.layout),
                        self.show_key(&key)
                    )));
                }
                _ => {
                    return Err(cannot_compare(format!(
                        "the {} did not come in primary-key order (key {} after {}){}",
                        side.what(self.layout),
                        self.show_key(&key),
                        self.show_key(prev),
                        match side {
                            Side::Online =>
                                ": the database collates these keys differently from fstore's byte order (MySQL's utf8mb4_bin ignores trailing spaces), so verify cannot compare this table",
                            Side::Offline => "",
                        }
                    )));
                }
            }
        }
        *last = Some(key);
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Side {
    Offline,
    Online,
}

impl Side {
    fn what(self, layout: &OnlineLayout) -> String {
        match self {
            Side::Offline => format!("offline view published to `{}`", layout.table),
            Side::Online => format!("online table `{}`", layout.table),
        }
    }
}

/// The offline view, row by row, each converted as publish converts it.
struct OfflineRows<'a> {
    batches: BatchStream,
    layout: &'a OnlineLayout,
    rows: std::vec::IntoIter<Vec<Value>>,
    last: Option<Vec<Value>>,
}

impl OfflineRows<'_> {
    async fn next(&mut self, merge: &Merge<'_>) -> Result<Option<Vec<Value>>> {
        loop {
            if let Some(row) = self.rows.next() {
                merge.check_order(&mut self.last, &row, Side::Offline)?;
                return Ok(Some(row));
            }
            match self.batches.next().await {
                None => return Ok(None),
                Some(batch) => self.rows = batch_rows(self.layout, &batch?)?.into_iter(),
            }
        }
    }
}

/// The rows of one offline batch as a lookup would return them.
fn batch_rows(layout: &OnlineLayout, batch: &RecordBatch) -> Result<Vec<Vec<Value>>> {
    let arrays = prepare_columns(layout, batch)?;
    let cols = Col::all(layout, &arrays)?;
    Ok((0..batch.num_rows())
        .map(|r| cols.iter().map(|c| c.cell(r).to_value()).collect())
        .collect())
}

/// The online table, page by page.
struct OnlineRows<'a, S> {
    store: &'a S,
    layout: &'a OnlineLayout,
    page: std::vec::IntoIter<Vec<Value>>,
    /// The key of the last row read (where the next page starts).
    after: Option<Vec<Value>>,
    done: bool,
    page_rows: usize,
    last: Option<Vec<Value>>,
}

impl<S: OnlineReader> OnlineRows<'_, S> {
    async fn next(&mut self, merge: &Merge<'_>) -> Result<Option<Vec<Value>>> {
        loop {
            if let Some(row) = self.page.next() {
                merge.check_order(&mut self.last, &row, Side::Online)?;
                return Ok(Some(row));
            }
            if self.done {
                return Ok(None);
            }
            let page = self
                .store
                .scan_page(self.layout, self.after.as_deref(), self.page_rows)
                .await?;
            self.done = page.len() < self.page_rows;
            if let Some(last) = page.last() {
                self.after = Some(merge.owned_key(last));
            }
            self.page = page.into_iter();
        }
    }
}

/// Equal as the online store holds them: floats exactly, decimals by value (stores render
/// them differently), everything else as decoded.
fn same_value(ftype: FeatureType, a: &Value, b: &Value) -> bool {
    match (ftype, a, b) {
        (FeatureType::Decimal { scale, .. }, Value::Decimal(x), Value::Decimal(y)) => {
            match (parse_decimal(x, scale), parse_decimal(y, scale)) {
                (Some(x), Some(y)) => x == y,
                _ => x == y,
            }
        }
        _ => a == b,
    }
}

/// The comparison could not be made (not a difference: those are in the report).
fn cannot_compare(message: String) -> Error {
    Error::Online(fstore_online::StoreError::new(
        fstore_online::StoreErrorKind::Database,
        message,
    ))
}

/// A value for a report: strings quoted, long values cut.
fn show(v: &Value) -> String {
    const MAX: usize = 60;
    let text = match v {
        Value::Null => "NULL".to_string(),
        Value::String(s) => format!("{s:?}"),
        other => other.render(),
    };
    if text.chars().count() > MAX {
        let mut t: String = text.chars().take(MAX).collect();
        t.push('…');
        t
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_compare_by_value_and_floats_exactly() {
        let d = FeatureType::Decimal {
            precision: 10,
            scale: 2,
        };
        assert!(same_value(
            d,
            &Value::Decimal("1.5".into()),
            &Value::Decimal("1.50".into())
        ));
        assert!(!same_value(
            d,
            &Value::Decimal("1.51".into()),
            &Value::Decimal("1.50".into())
        ));
        assert!(!same_value(
            FeatureType::Double,
            &Value::Float(0.1 + 0.2),
            &Value::Float(0.3)
        ));
        assert!(!same_value(
            FeatureType::Double,
            &Value::Null,
            &Value::Float(0.0)
        ));
    }

    #[test]
    fn long_values_are_cut_and_strings_quoted() {
        assert_eq!(show(&Value::String("a".into())), "\"a\"");
        assert_eq!(show(&Value::Null), "NULL");
        assert!(show(&Value::String("x".repeat(100))).ends_with('…'));
    }
}
