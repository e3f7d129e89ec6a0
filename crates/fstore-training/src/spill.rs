//! Spill files for training sets whose feature tables do not fit the memory budget: rows
//! hash-partitioned by join key into Arrow IPC stream files, and reading them back.
//!
//! A [`KeyHasher`] sends a row to partition `hash(row-format key bytes) % parts`. The feature
//! table's rows and the spine's keys go through the same hasher (spine keys cast to the table's
//! key types first, as the probe does), so a spine row and every feature row it can match land in
//! the same partition. A [`Partitioner`] appends rows to each partition in the order it receives
//! them, so a partition keeps the table's read order (duplicate rows resolve as in memory) and the
//! spine's order (results come back sorted by spine row). Files live in a [`tempfile::TempDir`]
//! owned by the join, removed when it ends, on success, error or cancellation.

use std::fs::File;
use std::hash::BuildHasher;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use arrow::compute::{concat_batches, take_record_batch};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::row::{RowConverter, SortField};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;

use crate::error::{Error, Result};
use crate::index::cast_keys;

/// A seed unlike the index's hash maps' (which use the default): partitioning by the low bits of
/// the same hash would leave every key of a partition in the same few buckets of its index.
const PARTITION_SEED: u64 = 0x51_7cc1_b727_220a;

/// The most partitions per table: each is one open file while partitioning and while merging.
pub(crate) const MAX_PARTITIONS: usize = 128;

fn spill_io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        context: format!(
            "writing training-set spill file {} (free disk space there, or point the spill directory (--spill-dir) elsewhere)",
            path.display()
        ),
        source,
    }
}

fn spill_arrow(path: &Path) -> impl FnOnce(arrow::error::ArrowError) -> Error + '_ {
    move |e| Error::Arrow {
        context: format!("training-set spill file {}", path.display()),
        source: e,
    }
}

/// Which partition each row's key belongs to.
pub(crate) struct KeyHasher {
    converter: RowConverter,
    key_types: Vec<DataType>,
    state: foldhash::fast::FixedState,
    parts: usize,
}

impl KeyHasher {
    pub fn new(key_types: Vec<DataType>, parts: usize) -> Result<Self> {
        let converter = RowConverter::new(key_types.iter().cloned().map(SortField::new).collect())
            .map_err(Error::arrow("preparing the key partitioner"))?;
        Ok(Self {
            converter,
            key_types,
            state: foldhash::fast::FixedState::with_seed(PARTITION_SEED),
            parts,
        })
    }

    pub fn parts(&self) -> usize {
        self.parts
    }

    /// The partition of every row of `keys` (cast to the table's key types when they differ).
    pub fn partitions(&self, keys: &[ArrayRef]) -> Result<Vec<u32>> {
        let keys = cast_keys(keys, &self.key_types)?;
        let rows = self
            .converter
            .convert_columns(&keys)
            .map_err(Error::arrow("encoding keys to partition them"))?;
        let parts = self.parts as u64;
        Ok((0..rows.num_rows())
            .map(|i| (self.state.hash_one(rows.row(i).as_ref()) % parts) as u32)
            .collect())
    }
}

struct Part {
    path: PathBuf,
    writer: StreamWriter<BufWriter<File>>,
    pending: Vec<RecordBatch>,
    pending_bytes: usize,
}

impl Part {
    fn flush(&mut self, schema: &SchemaRef) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = concat_batches(schema, &self.pending).map_err(spill_arrow(&self.path))?;
        self.pending.clear();
        self.pending_bytes = 0;
        self.writer.write(&batch).map_err(spill_arrow(&self.path))
    }
}

/// Writes batches into `parts` partition files by the key columns `key_columns`.
pub(crate) struct Partitioner {
    hasher: KeyHasher,
    key_columns: Vec<usize>,
    schema: SchemaRef,
    parts: Vec<Part>,
    /// A partition's buffered rows are written once they take this many bytes: few, large IPC
    /// messages, with all buffers together within a fraction of the budget.
    flush_bytes: usize,
}

impl Partitioner {
    /// Creates `<dir>/<stem>-<n>.arrow` for every partition of `hasher`.
    pub fn new(
        dir: &Path,
        stem: &str,
        schema: SchemaRef,
        key_columns: Vec<usize>,
        hasher: KeyHasher,
        buffer_bytes: usize,
    ) -> Result<Self> {
        let n = hasher.parts();
        let mut parts = Vec::with_capacity(n);
        for q in 0..n {
            let path = dir.join(format!("{stem}-{q}.arrow"));
            let file = File::create(&path).map_err(spill_io(&path))?;
            let writer =
                StreamWriter::try_new(BufWriter::new(file), &schema).map_err(spill_arrow(&path))?;
            parts.push(Part {
                path,
                writer,
                pending: Vec::new(),
                pending_bytes: 0,
            });
        }
        Ok(Self {
            hasher,
            key_columns,
            schema,
            parts,
            flush_bytes: (buffer_bytes / n.max(1)).clamp(16 * 1024, 8 * 1024 * 1024),
        })
    }

