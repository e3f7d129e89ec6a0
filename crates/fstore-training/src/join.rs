//! Joining the spine with the feature tables, on a blocking thread: entirely in memory when
//! every table's index fits the budget, else partition by partition through spill files.
//!
//! In memory, each spine batch is probed against every index and becomes one output batch.
//!
//! With spilled tables (see `spill.rs` for the partitioning) the join takes three passes:
//! 1. the spine streams once into a spill file, and for every probe of a spilled table its keys
//!    and timestamps are hash-partitioned like the table's rows (each partition in spine order);
//! 2. per spilled table and partition, that partition's rows are indexed in memory (one at a
//!    time), its spine keys probed, and the matched feature values written out, still in spine
//!    order;
//! 3. the spine is read back batch by batch: in-memory tables are probed as usual, and each spilled
//!    probe's values are taken from the partitions' results — every spine row's partition is
//!    recomputed from its key, and the next unread row of that partition is its value — then
//!    interleaved back into spine order. The output is row for row the in-memory path's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{interleave, take};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use fstore_core::Progress;
use tempfile::TempDir;
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::index::{Index, to_micros};
use crate::plan::{OutColumn, Plan, ProbePlan};
use crate::spill::{KeyHasher, Partitioner, RowCursor, SpillReader, SpillWriter};
use crate::spine::SpineReader;

/// A feature table spilled to partition files (its projected columns, keys first).
pub(crate) struct SpilledTable {
    pub name: String,
    pub schema: SchemaRef,
    pub key_count: usize,
    pub ts_column: Option<usize>,
    /// One file per partition.
    pub parts: Vec<PathBuf>,
}

impl SpilledTable {
    fn key_types(&self) -> Vec<DataType> {
        (0..self.key_count)
            .map(|i| self.schema.field(i).data_type().clone())
            .collect()
    }
}

/// A feature table ready to be joined.
pub(crate) enum Loaded {
    Memory(Index),
    Spilled(SpilledTable),
}

pub(crate) struct Joiner {
    pub plan: Plan,
    pub tables: Vec<Loaded>,
    pub progress: Arc<dyn Progress>,
    /// Holds the spill files; `Some` when a table was spilled.
    pub spill: Option<TempDir>,
    /// Bytes the partition writers may buffer together.
    pub buffer_bytes: usize,
}

impl Joiner {
    pub fn run(self, reader: SpineReader, tx: mpsc::Sender<Result<RecordBatch>>) {
        let Joiner {
            plan,
            tables,
            progress,
            spill,
            buffer_bytes,
        } = self;
        let ctx = Ctx {
            plan: &plan,
            tables: &tables,
            progress: progress.as_ref(),
            tx: &tx,
        };
        let result = match &spill {
            None => ctx.in_memory(reader),
            Some(dir) => ctx.spilled(reader, dir.path(), buffer_bytes),
        };
        drop(tables);
        // Remove the spill files before the consumer hears of the end or of an error, so a
        // finished training set — failed or not — has left nothing behind.
        drop(spill);
        if let Err(e) = result {
            let _ = tx.blocking_send(Err(e));
        }
    }
}

struct Ctx<'a> {
    plan: &'a Plan,
    tables: &'a [Loaded],
    progress: &'a dyn Progress,
    tx: &'a mpsc::Sender<Result<RecordBatch>>,
}

/// `Ok(false)`: the consumer is gone, stop.
type Sent = Result<bool>;

