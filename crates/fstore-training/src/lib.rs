//! Point-in-time correct training sets (PRODUCT.md §7): a spine — entity keys, an event time and
//! labels — joined with feature lookups, the offline half of Databricks' `create_training_set`.
//!
//! Tables without a timestamp key are joined exactly (a LEFT join on the primary keys); time-series
//! tables are joined as of each spine row's time: the feature row with equal keys and the greatest
//! `feature_ts <= spine_ts`, optionally no older than a lookback window, else NULLs. Nothing from
//! after a label's time reaches its row. Rules and column order follow databricks-reference.md §e
//! (see `plan.rs`).
//!
//! How: each feature table is read once at a fixed Delta version, projected to the columns
//! needed, and indexed in memory by key and time (`index.rs`). The spine is then streamed batch by
//! batch through the index on a blocking thread; each batch becomes one output batch with the
//! spine's rows in the spine's order (duplicates kept). Memory is therefore bounded by the
//! projected feature tables plus a few batches, whatever the size of the spine; output is written
//! by a second thread while the next batch is joined.

mod error;
mod index;
mod lookup;
mod plan;
mod spine;
mod write;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use arrow::compute::{concat_batches, take};
use arrow::datatypes::SchemaRef;
use fstore_core::{NoProgress, Progress, TableName};
use fstore_offline::{OfflineStore, TimeTravel};
use tokio::sync::mpsc;

pub use error::{Error, Result};
pub use lookup::{FeatureLookup, parse_duration};
pub use spine::Spine;
pub use write::{OutputFormat, WriteSummary};

use crate::index::{Index, to_micros};
use crate::plan::{OutColumn, Plan};
use crate::spine::SpineReader;

/// Spine rows per joined batch unless [`TrainingOptions::batch_size`] says otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 8192;

/// Joined batches buffered between the joining thread and the consumer.
const CHANNEL_BATCHES: usize = 4;

/// Everything about a training set besides its spine and lookups.
#[derive(Clone)]
pub struct TrainingOptions {
    /// Spine columns that are labels: kept, and placed last.
    pub label: Vec<String>,
    /// Columns (spine or feature outputs) to leave out. Labels cannot be excluded.
    pub exclude: Vec<String>,
    /// The version every table (the spine table too) is read at, unless `table_versions` names it.
    pub as_of: TimeTravel,
    /// Per-table versions, overriding `as_of`.
    pub table_versions: HashMap<TableName, TimeTravel>,
    /// Spine rows per output batch.
    pub batch_size: usize,
    /// Receives stages and joined-row counts.
    pub progress: Arc<dyn Progress>,
}

impl Default for TrainingOptions {
    fn default() -> Self {
        Self {
            label: Vec::new(),
            exclude: Vec::new(),
            as_of: TimeTravel::Latest,
            table_versions: HashMap::new(),
            batch_size: DEFAULT_BATCH_SIZE,
            progress: Arc::new(NoProgress),
        }
    }
}

impl std::fmt::Debug for TrainingOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainingOptions")
            .field("label", &self.label)
            .field("exclude", &self.exclude)
            .field("as_of", &self.as_of)
            .field("table_versions", &self.table_versions)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl TrainingOptions {
    fn version_of(&self, table: &TableName) -> TimeTravel {
        self.table_versions
            .get(table)
            .copied()
            .unwrap_or(self.as_of)
    }
}

/// A table the training set read, and at which Delta version: pass these versions back (e.g.
/// `--as-of-version <table>=<version>`) to rebuild the same training set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableRead {
    pub name: TableName,
    pub version: i64,
}

/// A training set being produced: its schema up front, then its batches in spine order.
pub struct TrainingSet {
    schema: SchemaRef,
    tables: Vec<TableRead>,
    total_rows: Option<u64>,
    rx: mpsc::Receiver<Result<RecordBatch>>,
}

impl std::fmt::Debug for TrainingSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainingSet")
            .field("schema", &self.schema)
            .field("tables", &self.tables)
            .finish_non_exhaustive()
    }
}

impl TrainingSet {
    /// The output columns: spine columns, then features in lookup order, then labels.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The tables read (the spine table first, if the spine is one) and their versions.
    pub fn tables_read(&self) -> &[TableRead] {
        &self.tables
    }

    /// Rows in the spine (and so in the output), when known before reading it.
    pub fn total_rows(&self) -> Option<u64> {
        self.total_rows
    }

    /// The next batch, `None` at the end.
    pub async fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        self.rx.recv().await
    }

    /// The next batch from a blocking thread.
    pub(crate) fn blocking_next_batch(&mut self) -> Option<Result<RecordBatch>> {
        self.rx.blocking_recv()
    }

    /// Every batch (for small training sets and tests).
    pub async fn collect(mut self) -> Result<Vec<RecordBatch>> {
        let mut out = Vec::new();
        while let Some(b) = self.next_batch().await {
            out.push(b?);
        }
        Ok(out)
    }
}

