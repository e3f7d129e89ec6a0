//! Reading user input files into Arrow: Parquet (types as stored), CSV (header row, schema
//! inferred by arrow-csv) and JSON lines (schema inferred by arrow-json). JSON has no date or
//! timestamp type, so a JSON string column whose every value is an ISO-8601 date
//! (`2024-01-31`) or timestamp (`2024-01-31T12:00:00Z`, `2024-01-31 12:00:00.5+02:00`) becomes a
//! `Date32` or UTC timestamp column, as CSV inference already does.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use deltalake::arrow::array::{ArrayRef, RecordBatch, StringArray};
use deltalake::arrow::compute::{CastOptions, cast_with_options};
use deltalake::arrow::csv;
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use deltalake::arrow::json;
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Error, Result};

const BATCH_SIZE: usize = 8192;

/// A batch iterator over an input.
pub type Batches = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Parquet,
    Csv,
    JsonLines,
}

/// A user input file opened for streaming: its schema is known up front (inferred for CSV and
/// JSON lines by a pass over the file that keeps nothing), and [`InputFile::batches`] reads it
/// from the start, one batch of [`BATCH_SIZE`] rows at a time, as often as a write needs.
#[derive(Clone, Debug)]
pub struct InputFile {
    path: PathBuf,
    format: Format,
    /// What the format's reader produces.
    raw: SchemaRef,
    /// What [`InputFile::batches`] yields (JSON date/timestamp strings converted).
    schema: SchemaRef,
    /// JSON lines: per column, the temporal type its strings convert to.
    temporal: Vec<Option<DataType>>,
    rows: Option<u64>,
}