impl Ctx<'_> {
    fn send(&self, batch: RecordBatch) -> Sent {
        self.progress.inc(batch.num_rows() as u64);
        Ok(self.tx.blocking_send(Ok(batch)).is_ok())
    }

    fn in_memory(&self, mut reader: SpineReader) -> Result<()> {
        while let Some(batch) = reader.next_batch() {
            let batch = batch?;
            let out = self.join(&batch, &[])?;
            if !self.send(out)? {
                break;
            }
        }
        Ok(())
    }

    /// Probes the in-memory tables and assembles the output batch; `spilled[p]` holds the
    /// values of spilled probe `p` (columns in [`Ctx::outputs`] order), already in spine order.
    fn join(&self, spine: &RecordBatch, spilled: &[Option<Vec<ArrayRef>>]) -> Result<RecordBatch> {
        let mut matches: Vec<Option<UInt32Array>> = Vec::with_capacity(self.plan.probes.len());
        for p in &self.plan.probes {
            matches.push(match &self.tables[p.table] {
                Loaded::Memory(index) => Some(probe(index, p, spine)?),
                Loaded::Spilled(_) => None,
            });
        }
        let columns = self
            .plan
            .columns
            .iter()
            .map(|c| match c {
                OutColumn::Spine(i) => Ok(spine.column(*i).clone()),
                OutColumn::Feature { probe, column } => {
                    match (
                        &self.tables[self.plan.probes[*probe].table],
                        &matches[*probe],
                    ) {
                        (Loaded::Memory(index), Some(m)) => {
                            take(index.features.column(*column).as_ref(), m, None)
                                .map_err(Error::arrow("gathering feature values"))
                        }
                        _ => {
                            let at = self
                                .outputs(*probe)
                                .iter()
                                .position(|c| c == column)
                                .ok_or_else(|| Error::Internal("unplanned feature".into()))?;
                            spilled
                                .get(*probe)
                                .and_then(Option::as_ref)
                                .map(|cols| cols[at].clone())
                                .ok_or_else(|| {
                                    Error::Internal("a spilled probe has no values".into())
                                })
                        }
                    }
                }
            })
            .collect::<Result<Vec<_>>>()?;
        RecordBatch::try_new(self.plan.schema.clone(), columns)
            .map_err(Error::arrow("assembling an output batch"))
    }

    /// The feature columns (of its table's projection) probe `p` outputs, in first-use order.
    fn outputs(&self, p: usize) -> Vec<usize> {
        let mut out = Vec::new();
        for c in &self.plan.columns {
            if let OutColumn::Feature { probe, column } = c
                && *probe == p
                && !out.contains(column)
            {
                out.push(*column);
            }
        }
        out
    }

    /// The spilled table probe `p` reads, unless it reads an in-memory one or outputs nothing.
    fn spilled_table(&self, p: usize) -> Option<&SpilledTable> {
        match &self.tables[self.plan.probes[p].table] {
            Loaded::Spilled(t) if !self.outputs(p).is_empty() => Some(t),
            _ => None,
        }
    }

    fn spilled(&self, mut reader: SpineReader, dir: &Path, buffer_bytes: usize) -> Result<()> {
        let spilled_probes: Vec<usize> = (0..self.plan.probes.len())
            .filter(|&p| self.spilled_table(p).is_some())
            .collect();

        // Pass 1: the spine to disk, and each spilled probe's keys partitioned.
        self.progress.set_stage("spilling the spine");
        let mut spine_file = SpillWriter::create(dir.join("spine.arrow"), &reader.schema)?;
        let mut probe_parts: Vec<Option<Partitioner>> = Vec::new();
        for (p, plan) in self.plan.probes.iter().enumerate() {
            let Some(t) = self.spilled_table(p) else {
                probe_parts.push(None);
                continue;
            };
            let mut fields: Vec<Field> = plan
                .spine_keys
                .iter()
                .map(|&i| reader.schema.field(i).clone().with_nullable(true))
                .collect();
            if plan.spine_ts.is_some() {
                fields.push(Field::new("__fstore_ts", DataType::Int64, true));
            }
            let hasher = KeyHasher::new(t.key_types(), t.parts.len())?;
            probe_parts.push(Some(Partitioner::new(
                dir,
                &format!("probe{p}"),
                Arc::new(Schema::new(fields)),
                (0..plan.spine_keys.len()).collect(),
                hasher,
                buffer_bytes / spilled_probes.len().max(1),
            )?));
        }
        while let Some(batch) = reader.next_batch() {
            let batch = batch?;
            let batch = RecordBatch::try_new(reader.schema.clone(), batch.columns().to_vec())
                .map_err(Error::arrow("spilling a spine batch"))?;
            spine_file.write(&batch)?;
            for (plan, part) in self.plan.probes.iter().zip(&mut probe_parts) {
                let Some(part) = part else { continue };
                let mut cols: Vec<ArrayRef> = plan
                    .spine_keys
                    .iter()
                    .map(|&i| batch.column(i).clone())
                    .collect();
                if let Some(i) = plan.spine_ts {
                    cols.push(Arc::new(to_micros(batch.column(i).as_ref())?));
                }
                let fields = cols
                    .iter()
                    .enumerate()
                    .map(|(i, c)| Field::new(format!("c{i}"), c.data_type().clone(), true))
                    .collect::<Vec<_>>();
                let keys = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
                    .map_err(Error::arrow("spilling spine keys"))?;
                part.push(&keys)?;
            }
        }
        let spine_path = spine_file.finish()?;
        let mut probe_files: Vec<Option<Vec<PathBuf>>> = Vec::new();
        for part in probe_parts {
            probe_files.push(part.map(Partitioner::finish).transpose()?);
        }

        // Pass 2: partition by partition, index and probe.
        for (t, loaded) in self.tables.iter().enumerate() {
            let Loaded::Spilled(table) = loaded else {
                continue;
            };
            let n = table.parts.len();
            for (q, path) in table.parts.iter().enumerate() {
                self.progress.set_stage(&format!(
                    "joining {} (partition {} of {n})",
                    table.name,
                    q + 1
                ));
                let rows = SpillReader::open(path)?.read_all()?;
                let key_columns: Vec<usize> = (0..table.key_count).collect();
                let index = Index::build(rows, &key_columns, table.ts_column)?;
                remove(path);
                for (p, plan) in self.plan.probes.iter().enumerate() {
                    let Some(files) = probe_files[p].as_ref().filter(|_| plan.table == t) else {
                        continue;
                    };
                    let outputs = self.outputs(p);
                    let schema = Arc::new(
                        index
                            .features
                            .schema()
                            .project(&outputs)
                            .map_err(Error::arrow("projecting feature values"))?,
                    );
                    let input = &files[q];
                    let mut keys = SpillReader::open(input)?;
                    let mut out =
                        SpillWriter::create(dir.join(format!("result{p}-{q}.arrow")), &schema)?;
                    while let Some(batch) = keys.next_batch() {
                        let batch = batch?;
                        let nk = plan.spine_keys.len();
                        let key_cols: Vec<ArrayRef> = batch.columns()[..nk].to_vec();
                        let ts = plan
                            .spine_ts
                            .map(|_| batch.column(nk).as_primitive::<Int64Type>().clone());
                        let m = index.probe(&key_cols, ts.as_ref(), plan.lookback)?;
                        let cols = outputs
                            .iter()
                            .map(|&c| {
                                take(index.features.column(c).as_ref(), &m, None)
                                    .map_err(Error::arrow("gathering feature values"))
                            })
                            .collect::<Result<Vec<_>>>()?;
                        out.write(
                            &RecordBatch::try_new(schema.clone(), cols)
                                .map_err(Error::arrow("assembling feature values"))?,
                        )?;
                    }
                    out.finish()?;
                    remove(input);
                }
            }
        }

        // Pass 3: the spine again, each spilled probe's values merged back into spine order.
        self.progress.set_stage("joining");
        let mut cursors: Vec<Option<(KeyHasher, Vec<RowCursor>)>> = Vec::new();
        for p in 0..self.plan.probes.len() {
            let Some(t) = self.spilled_table(p) else {
                cursors.push(None);
                continue;
            };
            let files = (0..t.parts.len())
                .map(|q| RowCursor::open(&dir.join(format!("result{p}-{q}.arrow"))))
                .collect::<Result<Vec<_>>>()?;
            cursors.push(Some((KeyHasher::new(t.key_types(), t.parts.len())?, files)));
        }
        let mut spine = SpillReader::open(&spine_path)?;
        while let Some(batch) = spine.next_batch() {
            let batch = batch?;
            let mut values: Vec<Option<Vec<ArrayRef>>> = Vec::with_capacity(cursors.len());
            for (p, c) in cursors.iter_mut().enumerate() {
                let Some((hasher, files)) = c else {
                    values.push(None);
                    continue;
                };
                values.push(Some(merge(
                    &self.plan.probes[p],
                    &batch,
                    hasher,
                    files,
                    self.outputs(p).len(),
                )?));
            }
            let out = self.join(&batch, &values)?;
            if !self.send(out)? {
                break;
            }
        }
        Ok(())
    }
}