/// Builds a training set: checks the request, reads and indexes every feature table at its
/// version, and starts joining the spine. Errors in the request surface here; errors while
/// reading the spine surface from [`TrainingSet::next_batch`].
pub async fn training_set(
    offline: &OfflineStore,
    spine: Spine,
    lookups: Vec<FeatureLookup>,
    opts: TrainingOptions,
) -> Result<TrainingSet> {
    let progress = opts.progress.clone();
    progress.set_stage("opening the spine");
    let spine_at = match &spine {
        Spine::Table(name) => opts.version_of(name),
        _ => opts.as_of,
    };
    let (reader, spine_read) =
        SpineReader::open(&spine, offline, spine_at, opts.batch_size).await?;
    let mut tables_read: Vec<TableRead> = spine_read
        .map(|(name, version)| TableRead { name, version })
        .into_iter()
        .collect();

    // Open each distinct table once, in order of first use.
    let mut names: Vec<TableName> = Vec::new();
    for l in &lookups {
        if !names.contains(&l.table) {
            names.push(l.table.clone());
        }
    }
    let mut opened = Vec::with_capacity(names.len());
    for name in &names {
        let t = offline.open_at(name, opts.version_of(name)).await?;
        tables_read.push(TableRead {
            name: name.clone(),
            version: t.version,
        });
        opened.push(t);
    }
    let plan = plan::resolve(&reader.schema, &lookups, opened, &opts.label, &opts.exclude)?;

    let mut indexes = Vec::with_capacity(plan.tables.len());
    for t in &plan.tables {
        progress.set_stage(&format!(
            "reading {} (version {})",
            t.table.name, t.table.version
        ));
        let batches = t.table.scan(Some(&t.columns), None).await?;
        let schema = Arc::new(
            t.table
                .schema
                .project(
                    &t.columns
                        .iter()
                        .map(|c| t.table.schema.index_of(c))
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(Error::arrow("projecting the feature table"))?,
                )
                .map_err(Error::arrow("projecting the feature table"))?,
        );
        progress.set_stage(&format!("indexing {}", t.table.name));
        let key_columns: Vec<usize> = (0..t.key_count()).collect();
        let ts_column = t.ts_column();
        let name = t.table.name.to_string();
        let index = tokio::task::spawn_blocking(move || {
            let all = concat_batches(&schema, &batches)
                .map_err(Error::arrow(format!("gathering the rows of `{name}`")))?;
            drop(batches);
            Index::build(all, &key_columns, ts_column)
        })
        .await
        .map_err(|e| Error::Internal(format!("indexing thread failed: {e}")))??;
        indexes.push(index);
    }

    let schema = plan.schema.clone();
    let total_rows = reader.total_rows;
    if let Some(n) = total_rows {
        progress.set_total(n);
    }
    progress.set_stage("joining");
    let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
    let joiner = Joiner {
        plan,
        indexes,
        progress,
    };
    tokio::task::spawn_blocking(move || joiner.run(reader, tx));
    Ok(TrainingSet {
        schema,
        tables: tables_read,
        total_rows,
        rx,
    })
}

/// Joins spine batches against the indexes, on a blocking thread.
struct Joiner {
    plan: Plan,
    indexes: Vec<Index>,
    progress: Arc<dyn Progress>,
}

impl Joiner {
    fn run(self, mut reader: SpineReader, tx: mpsc::Sender<Result<RecordBatch>>) {
        while let Some(batch) = reader.next_batch() {
            let out = batch.and_then(|b| {
                let n = b.num_rows() as u64;
                let out = self.join(&b);
                self.progress.inc(n);
                out
            });
            let failed = out.is_err();
            if tx.blocking_send(out).is_err() || failed {
                return; // the consumer is gone, or told of the failure
            }
        }
    }

    fn join(&self, spine: &RecordBatch) -> Result<RecordBatch> {
        let mut matches: Vec<UInt32Array> = Vec::with_capacity(self.plan.probes.len());
        for p in &self.plan.probes {
            let keys: Vec<ArrayRef> = p
                .spine_keys
                .iter()
                .map(|&i| spine.column(i).clone())
                .collect();
            let ts = p
                .spine_ts
                .map(|i| to_micros(spine.column(i).as_ref()))
                .transpose()?;
            matches.push(self.indexes[p.table].probe(&keys, ts.as_ref(), p.lookback)?);
        }
        let columns = self
            .plan
            .columns
            .iter()
            .map(|c| match c {
                OutColumn::Spine(i) => Ok(spine.column(*i).clone()),
                OutColumn::Feature { probe, column } => {
                    let index = &self.indexes[self.plan.probes[*probe].table];
                    take(
                        index.features.column(*column).as_ref(),
                        &matches[*probe],
                        None,
                    )
                    .map_err(Error::arrow("gathering feature values"))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        RecordBatch::try_new(self.plan.schema.clone(), columns)
            .map_err(Error::arrow("assembling an output batch"))
    }
}