impl InputFile {
    /// Opens `path`, choosing the format by extension (case-insensitive).
    pub fn open(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let format = match ext.as_str() {
            "parquet" | "pq" => Format::Parquet,
            "csv" => Format::Csv,
            "json" | "jsonl" | "ndjson" => Format::JsonLines,
            "" => {
                return Err(Error::UnsupportedInput {
                    path: path.to_path_buf(),
                    reason: "the file has no extension to tell its format".into(),
                });
            }
            other => {
                return Err(Error::UnsupportedInput {
                    path: path.to_path_buf(),
                    reason: format!("unknown extension `.{other}`"),
                });
            }
        };
        let (raw, rows) = match format {
            Format::Parquet => {
                let builder = ParquetRecordBatchReaderBuilder::try_new(open(path)?)
                    .map_err(|e| bad_file(path, e))?;
                let rows = u64::try_from(builder.metadata().file_metadata().num_rows()).ok();
                (builder.schema().clone(), rows)
            }
            Format::Csv => (csv_schema(path)?, None),
            Format::JsonLines => (json_schema(path)?, None),
        };
        if raw.fields().is_empty() {
            return Err(bad_file(path, "the file has no columns"));
        }
        let mut file = Self {
            path: path.to_path_buf(),
            format,
            schema: raw.clone(),
            raw,
            temporal: Vec::new(),
            rows,
        };
        if format == Format::JsonLines {
            file.detect_temporal_strings()?;
        }
        Ok(file)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The columns every batch has.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The row count when the file records it (Parquet).
    pub fn rows(&self) -> Option<u64> {
        self.rows
    }

    /// Reads the file from the start.
    pub fn batches(&self) -> Result<Batches> {
        let path = self.path.clone();
        let err = move |e: deltalake::arrow::error::ArrowError| bad_file(&path, e);
        let raw: Batches = match self.format {
            Format::Parquet => {
                let reader = ParquetRecordBatchReaderBuilder::try_new(open(&self.path)?)
                    .map_err(|e| bad_file(&self.path, e))?
                    .with_batch_size(BATCH_SIZE)
                    .build()
                    .map_err(|e| bad_file(&self.path, e))?;
                Box::new(reader.map(move |b| b.map_err(&err)))
            }
            Format::Csv => {
                let reader = csv::ReaderBuilder::new(self.raw.clone())
                    .with_format(csv_format())
                    .with_batch_size(BATCH_SIZE)
                    .build(open(&self.path)?)
                    .map_err(|e| bad_file(&self.path, e))?;
                Box::new(reader.map(move |b| b.map_err(&err)))
            }
            Format::JsonLines => {
                let reader = json::ReaderBuilder::new(self.raw.clone())
                    .with_batch_size(BATCH_SIZE)
                    .build(BufReader::new(open(&self.path)?))
                    .map_err(|e| bad_file(&self.path, e))?;
                Box::new(reader.map(move |b| b.map_err(&err)))
            }
        };
        if self.temporal.iter().all(Option::is_none) {
            return Ok(raw);
        }
        let schema = self.schema.clone();
        let targets = self.temporal.clone();
        let path = self.path.clone();
        Ok(Box::new(raw.map(move |b| {
            let b = b?;
            cast_temporal(&b, &targets, &schema).map_err(|e| bad_file(&path, e))
        })))
    }

    /// JSON has no date or timestamp type: a string column whose every value is an ISO date
    /// (or every value an ISO timestamp) that converts becomes a `Date32` (UTC timestamp)
    /// column. One pass over the file; nothing of it is kept.
    fn detect_temporal_strings(&mut self) -> Result<()> {
        let n = self.raw.fields().len();
        let strings: Vec<bool> = self
            .raw
            .fields()
            .iter()
            .map(|f| *f.data_type() == DataType::Utf8)
            .collect();
        if !strings.iter().any(|s| *s) {
            return Ok(());
        }
        let timestamp = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let mut any = vec![false; n];
        let mut dates = strings.clone();
        let mut timestamps = strings.clone();
        let strict = CastOptions {
            safe: false,
            ..Default::default()
        };
        let mut reader = self.batches()?;
        reader.try_for_each(|b| -> Result<()> {
            let b = b?;
            for i in 0..n {
                if !(dates[i] || timestamps[i]) {
                    continue;
                }
                let Some(col) = b.column(i).as_any().downcast_ref::<StringArray>() else {
                    dates[i] = false;
                    timestamps[i] = false;
                    continue;
                };
                for v in col.iter().flatten() {
                    any[i] = true;
                    dates[i] &= is_iso_date(v);
                    timestamps[i] &= is_iso_timestamp(v);
                }
                // Shaped like dates but not valid ones (e.g. 2024-02-30): keep the strings.
                if dates[i] && cast_with_options(b.column(i), &DataType::Date32, &strict).is_err() {
                    dates[i] = false;
                }
                if timestamps[i]
                    && !dates[i]
                    && cast_with_options(b.column(i), &timestamp, &strict).is_err()
                {
                    timestamps[i] = false;
                }
            }
            Ok(())
        })?;
        self.temporal = (0..n)
            .map(|i| match (any[i], dates[i], timestamps[i]) {
                (true, true, _) => Some(DataType::Date32),
                (true, false, true) => Some(timestamp.clone()),
                _ => None,
            })
            .collect();
        self.schema = Arc::new(Schema::new(
            self.raw
                .fields()
                .iter()
                .zip(&self.temporal)
                .map(|(f, t)| match t {
                    Some(t) => Arc::new(Field::new(f.name(), t.clone(), f.is_nullable())),
                    None => f.clone(),
                })
                .collect::<Vec<_>>(),
        ));
        Ok(())
    }
}

/// Reads a whole input file into memory (see [`InputFile`] to stream one instead).
pub fn read_file(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let file = InputFile::open(path)?;
    let batches = file.batches()?.collect::<Result<Vec<_>>>()?;
    Ok((file.schema(), batches))
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn bad_file(path: &Path, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::BadInputFile {
        path: path.to_path_buf(),
        source: e.into(),
    }
}

fn csv_format() -> csv::reader::Format {
    csv::reader::Format::default().with_header(true)
}

fn csv_schema(path: &Path) -> Result<SchemaRef> {
    let mut file = BufReader::new(open(path)?);
    let (schema, _) = csv_format()
        .infer_schema(&mut file, None)
        .map_err(|e| bad_file(path, e))?;
    Ok(Arc::new(schema))
}

fn json_schema(path: &Path) -> Result<SchemaRef> {
    let mut reader = BufReader::new(open(path)?);
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    // A top-level JSON array is the most common mistake: say so instead of a parser error.
    let first = first_non_space_byte(&mut reader).map_err(io)?;
    if first == Some(b'[') {
        return Err(bad_file(
            path,
            "it holds a JSON array; fstore reads JSON lines (one object per line)",
        ));
    }
    reader.seek(SeekFrom::Start(0)).map_err(io)?;
    let (schema, _) = json::reader::infer_json_schema_from_seekable(&mut reader, None)
        .map_err(|e| bad_file(path, e))?;
    reader.seek(SeekFrom::Start(0)).map_err(io)?;
    // Inference sorts keys; keep the order in which they first appear in the file instead.
    let order = json_key_order(&mut reader).map_err(|e| bad_file(path, e))?;
    let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
    fields.sort_by_key(|f| {
        order
            .iter()
            .position(|k| k == f.name())
            .unwrap_or(usize::MAX)
    });
    Ok(Arc::new(Schema::new(fields)))
}

/// Top-level keys of a JSON-lines stream in order of first appearance.
fn json_key_order(r: &mut impl BufRead) -> std::result::Result<Vec<String>, serde_json::Error> {
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> std::result::Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(k) = map.next_key::<String>()? {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        keys.push(k);
                    }
                    Ok(Keys(keys))
                }
            }
            d.deserialize_map(V)
        }
    }
    let mut order: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for line in serde_json::Deserializer::from_reader(r).into_iter::<Keys>() {
        for k in line?.0 {
            if seen.insert(k.clone()) {
                order.push(k);
            }
        }
    }
    Ok(order)
}

