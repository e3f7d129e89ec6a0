//! Where a write's rows come from, and streaming them through validation.
//!
//! A [`Source`] is either batches already in memory or an [`InputFile`] that is read again from
//! the start on every pass, so a write never has to hold a whole file. [`Conformed`] runs one
//! pass: every batch is converted and checked as it goes by (types, NULL keys, NOT NULL
//! columns), its keys are fed to the bounded duplicate check, and only after the last batch
//! does the duplicate verdict come — as the iterator's final item. The writers consume the
//! iterator before they commit, so any rejection, even one found at the end of the file, comes
//! before a commit and leaves no new table version.
//!
//! [`SourceTable`] wraps the same pass as a DataFusion table (each execution is a fresh pass),
//! which is how delta-rs' overwrite (`with_input_plan`) and MERGE (a DataFrame source) read a
//! large input without collecting it. The rejection that stopped such a stream is kept in a
//! shared slot so the caller reports it instead of DataFusion's wrapped text.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use deltalake::arrow::array::{ArrayRef, RecordBatch, new_null_array};
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::datafusion::catalog::streaming::StreamingTable;
use deltalake::datafusion::error::DataFusionError;
use deltalake::datafusion::execution::{SendableRecordBatchStream, TaskContext};
use deltalake::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use deltalake::datafusion::physical_plan::streaming::PartitionStream;

use crate::conform::Plan;
use crate::error::{Error, Result};
use crate::input::{Batches, InputFile};
use crate::keycheck::KeyCheck;

/// A write's input.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    Batches(SchemaRef, Vec<RecordBatch>),
    File(InputFile),
}

impl Source {
    pub fn schema(&self) -> SchemaRef {
        match self {
            Source::Batches(s, _) => s.clone(),
            Source::File(f) => f.schema(),
        }
    }

    /// Rows, when known without reading the input.
    pub fn rows(&self) -> Option<u64> {
        match self {
            Source::Batches(_, b) => Some(b.iter().map(|b| b.num_rows() as u64).sum()),
            Source::File(f) => f.rows(),
        }
    }

    pub fn open(&self) -> Result<Batches> {
        match self {
            Source::Batches(_, b) => Ok(Box::new(b.clone().into_iter().map(Ok))),
            Source::File(f) => f.batches(),
        }
    }

    /// Runs a validating pass that writes nothing, for inputs already in memory: they are
    /// refused before any data file exists. (A file is validated while it is written.)
    pub fn validate_in_memory(&self, plan: &Arc<Plan>) -> Result<()> {
        if let Source::Batches(..) = self {
            for b in Conformed::new(self.clone(), plan.clone())? {
                b?;
            }
        }
        Ok(())
    }

