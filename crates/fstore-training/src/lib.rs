//! Point-in-time correct training sets (PRODUCT.md §7): a spine — entity keys, an event time and
//! labels — joined with feature lookups, the offline half of Databricks' `create_training_set`.
//!
//! Tables without a timestamp key are joined exactly (a LEFT join on the primary keys); time-series
//! tables are joined as of each spine row's time: the feature row with equal keys and the greatest
//! `feature_ts <= spine_ts`, optionally no older than a lookback window, else NULLs. Nothing from
//! after a label's time reaches its row. Rules and column order follow databricks-reference.md §e
//! (see `plan.rs`).
//!
//! How: each feature table is read once at a fixed Delta version, streamed and projected to the
//! columns needed, and indexed in memory by key and time (`index.rs`) — while the indexes fit the
//! memory budget ([`TrainingOptions::memory_limit`], `budget.rs`). A table that would exceed it is
//! instead hash-partitioned by key into spill files (`spill.rs`) and joined one partition at a time
//! (`join.rs`). The spine streams batch by batch through the join on a blocking thread; output
//! batches hold the spine's rows in the spine's order (duplicates kept), the same with or without
//! spilling. Memory is therefore bounded by the budget plus a few batches, whatever the sizes of
//! the spine and the tables; output is written by a second thread while the next batch is joined.

mod budget;
mod error;
mod index;
mod join;
mod lookup;
mod plan;
mod spill;
mod spine;
mod write;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use fstore_core::{NoProgress, Progress, TableName};
use fstore_offline::{OfflineStore, TimeTravel};
use futures::StreamExt;
use tokio::sync::mpsc;

pub use budget::{DEFAULT_MEMORY_LIMIT, parse_size};
pub use error::{Error, Result};
pub use lookup::{FeatureLookup, parse_duration};
pub use spine::Spine;
pub use write::{OutputFormat, WriteSummary};

use crate::index::Index;
use crate::join::{Joiner, Loaded, SpilledTable};
use crate::plan::TablePlan;
use crate::spill::{KeyHasher, MAX_PARTITIONS, Partitioner};
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
    /// Bytes the feature tables' in-memory indexes may take together; a table that would go
    /// past it is spilled to disk and joined partition by partition.
    pub memory_limit: usize,
    /// Where spill files go (in a fresh directory removed at the end); `None`: the system's
    /// temporary directory (`TMPDIR`).
    pub spill_dir: Option<PathBuf>,
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
            memory_limit: DEFAULT_MEMORY_LIMIT,
            spill_dir: None,
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
            .field("memory_limit", &self.memory_limit)
            .field("spill_dir", &self.spill_dir)
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

    let mut tables = Vec::with_capacity(plan.tables.len());
    let mut spill: Option<tempfile::TempDir> = None;
    let mut held = 0usize;
    for (number, t) in plan.tables.iter().enumerate() {
        let loaded = load(number, t, &opts, &mut held, &mut spill).await?;
        tables.push(loaded);
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
        tables,
        progress,
        spill,
        buffer_bytes: opts.memory_limit / 4,
    };
    tokio::task::spawn_blocking(move || joiner.run(reader, tx));
    Ok(TrainingSet {
        schema,
        tables: tables_read,
        total_rows,
        rx,
    })
}

/// Reads one feature table and indexes it in memory, or — when the indexes so far (`held`
/// bytes) plus this one would exceed the budget — partitions it into spill files under `spill`
/// (created on first use). Spill writes happen on this task: they are buffered, and only a
/// table past the budget pays for them.
async fn load(
    number: usize,
    t: &TablePlan,
    opts: &TrainingOptions,
    held: &mut usize,
    spill: &mut Option<tempfile::TempDir>,
) -> Result<Loaded> {
    let progress = &opts.progress;
    progress.set_stage(&format!(
        "reading {} (version {})",
        t.table.name, t.table.version
    ));
    let view = t.table.scan_stream(Some(&t.columns), None, None).await?;
    let schema = view.schema.clone();
    let rows_hint = view.rows_hint;
    let mut stream = view.batches;
    let key_columns: Vec<usize> = (0..t.key_count()).collect();
    let ts_column = t.ts_column();
    let name = t.table.name.to_string();

    let mut batches = Vec::new();
    let (mut bytes, mut rows) = (0usize, 0u64);
    let mut parts: Option<Partitioner> = None;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        if let Some(p) = &mut parts {
            p.push(&batch)?;
            continue;
        }
        bytes += budget::index_bytes(&batch);
        rows += batch.num_rows() as u64;
        batches.push(batch);
        if held.saturating_add(bytes) > opts.memory_limit {
            let dir = match spill {
                Some(d) => d,
                None => spill.insert(spill_dir(opts)?),
            };
            // Size partitions from the table's row count (Delta statistics) and the bytes per
            // row seen so far, to fit what the budget leaves (at least a quarter of it).
            let per_row = bytes as f64 / rows.max(1) as f64;
            let total = rows_hint.map_or(bytes as u64 * 4, |n| (n as f64 * per_row) as u64);
            let room = opts
                .memory_limit
                .saturating_sub(*held)
                .max(opts.memory_limit / 4);
            let n = budget::partition_count(total, room / 2, MAX_PARTITIONS);
            progress.set_stage(&format!(
                "spilling {name} to disk in {n} partitions (the memory limit is {} bytes)",
                opts.memory_limit
            ));
            tracing::info!(table = %name, partitions = n, memory_limit = opts.memory_limit, "training set: spilling a feature table");
            let key_types = key_columns
                .iter()
                .map(|&i| schema.field(i).data_type().clone())
                .collect();
            let mut p = Partitioner::new(
                dir.path(),
                &format!("table{number}"),
                schema.clone(),
                key_columns.clone(),
                KeyHasher::new(key_types, n)?,
                opts.memory_limit / 4,
            )?;
            for b in batches.drain(..) {
                p.push(&b)?;
            }
            parts = Some(p);
        }
    }
    if let Some(p) = parts {
        return Ok(Loaded::Spilled(SpilledTable {
            name,
            schema,
            key_count: key_columns.len(),
            ts_column,
            parts: p.finish()?,
        }));
    }
    *held += bytes;
    progress.set_stage(&format!("indexing {name}"));
    let index = tokio::task::spawn_blocking(move || {
        let all = concat_batches(&schema, &batches)
            .map_err(Error::arrow(format!("gathering the rows of `{name}`")))?;
        drop(batches);
        Index::build(all, &key_columns, ts_column)
    })
    .await
    .map_err(|e| Error::Internal(format!("indexing thread failed: {e}")))??;
    Ok(Loaded::Memory(index))
}

/// A fresh directory for this training set's spill files.
fn spill_dir(opts: &TrainingOptions) -> Result<tempfile::TempDir> {
    let parent = opts.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
    tempfile::Builder::new()
        .prefix("fstore-training-")
        .tempdir_in(&parent)
        .map_err(Error::io(format!(
            "creating a spill directory in {} (the feature tables exceed the memory limit; point the spill directory (--spill-dir) at a writable place with free space, or raise --memory-limit)",
            parent.display()
        )))
}