fn first_non_space_byte(r: &mut impl BufRead) -> std::io::Result<Option<u8>> {
    let mut byte = [0u8; 1];
    loop {
        if r.read(&mut byte)? == 0 {
            return Ok(None);
        }
        if !byte[0].is_ascii_whitespace() {
            return Ok(Some(byte[0]));
        }
    }
}

fn cast_temporal(
    b: &RecordBatch,
    targets: &[Option<DataType>],
    schema: &SchemaRef,
) -> std::result::Result<RecordBatch, deltalake::arrow::error::ArrowError> {
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    let cols = b
        .columns()
        .iter()
        .zip(targets)
        .map(|(c, t)| match t {
            Some(t) => cast_with_options(c, t, &strict),
            None => Ok(c.clone()),
        })
        .collect::<std::result::Result<Vec<ArrayRef>, _>>()?;
    RecordBatch::try_new(schema.clone(), cols)
}

fn digits(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && digits(&b[0..4])
        && b[4] == b'-'
        && digits(&b[5..7])
        && b[7] == b'-'
        && digits(&b[8..10])
}

fn is_iso_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 16 || !is_iso_date(&s[..10]) || !(b[10] == b'T' || b[10] == b' ') {
        return false;
    }
    // HH:MM
    if !(digits(&b[11..13]) && b[13] == b':' && digits(&b[14..16])) {
        return false;
    }
    let mut rest = &b[16..];
    if rest.first() == Some(&b':') {
        if rest.len() < 3 || !digits(&rest[1..3]) {
            return false;
        }
        rest = &rest[3..];
        if rest.first() == Some(&b'.') {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return false;
            }
            rest = &rest[1 + n..];
        }
    }
    match rest {
        [] | [b'Z'] | [b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] | [b'+' | b'-', h1, h2, m1, m2] => {
            digits(&[*h1, *h2, *m1, *m2])
        }
        [b'+' | b'-', h1, h2] => digits(&[*h1, *h2]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_shapes() {
        assert!(is_iso_date("2024-01-31"));
        assert!(!is_iso_date("2024-1-31"));
        for ok in [
            "2024-01-31T12:00",
            "2024-01-31T12:00:00Z",
            "2024-01-31 12:00:00.123456",
            "2024-01-31T12:00:00+02:00",
            "2024-01-31T12:00:00-0500",
        ] {
            assert!(is_iso_timestamp(ok), "{ok}");
        }
        for bad in [
            "2024-01-31",
            "2024-01-31T12",
            "2024-01-31T12:00:00.",
            "yesterday",
        ] {
            assert!(!is_iso_timestamp(bad), "{bad}");
        }
    }
}
