//! The spine of a training set — entity keys, event times and labels — and reading it batch by
//! batch, so a spine larger than memory streams through the join.
//!
//! Parquet and CSV files and feature tables are streamed; JSON lines files are read whole (their
//! date and timestamp detection needs every value first), as are in-memory batches.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::cast;
use arrow::csv;
use arrow::datatypes::SchemaRef;
use fstore_core::TableName;
use fstore_offline::{OfflineStore, TimeTravel};
use futures::StreamExt;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use tokio::runtime::Handle;

use crate::error::{Error, Result};

/// Where the spine comes from.
#[derive(Clone, Debug)]
pub enum Spine {
    /// A `.parquet`, `.csv` or `.jsonl` (`.json`, `.ndjson`) file.
    File(PathBuf),
    /// A table of the offline store (any Delta feature table).
    Table(TableName),
    /// Batches already in memory, all with `schema`.
    Batches {
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
    },
}

const FILE_EXTENSIONS: [&str; 6] = ["parquet", "pq", "csv", "json", "jsonl", "ndjson"];

impl Spine {
    /// A file when `s` names an existing path, contains `/` or ends in a spine file extension;
    /// otherwise a table name `<schema>.<table>`.
    pub fn parse(s: &str) -> Result<Self> {
        let path = Path::new(s);
        let has_ext = extension(path).is_some_and(|e| FILE_EXTENSIONS.contains(&e.as_str()));
        if path.exists() || has_ext || s.contains('/') || s.contains('\\') {
            return Ok(Self::File(path.to_path_buf()));
        }
        TableName::parse(s).map(Self::Table).map_err(|e| {
            Error::BadRequest(format!(
                "the spine `{s}` is neither a file (.parquet, .csv, .jsonl) nor a table name: {e}"
            ))
        })
    }
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

/// Yields the spine in batches of at most `batch_size` rows.
pub(crate) struct SpineReader {
    pub schema: SchemaRef,
    /// Rows in the spine, when known up front.
    pub total_rows: Option<u64>,
    batch_size: usize,
    source: Source,
    /// The rest of a batch larger than `batch_size`.
    pending: Option<RecordBatch>,
}

enum Source {
    Parquet(Box<ParquetRecordBatchReader>),
    Csv(Box<csv::Reader<File>>),
    Batches(std::vec::IntoIter<RecordBatch>),
    Table {
        stream: fstore_offline::BatchStream,
        handle: Handle,
    },
}

impl SpineReader {
    /// Opens the spine. `at` is the version to read a spine table at. Must run inside Tokio.
    pub async fn open(
        spine: &Spine,
        offline: &OfflineStore,
        at: TimeTravel,
        batch_size: usize,
    ) -> Result<(Self, Option<(TableName, i64)>)> {
        let batch_size = batch_size.max(1);
        let (schema, total_rows, source, read) = match spine {
            Spine::File(path) => {
                let (schema, rows, source) = open_file(path, batch_size)?;
                (schema, rows, source, None)
            }
            Spine::Batches { schema, batches } => {
                let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
                for b in batches {
                    if b.schema().fields() != schema.fields() {
                        return Err(Error::BadRequest(
                            "the spine's batches do not all have the spine's schema".into(),
                        ));
                    }
                }
                (
                    schema.clone(),
                    Some(rows),
                    Source::Batches(batches.clone().into_iter()),
                    None,
                )
            }
            Spine::Table(name) => {
                let table = offline.open_at(name, at).await?;
                // Read through fstore-offline, the one crate that touches Delta.
                let stream = table.scan_stream(None, None, None).await?.batches;
                (
                    table.schema.clone(),
                    None,
                    Source::Table {
                        stream,
                        handle: Handle::current(),
                    },
                    Some((name.clone(), table.version)),
                )
            }
        };
        Ok((
            Self {
                schema,
                total_rows,
                batch_size,
                source,
                pending: None,
            },
            read,
        ))
    }

    /// The next batch; blocks (call it off the async threads).
    pub fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        loop {
            let batch = match self.pending.take() {
                Some(b) => b,
                None => match self.next_raw()? {
                    Ok(b) => b,
                    Err(e) => return Some(Err(e)),
                },
            };
            if batch.num_rows() == 0 {
                continue;
            }
            if batch.num_rows() > self.batch_size {
                self.pending =
                    Some(batch.slice(self.batch_size, batch.num_rows() - self.batch_size));
                return Some(Ok(batch.slice(0, self.batch_size)));
            }
            return Some(Ok(batch));
        }
    }

    fn next_raw(&mut self) -> Option<Result<RecordBatch>> {
        match &mut self.source {
            Source::Parquet(r) => r
                .next()
                .map(|b| b.map_err(Error::arrow("reading the spine"))),
            Source::Csv(r) => r
                .next()
                .map(|b| b.map_err(Error::arrow("reading the spine"))),
            Source::Batches(it) => it.next().map(Ok),
            Source::Table { stream, handle } => {
                let next = handle.block_on(stream.next())?;
                Some(
                    next.map_err(Error::from)
                        .and_then(|b| conform(&b, &self.schema)),
                )
            }
        }
    }
}

/// Casts a DataFusion batch (strings as views, partition values as dictionaries) to the schema.
fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                cast(c, f.data_type()).map_err(Error::arrow(format!(
                    "converting spine column `{}`",
                    f.name()
                )))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(Error::arrow("assembling a spine batch"))
}

fn open_file(path: &Path, batch_size: usize) -> Result<(SchemaRef, Option<u64>, Source)> {
    let bad = |reason: String| Error::BadSpine {
        path: path.to_path_buf(),
        reason,
    };
    let ext = extension(path).unwrap_or_default();
    if !FILE_EXTENSIONS.contains(&ext.as_str()) {
        return Err(bad(if ext.is_empty() {
            "the file has no extension to tell its format (.parquet, .csv or .jsonl)".into()
        } else {
            format!("unknown extension `.{ext}` (use .parquet, .csv or .jsonl)")
        }));
    }
    let open = || {
        File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => bad("no such file".into()),
            _ => Error::Io {
                context: format!("opening spine {}", path.display()),
                source: e,
            },
        })
    };
    match ext.as_str() {
        "parquet" | "pq" => {
            let builder = ParquetRecordBatchReaderBuilder::try_new(open()?)
                .map_err(|e| bad(e.to_string()))?
                .with_batch_size(batch_size);
            let rows = u64::try_from(builder.metadata().file_metadata().num_rows()).ok();
            let schema = builder.schema().clone();
            let reader = builder.build().map_err(|e| bad(e.to_string()))?;
            Ok((schema, rows, Source::Parquet(Box::new(reader))))
        }
        "csv" => {
            let mut file = open()?;
            let format = csv::reader::Format::default().with_header(true);
            let (schema, _) = format
                .infer_schema(&mut file, None)
                .map_err(|e| bad(e.to_string()))?;
            file.seek(SeekFrom::Start(0))
                .map_err(Error::io(format!("reading spine {}", path.display())))?;
            let schema = Arc::new(schema);
            let reader = csv::ReaderBuilder::new(schema.clone())
                .with_format(format)
                .with_batch_size(batch_size)
                .build(file)
                .map_err(|e| bad(e.to_string()))?;
            Ok((schema, None, Source::Csv(Box::new(reader))))
        }
        _ => {
            open()?;
            let (schema, batches) = fstore_offline::input::read_file(path)?;
            let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
            Ok((schema, Some(rows), Source::Batches(batches.into_iter())))
        }
    }
}
