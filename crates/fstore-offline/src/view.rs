//! The published view of a feature table as a stream of record batches, in memory that does not
//! grow with the table: what a full publish sends online (see `docs/publishing.md`).
//!
//! The view is the snapshot with a filter and a column selection, latest row per primary key for
//! time-series tables. A table without a timestamp key streams straight from the Parquet scan.
//! The latest-row dedup sorts by key: the DataFusion session here has a bounded memory pool
//! ([`VIEW_MEMORY_BYTES`]) and spills the sort to the system temp directory when it is full, so
//! a table larger than memory still publishes (more slowly). Every batch comes out with the
//! table's Arrow types.
//!
//! fstore-offline is the only crate that reads Delta: the publisher gets batches and the few
//! facts it needs ([`FeatureTable::committed_at`]), never a Delta handle.

use std::time::{Duration, SystemTime};

use deltalake::arrow::array::RecordBatch;
use deltalake::datafusion::prelude::SessionContext;
use deltalake::delta_datafusion::create_session_state_with_spill_config;
use futures::stream::{BoxStream, StreamExt};

use crate::error::Result;
use crate::table::{FeatureTable, df_error, to_schema};

/// Bytes the view's sort (latest row per key) may hold before it spills to disk.
pub const VIEW_MEMORY_BYTES: usize = 128 * 1024 * 1024;

/// The view's batches, pulled one at a time.
pub struct ViewStream {
    pub batches: BoxStream<'static, Result<RecordBatch>>,
    /// Rows the view holds when known without reading it (no filter, no dedup, file statistics
    /// present): for the progress bar.
    pub rows_hint: Option<u64>,
}

impl FeatureTable {
    /// Streams the published view: `columns` (None: all, in table order), rows matching
    /// `filter`, the latest row per key for time-series tables. A bad filter or column fails
    /// here, before any row is read; a read failure ends the stream with an error.
    pub async fn view_stream(
        &self,
        columns: Option<&[String]>,
        filter: Option<&str>,
    ) -> Result<ViewStream> {
        let state = create_session_state_with_spill_config(Some(VIEW_MEMORY_BYTES), None);
        let ctx = SessionContext::new_with_state(state);
        let (df, expected) = self.plan_query(&ctx, columns, filter, true, None).await?;
        let name = self.name.to_string();
        let stream = df
            .execute_stream()
            .await
            .map_err(df_error(format!("reading `{name}`")))?;
        let batches = stream
            .map(move |b| {
                let b = b.map_err(df_error(format!("reading `{name}`")))?;
                to_schema(&b, &expected)
            })
            .boxed();
        let rows_hint = if filter.is_none() && self.spec.timestamp_key.is_none() {
            self.row_count()?
        } else {
            None
        };
        Ok(ViewStream { batches, rows_hint })
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