    /// Whether the input has no rows (reads at most up to its first non-empty batch).
    pub fn is_empty(&self) -> Result<bool> {
        if let Some(n) = self.rows() {
            return Ok(n == 0);
        }
        for b in self.open()? {
            if b?.num_rows() > 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// One validating pass over a source (see the module documentation).
pub(crate) struct Conformed {
    source: Source,
    plan: Arc<Plan>,
    inner: Option<Batches>,
    check: Option<KeyCheck>,
    offset: u64,
    /// Rows yielded so far (shared, for outcomes and progress).
    pub rows: Arc<AtomicU64>,
    done: bool,
}

impl Conformed {
    pub fn new(source: Source, plan: Arc<Plan>) -> Result<Self> {
        let inner = source.open()?;
        let check = plan.key_check()?;
        Ok(Self {
            source,
            plan,
            inner: Some(inner),
            check: Some(check),
            offset: 0,
            rows: Arc::new(AtomicU64::new(0)),
            done: false,
        })
    }

    /// The duplicate verdict, once every batch went by.
    fn finish(&mut self) -> Result<()> {
        self.inner = None;
        let Some(check) = self.check.take() else {
            return Ok(());
        };
        let (check, suspects) = check.suspects()?;
        if suspects.is_empty() {
            return Ok(());
        }
        // A second pass, keeping only the suspected keys' rows.
        let plan = self.plan.clone();
        let mut offset = 0u64;
        let pass = self.source.open()?.map(move |b| {
            let b = plan.conform(&b?, offset)?;
            offset += b.num_rows() as u64;
            Ok(b)
        });
        check.confirm(&suspects, pass)
    }
}

impl Iterator for Conformed {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        if self.done {
            return None;
        }
        let step = (|| -> Result<Option<RecordBatch>> {
            while let Some(b) = self.inner.as_mut().and_then(Iterator::next) {
                let b = self.plan.conform(&b?, self.offset)?;
                if b.num_rows() == 0 {
                    continue;
                }
                self.offset += b.num_rows() as u64;
                if let Some(check) = &mut self.check {
                    check.add(&b)?;
                }
                self.rows.fetch_add(b.num_rows() as u64, Ordering::Relaxed);
                return Ok(Some(b));
            }
            self.finish()?;
            Ok(None)
        })();
        match step {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Lays a conformed batch out as `full` (the table's columns, then new ones): columns the input
/// lacks are NULL.
pub(crate) fn widen(batch: &RecordBatch, full: &SchemaRef) -> Result<RecordBatch> {
    let cols: Vec<ArrayRef> = full
        .fields()
        .iter()
        .map(|f| match batch.schema().index_of(f.name()) {
            Ok(i) => batch.column(i).clone(),
            Err(_) => new_null_array(f.data_type(), batch.num_rows()),
        })
        .collect();
    RecordBatch::try_new(full.clone(), cols).map_err(Error::arrow("assembling the write input"))
}

/// A validating pass as a DataFusion table; each execution reads the source again.
#[derive(Debug)]
pub(crate) struct SourceTable {
    source: Source,
    plan: Arc<Plan>,
    /// The output layout (`None`: the plan's schema).
    layout: SchemaRef,
    widen: bool,
    /// The rejection that ended a pass.
    pub failure: Arc<Mutex<Option<Error>>>,
    /// Rows of the last pass.
    pub rows: Arc<AtomicU64>,
}

impl SourceTable {
    pub fn new(source: Source, plan: Arc<Plan>, layout: Option<SchemaRef>) -> Arc<Self> {
        Arc::new(Self {
            source,
            widen: layout.is_some(),
            layout: layout.unwrap_or_else(|| plan.schema.clone()),
            plan,
            failure: Arc::new(Mutex::new(None)),
            rows: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn table(self: &Arc<Self>) -> Result<StreamingTable> {
        StreamingTable::try_new(self.layout.clone(), vec![self.clone()])
            .map_err(|e| Error::Internal(format!("planning the write input: {e}")))
    }

    /// The rejection that stopped the input, if that is why a write failed.
    pub fn take_failure(&self) -> Option<Error> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }
}

impl PartitionStream for SourceTable {
    fn schema(&self) -> &SchemaRef {
        &self.layout
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let failure = self.failure.clone();
        let fail = move |e: Error| {
            let msg = e.to_string();
            if let Ok(mut f) = failure.lock() {
                *f = Some(e);
            }
            DataFusionError::Execution(msg)
        };
        let pass = Conformed::new(self.source.clone(), self.plan.clone());
        let items: Box<
            dyn Iterator<Item = std::result::Result<RecordBatch, DataFusionError>> + Send,
        > = match pass {
            Err(e) => Box::new(std::iter::once(Err(fail(e)))),
            Ok(pass) => {
                self.rows.store(0, Ordering::Relaxed);
                let rows = self.rows.clone();
                let layout = self.layout.clone();
                let widen_to = self.widen;
                Box::new(pass.map(move |b| {
                    let b = b.and_then(|b| if widen_to { widen(&b, &layout) } else { Ok(b) });
                    match b {
                        Ok(b) => {
                            rows.fetch_add(b.num_rows() as u64, Ordering::Relaxed);
                            Ok(b)
                        }
                        Err(e) => Err(fail(e)),
                    }
                }))
            }
        };
        Box::pin(RecordBatchStreamAdapter::new(
            self.layout.clone(),
            futures::stream::iter(items),
        ))
    }
}