/// Probe `p`'s values for a spine batch, in spine order, from its partitions' result files.
fn merge(
    p: &ProbePlan,
    spine: &RecordBatch,
    hasher: &KeyHasher,
    files: &mut [RowCursor],
    columns: usize,
) -> Result<Vec<ArrayRef>> {
    let keys: Vec<ArrayRef> = p
        .spine_keys
        .iter()
        .map(|&i| spine.column(i).clone())
        .collect();
    let of = hasher.partitions(&keys)?;
    let mut counts = vec![0usize; files.len()];
    for &q in &of {
        counts[q as usize] += 1;
    }
    // Slot of each partition among the pieces taken, and the next row to use in it.
    let mut slot = vec![usize::MAX; files.len()];
    let mut pieces = Vec::new();
    for (q, &n) in counts.iter().enumerate() {
        if n > 0 {
            slot[q] = pieces.len();
            pieces.push(files[q].take(n)?);
        }
    }
    let mut next = vec![0usize; pieces.len()];
    let indices: Vec<(usize, usize)> = of
        .iter()
        .map(|&q| {
            let s = slot[q as usize];
            let r = next[s];
            next[s] += 1;
            (s, r)
        })
        .collect();
    (0..columns)
        .map(|j| {
            let arrays: Vec<&dyn Array> = pieces.iter().map(|b| b.column(j).as_ref()).collect();
            if arrays.is_empty() {
                // An empty spine batch never reaches here (the reader skips them).
                return Err(Error::Internal("merging an empty batch".into()));
            }
            interleave(&arrays, &indices).map_err(Error::arrow("merging feature values"))
        })
        .collect()
}

/// Deletes a spill file already used, to give its disk space back early; the directory's removal
/// at the end catches any left.
fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}

fn probe(index: &Index, p: &ProbePlan, spine: &RecordBatch) -> Result<UInt32Array> {
    let keys: Vec<ArrayRef> = p
        .spine_keys
        .iter()
        .map(|&i| spine.column(i).clone())
        .collect();
    let ts = p
        .spine_ts
        .map(|i| to_micros(spine.column(i).as_ref()))
        .transpose()?;
    index.probe(&keys, ts.as_ref(), p.lookback)
}
