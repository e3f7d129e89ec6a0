//! Writing a training set to a file as it is produced: Parquet (Snappy-compressed), CSV with a
//! header, or JSON lines, chosen by the file's extension. The file is written under a temporary
//! name next to the target and renamed when complete, so a failed run leaves no partial output.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::csv;
use arrow::json::LineDelimitedWriter;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::TrainingSet;
use crate::error::{Error, Result};

/// Output file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Parquet,
    Csv,
    Jsonl,
}

impl OutputFormat {
    /// The format for a file name's extension: `.parquet`/`.pq`, `.csv`, `.jsonl`/`.json`/`.ndjson`.
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match ext.as_str() {
            "parquet" | "pq" => Ok(Self::Parquet),
            "csv" => Ok(Self::Csv),
            "jsonl" | "json" | "ndjson" => Ok(Self::Jsonl),
            _ => Err(Error::BadRequest(format!(
                "cannot tell the output format of `{}`: name a .parquet, .csv or .jsonl file (writing a training set to a Delta table is not supported yet)",
                path.display()
            ))),
        }
    }
}

/// What [`TrainingSet::write`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteSummary {
    pub path: PathBuf,
    pub format: OutputFormat,
    pub rows: u64,
}

enum Sink {
    Parquet(ArrowWriter<File>),
    Csv(csv::Writer<BufWriter<File>>),
    Jsonl(LineDelimitedWriter<BufWriter<File>>),
}

impl TrainingSet {
    /// Writes every batch to `path` (format by extension) while the join goes on.
    pub async fn write(self, path: &Path) -> Result<WriteSummary> {
        let format = OutputFormat::from_path(path)?;
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || self.write_blocking(&path, format))
            .await
            .map_err(|e| Error::Internal(format!("writing thread failed: {e}")))?
    }

    fn write_blocking(mut self, path: &Path, format: OutputFormat) -> Result<WriteSummary> {
        let tmp = temp_name(path);
        let result = (|| {
            let file =
                File::create(&tmp).map_err(Error::io(format!("creating {}", tmp.display())))?;
            let mut sink = match format {
                OutputFormat::Parquet => {
                    let props = WriterProperties::builder()
                        .set_compression(Compression::SNAPPY)
                        .build();
                    Sink::Parquet(
                        ArrowWriter::try_new(file, self.schema(), Some(props))
                            .map_err(Error::parquet("starting the Parquet output"))?,
                    )
                }
                OutputFormat::Csv => Sink::Csv(
                    csv::WriterBuilder::new()
                        .with_header(true)
                        .build(BufWriter::new(file)),
                ),
                OutputFormat::Jsonl => Sink::Jsonl(LineDelimitedWriter::new(BufWriter::new(file))),
            };
            let mut rows = 0u64;
            let mut wrote_any = false;
            while let Some(batch) = self.blocking_next_batch() {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                write_batch(&mut sink, &batch)?;
                wrote_any = true;
            }
            if !wrote_any && let Sink::Csv(w) = &mut sink {
                // A header even for an empty training set.
                w.write(&RecordBatch::new_empty(self.schema()))
                    .map_err(Error::arrow("writing the CSV output"))?;
            }
            let context = format!("finishing {}", tmp.display());
            match sink {
                Sink::Parquet(w) => {
                    w.close().map_err(Error::parquet(context))?;
                }
                Sink::Csv(w) => {
                    w.into_inner().flush().map_err(Error::io(context))?;
                }
                Sink::Jsonl(mut w) => {
                    w.finish().map_err(Error::arrow(context.clone()))?;
                    w.into_inner().flush().map_err(Error::io(context))?;
                }
            }
            Ok(rows)
        })();
        match result {
            Ok(rows) => {
                std::fs::rename(&tmp, path).map_err(Error::io(format!(
                    "moving the output to {}",
                    path.display()
                )))?;
                Ok(WriteSummary {
                    path: path.to_path_buf(),
                    format,
                    rows,
                })
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }
}

fn write_batch(sink: &mut Sink, batch: &RecordBatch) -> Result<()> {
    match sink {
        Sink::Parquet(w) => w
            .write(batch)
            .map_err(Error::parquet("writing the Parquet output")),
        Sink::Csv(w) => w
            .write(batch)
            .map_err(Error::arrow("writing the CSV output")),
        Sink::Jsonl(w) => w
            .write(batch)
            .map_err(Error::arrow("writing the JSON lines output")),
    }
}

/// `<dir>/.<name>.fstore-tmp`, next to the target so the rename stays on one file system.
fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "training-set".into());
    path.with_file_name(format!(".{name}.fstore-tmp"))
}
