//! Streaming reads of a feature table, in memory that does not grow with the table: the one
//! scan behind `tables read` (with `--limit` pushed into the plan), a training set's spine
//! table, and the published view a full publish sends online (see `docs/publishing.md`).
//!
//! A scan is the snapshot with a filter and a column selection, optionally the latest row per
//! primary key for time-series tables (the published view), optionally at most `limit` rows.
//! Rows come batch by batch from DataFusion's `execute_stream`. Without the latest-row rule a
//! scan streams straight from the Parquet files, and a limit stops it once enough rows came
//! (DataFusion pushes the limit into the Delta scan, so `--limit 5` opens one file). The
//! latest-row dedup sorts by key: every scan's DataFusion session has a bounded memory pool
//! ([`VIEW_MEMORY_BYTES`]) and spills the sort to the system temp directory when it is full, so
//! a table larger than memory still publishes (more slowly). Every batch comes out with the
//! table's Arrow types.
//!
//! fstore-offline is the only crate that reads Delta: the publisher, the CLI and the training
//! crate get batches and the few facts they need ([`FeatureTable::committed_at`]), never a
//! Delta handle.

use std::time::{Duration, SystemTime};

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::datatypes::{DataType, SchemaRef};
use deltalake::datafusion::prelude::{SessionContext, cast, ident};
use deltalake::delta_datafusion::create_session_state_with_spill_config;
use futures::stream::{BoxStream, StreamExt};

use crate::error::Result;
use crate::table::{FeatureTable, df_error, to_schema};

/// Bytes a scan's sort (latest row per key) may hold before it spills to disk.
pub const VIEW_MEMORY_BYTES: usize = 128 * 1024 * 1024;

/// Batches of a read, in the table's Arrow types, pulled one at a time.
pub type BatchStream = BoxStream<'static, Result<RecordBatch>>;

/// What a streamed read returns.
pub struct ViewStream {
    /// The schema of every batch (also when there are none).
    pub schema: SchemaRef,
    pub batches: BatchStream,
    /// Rows the scan yields when known without reading it (no filter, no dedup, no limit, file
    /// statistics present): for the progress bar.
    pub rows_hint: Option<u64>,
}

/// Which rows a streamed read yields.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scan<'a> {
    /// Columns, in this order (None or empty: all, in table order).
    pub columns: Option<&'a [String]>,
    /// A SQL predicate over the table's columns.
    pub filter: Option<&'a str>,
    /// Time-series tables: only the latest row per primary key (chosen after the filter).
    pub latest: bool,
    /// At most this many rows.
    pub limit: Option<usize>,
    /// Sorted by these columns, ascending (after the dedup; before the limit).
    pub order_by: Option<&'a [SortKey]>,
}

/// One column of a sort ([`Scan::order_by`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortKey {
    pub column: String,
    /// Order by the column's text (`CAST(column AS VARCHAR)`) instead of its value: what a
    /// store that keeps decimals as text sorts by (`"10.00"` before `"9.00"`).
    pub as_text: bool,
}

impl SortKey {
    /// Order by `column`'s value.
    pub fn value(column: impl Into<String>) -> Self {
        Self {
            column: column.into(),
            as_text: false,
        }
    }
}

impl ViewStream {
    /// Every batch, in memory (for callers that want them all, e.g. a bounded `--limit`).
    pub async fn collect(self) -> Result<Vec<RecordBatch>> {
        use futures::TryStreamExt;
        self.batches.try_collect().await
    }
}

impl FeatureTable {
    /// Streams the rows `scan` selects. A bad filter or column fails here, before any row is
    /// read; a read failure ends the stream with an error.
    pub async fn stream(&self, scan: Scan<'_>) -> Result<ViewStream> {
        let state = create_session_state_with_spill_config(Some(VIEW_MEMORY_BYTES), None);
        let ctx = SessionContext::new_with_state(state);
        let (mut df, expected) = self
            .plan_query(&ctx, scan.columns, scan.filter, scan.latest, None)
            .await?;
        if let Some(keys) = scan.order_by.filter(|k| !k.is_empty()) {
            let mut sort = Vec::with_capacity(keys.len());
            for k in keys {
                if expected.field_with_name(&k.column).is_err() {
                    return Err(crate::Error::Internal(format!(
                        "cannot sort the rows of `{}` by `{}`, which the scan does not read",
                        self.name, k.column
                    )));
                }
                let e = ident(&k.column);
                let e = if k.as_text {
                    cast(e, DataType::Utf8)
                } else {
                    e
                };
                sort.push(e.sort(true, false));
            }
            df = df.sort(sort).map_err(df_error("planning the sort"))?;
        }
        if let Some(n) = scan.limit {
            df = df
                .limit(0, Some(n))
                .map_err(df_error("planning the limit"))?;
        }
        let name = self.name.to_string();
        let stream = df
            .execute_stream()
            .await
            .map_err(df_error(format!("reading `{name}`")))?;
        let schema = expected.clone();
        let batches = stream
            .map(move |b| {
                let b = b.map_err(df_error(format!("reading `{name}`")))?;
                to_schema(&b, &expected)
            })
            .boxed();
        let dedup = scan.latest && self.spec.timestamp_key.is_some();
        let rows_hint = match (scan.filter, dedup) {
            (None, false) => self
                .row_count()?
                .map(|n| scan.limit.map_or(n, |l| n.min(l as u64))),
            _ => None,
        };
        Ok(ViewStream {
            schema,
            batches,
            rows_hint,
        })
    }

    /// Like [`FeatureTable::scan`] (`columns`, `filter`), streamed, and at most `limit` rows.
    pub async fn scan_stream(
        &self,
        columns: Option<&[String]>,
        filter: Option<&str>,
        limit: Option<usize>,
    ) -> Result<ViewStream> {
        self.stream(Scan {
            columns,
            filter,
            latest: false,
            limit,
            order_by: None,
        })
        .await
    }

    /// Streams the published view: `columns` (None: all, in table order), rows matching
    /// `filter`, the latest row per key for time-series tables.
    pub async fn view_stream(
        &self,
        columns: Option<&[String]>,
        filter: Option<&str>,
    ) -> Result<ViewStream> {
        self.stream(Scan {
            columns,
            filter,
            latest: true,
            limit: None,
            order_by: None,
        })
        .await
    }

    /// When this version was committed (from the Delta log), if known.
    pub fn committed_at(&self) -> Option<SystemTime> {
        self.delta()
            .snapshot()
            .ok()
            .and_then(|s| s.version_timestamp(self.version as u64))
            .and_then(|ms| u64::try_from(ms).ok())
            .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
    }
}
