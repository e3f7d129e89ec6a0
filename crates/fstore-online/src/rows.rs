//! The rows a full publish hands a backend: a stream of Arrow batches that the backend pulls in
//! chunks of bounded size, so memory does not grow with the table (see `docs/publishing.md`).
//!
//! The producer (fstore-publish, reading the offline view through fstore-offline) and the
//! consumer (a backend's write path) share only this type: this crate never sees where the
//! batches come from. A backend validates each chunk ([`crate::validate_batches`]) before it
//! sends it to the database, and writes chunks into a staging/shadow table (or an uncommitted
//! transaction) only; the live table changes after the last chunk.

use std::fmt;

use arrow::record_batch::RecordBatch;
use futures::stream::{BoxStream, Stream, StreamExt};

use crate::error::Result;

/// Rows a chunk gathers by default before a backend validates and sends it: large enough that
/// per-statement costs vanish, small enough that a chunk of wide rows stays a few tens of MB.
pub const DEFAULT_CHUNK_ROWS: usize = 65_536;

/// A stream of record batches with the layout's columns (already latest-per-key), pulled in
/// chunks by the backend.
pub struct RowStream {
    batches: BoxStream<'static, Result<RecordBatch>>,
    rows_hint: Option<u64>,
    chunk_rows: usize,
}

impl fmt::Debug for RowStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowStream")
            .field("rows_hint", &self.rows_hint)
            .field("chunk_rows", &self.chunk_rows)
            .finish_non_exhaustive()
    }
}

impl RowStream {
    /// `rows_hint`: how many rows the stream is expected to hold, for the progress bar (`None`
    /// when unknown; the count is never trusted for anything else).
    pub fn new(
        batches: impl Stream<Item = Result<RecordBatch>> + Send + 'static,
        rows_hint: Option<u64>,
    ) -> Self {
        Self {
            batches: batches.boxed(),
            rows_hint,
            chunk_rows: DEFAULT_CHUNK_ROWS,
        }
    }

    /// Batches already in memory (tests, small writes): one stream, exact row count.
    pub fn from_batches(batches: Vec<RecordBatch>) -> Self {
        let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
        Self::new(
            futures::stream::iter(batches.into_iter().map(Ok)),
            Some(rows),
        )
    }

    /// Chunks of at least `rows` rows (the last may be smaller); at least 1.
    pub fn with_chunk_rows(mut self, rows: usize) -> Self {
        self.chunk_rows = rows.max(1);
        self
    }

    pub fn rows_hint(&self) -> Option<u64> {
        self.rows_hint
    }

    /// The next chunk: consecutive batches adding up to at least the chunk size (fewer at the
    /// end of the stream); `None` when the stream is done. Empty batches are skipped. Not
    /// validated: the backend validates each chunk before sending it.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<RecordBatch>>> {
        let mut chunk = Vec::new();
        let mut rows = 0usize;
        while rows < self.chunk_rows {
            match self.batches.next().await {
                Some(b) => {
                    let b = b?;
                    if b.num_rows() == 0 {
                        continue;
                    }
                    rows += b.num_rows();
                    chunk.push(b);
                }
                None => break,
            }
        }
        Ok((!chunk.is_empty()).then_some(chunk))
    }
}