    /// Appends `batch`'s rows to their partitions, in order.
    pub fn push(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let keys: Vec<ArrayRef> = self
            .key_columns
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect();
        let of = self.hasher.partitions(&keys)?;
        let mut rows: Vec<Vec<u32>> = vec![Vec::new(); self.parts.len()];
        for (i, &q) in of.iter().enumerate() {
            rows[q as usize].push(i as u32);
        }
        for (q, rows) in rows.into_iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let piece = take_record_batch(batch, &UInt32Array::from(rows))
                .map_err(Error::arrow("partitioning rows"))?;
            let part = &mut self.parts[q];
            part.pending_bytes += piece.get_array_memory_size();
            part.pending.push(piece);
            if part.pending_bytes >= self.flush_bytes {
                part.flush(&self.schema)?;
            }
        }
        Ok(())
    }

    /// Writes what is buffered and closes every file; returns their paths by partition.
    pub fn finish(self) -> Result<Vec<PathBuf>> {
        let mut paths = Vec::with_capacity(self.parts.len());
        for mut part in self.parts {
            part.flush(&self.schema)?;
            part.writer.finish().map_err(spill_arrow(&part.path))?;
            part.writer
                .into_inner()
                .map_err(spill_arrow(&part.path))?
                .into_inner()
                .map_err(|e| e.into_error())
                .map_err(spill_io(&part.path))?;
            paths.push(part.path);
        }
        Ok(paths)
    }
}

/// One spill file, written whole: used for the spine and for per-partition join results.
pub(crate) struct SpillWriter {
    path: PathBuf,
    writer: StreamWriter<BufWriter<File>>,
}

impl SpillWriter {
    pub fn create(path: PathBuf, schema: &SchemaRef) -> Result<Self> {
        let file = File::create(&path).map_err(spill_io(&path))?;
        let writer =
            StreamWriter::try_new(BufWriter::new(file), schema).map_err(spill_arrow(&path))?;
        Ok(Self { path, writer })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write(batch).map_err(spill_arrow(&self.path))
    }

    pub fn finish(mut self) -> Result<PathBuf> {
        self.writer.finish().map_err(spill_arrow(&self.path))?;
        self.writer
            .into_inner()
            .map_err(spill_arrow(&self.path))?
            .into_inner()
            .map_err(|e| e.into_error())
            .map_err(spill_io(&self.path))?;
        Ok(self.path)
    }
}

/// Reads a spill file's batches one at a time.
pub(crate) struct SpillReader {
    path: PathBuf,
    reader: StreamReader<BufReader<File>>,
}

impl SpillReader {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(spill_io(path))?;
        let reader =
            StreamReader::try_new(BufReader::new(file), None).map_err(spill_arrow(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            reader,
        })
    }

    pub fn schema(&self) -> SchemaRef {
        self.reader.schema()
    }

    pub fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        self.reader
            .next()
            .map(|b| b.map_err(spill_arrow(&self.path)))
    }

    /// Every batch of the file as one.
    pub fn read_all(mut self) -> Result<RecordBatch> {
        let schema = self.schema();
        let mut batches = Vec::new();
        while let Some(b) = self.next_batch() {
            batches.push(b?);
        }
        concat_batches(&schema, &batches).map_err(spill_arrow(&self.path))
    }
}

/// Hands out a spill file's rows in order, `n` at a time, whatever its batch boundaries.
pub(crate) struct RowCursor {
    reader: SpillReader,
    current: Option<RecordBatch>,
    offset: usize,
}

impl RowCursor {
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Self {
            reader: SpillReader::open(path)?,
            current: None,
            offset: 0,
        })
    }

    /// The next `n` rows as one batch.
    pub fn take(&mut self, n: usize) -> Result<RecordBatch> {
        let schema = self.reader.schema();
        let mut pieces = Vec::new();
        let mut left = n;
        while left > 0 {
            let batch = match &self.current {
                Some(b) if self.offset < b.num_rows() => b,
                _ => {
                    let Some(next) = self.reader.next_batch() else {
                        return Err(Error::Internal(format!(
                            "spill file {} ended {left} rows early",
                            self.reader.path.display()
                        )));
                    };
                    self.current = Some(next?);
                    self.offset = 0;
                    continue;
                }
            };
            let k = left.min(batch.num_rows() - self.offset);
            pieces.push(batch.slice(self.offset, k));
            self.offset += k;
            left -= k;
        }
        concat_batches(&schema, &pieces).map_err(spill_arrow(&self.reader.path))
    }
}
