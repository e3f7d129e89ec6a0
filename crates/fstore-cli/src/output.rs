//! Printing Arrow batches for people and programs: a pretty table, CSV, JSON lines or Parquet,
//! to stdout or a file.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

/// Output formats of `tables read` and `lookup`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A boxed table for people.
    Table,
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet (needs --out).
    Parquet,
}

/// Writes `batches` in `format` to `out` (a file) or stdout.
pub fn write_batches(
    schema: SchemaRef,
    batches: &[RecordBatch],
    format: Format,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    if format == Format::Parquet {
        let path = out.ok_or_else(|| anyhow::anyhow!("--format parquet needs --out FILE"))?;
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None)?;
        for b in batches {
            w.write(b)?;
        }
        w.close()?;
        return Ok(());
    }
    let mut sink: Box<dyn Write> = match out {
        Some(p) => Box::new(std::io::BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    match format {
        Format::Table => {
            // NULL is spelled out so it reads differently from the empty string.
            let opts = arrow::util::display::FormatOptions::default().with_null("NULL");
            let empty;
            let batches = if batches.is_empty() {
                empty = [RecordBatch::new_empty(schema)];
                &empty[..]
            } else {
                batches
            };
            writeln!(
                sink,
                "{}",
                arrow::util::pretty::pretty_format_batches_with_options(batches, &opts)?
            )?;
        }
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut sink);
            if batches.is_empty() {
                w.write(&RecordBatch::new_empty(schema))?;
            }
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Jsonl => {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut sink);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        Format::Parquet => unreachable!("handled above"),
    }
    sink.flush()?;
    Ok(())
}

/// Like [`write_batches`], but takes the batches one at a time from `batches` and writes each
/// before the next is read (CSV, JSON lines, Parquet), so output of any size streams. The
/// boxed table needs every row to size its columns, so it is printed at the end.
pub async fn write_stream<S>(
    schema: SchemaRef,
    mut batches: S,
    format: Format,
    out: Option<&Path>,
) -> anyhow::Result<()>
where
    S: futures::Stream<Item = fstore_offline::Result<RecordBatch>> + Unpin,
{
    use futures::StreamExt;
    if format == Format::Table {
        let mut all = Vec::new();
        while let Some(b) = batches.next().await {
            all.push(b?);
        }
        return write_batches(schema, &all, format, out);
    }
    if format == Format::Parquet {
        let path = out.ok_or_else(|| anyhow::anyhow!("--format parquet needs --out FILE"))?;
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None)?;
        while let Some(b) = batches.next().await {
            w.write(&b?)?;
        }
        w.close()?;
        return Ok(());
    }
    let sink: Box<dyn Write> = match out {
        Some(p) => Box::new(std::io::BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    match format {
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(sink);
            let mut any = false;
            while let Some(b) = batches.next().await {
                w.write(&b?)?;
                any = true;
            }
            if !any {
                w.write(&RecordBatch::new_empty(schema))?;
            }
            w.into_inner().flush()?;
        }
        Format::Jsonl => {
            let mut w = arrow::json::LineDelimitedWriter::new(sink);
            while let Some(b) = batches.next().await {
                w.write(&b?)?;
            }
            w.finish()?;
            w.into_inner().flush()?;
        }
        Format::Table | Format::Parquet => unreachable!("handled above"),
    }
    Ok(())
}
