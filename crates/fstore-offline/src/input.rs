//! Reading user input files into Arrow: Parquet (types as stored), CSV (header row, schema
//! inferred by arrow-csv) and JSON lines (schema inferred by arrow-json). JSON has no date or
//! timestamp type, so a JSON string column whose every value is an ISO-8601 date
//! (`2024-01-31`) or timestamp (`2024-01-31T12:00:00Z`, `2024-01-31 12:00:00.5+02:00`) becomes a
//! `Date32` or UTC timestamp column, as CSV inference already does.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use deltalake::arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use deltalake::arrow::compute::{CastOptions, cast_with_options};
use deltalake::arrow::csv;
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use deltalake::arrow::json;
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Error, Result};

const BATCH_SIZE: usize = 8192;

/// Reads a whole input file, choosing the format by extension (case-insensitive).
pub fn read_file(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let (schema, batches) = match ext.as_str() {
        "parquet" | "pq" => read_parquet(path)?,
        "csv" => read_csv(path)?,
        "json" | "jsonl" | "ndjson" => read_json_lines(path)?,
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
    if schema.fields().is_empty() {
        return Err(bad_file(path, "the file has no columns"));
    }
    Ok((schema, batches))
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

fn read_parquet(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(open(path)?)
        .map_err(|e| bad_file(path, e))?
        .with_batch_size(BATCH_SIZE);
    let schema = builder.schema().clone();
    let reader = builder.build().map_err(|e| bad_file(path, e))?;
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad_file(path, e))?;
    Ok((schema, batches))
}

fn read_csv(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let mut file = open(path)?;
    let format = csv::reader::Format::default().with_header(true);
    let (schema, _) = format
        .infer_schema(&mut file, None)
        .map_err(|e| bad_file(path, e))?;
    file.seek(SeekFrom::Start(0)).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let schema = Arc::new(schema);
    let reader = csv::ReaderBuilder::new(schema.clone())
        .with_format(format)
        .with_batch_size(BATCH_SIZE)
        .build(file)
        .map_err(|e| bad_file(path, e))?;
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad_file(path, e))?;
    Ok((schema, batches))
}

fn read_json_lines(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>)> {
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
    reader.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
    fields.sort_by_key(|f| {
        order
            .iter()
            .position(|k| k == f.name())
            .unwrap_or(usize::MAX)
    });
    let schema = Arc::new(Schema::new(fields));
    let decoder = json::ReaderBuilder::new(schema.clone())
        .with_batch_size(BATCH_SIZE)
        .build(reader)
        .map_err(|e| bad_file(path, e))?;
    let batches = decoder
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad_file(path, e))?;
    detect_temporal_strings(schema, batches).map_err(|e| bad_file(path, e))
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

/// Converts string columns that hold only ISO dates or only ISO timestamps.
fn detect_temporal_strings(
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> std::result::Result<(SchemaRef, Vec<RecordBatch>), deltalake::arrow::error::ArrowError> {
    let mut targets: Vec<Option<DataType>> = Vec::new();
    for (i, f) in schema.fields().iter().enumerate() {
        if *f.data_type() != DataType::Utf8 {
            targets.push(None);
            continue;
        }
        let mut all_dates = true;
        let mut all_timestamps = true;
        let mut any = false;
        for b in &batches {
            let col = b
                .column(i)
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("Utf8 column");
            for v in col.iter().flatten() {
                any = true;
                all_dates &= is_iso_date(v);
                all_timestamps &= is_iso_timestamp(v);
            }
        }
        targets.push(match (any, all_dates, all_timestamps) {
            (true, true, _) => Some(DataType::Date32),
            (true, false, true) => Some(DataType::Timestamp(
                TimeUnit::Microsecond,
                Some("UTC".into()),
            )),
            _ => None,
        });
    }
    if targets.iter().all(Option::is_none) {
        return Ok((schema, batches));
    }
    let new_schema = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .zip(&targets)
            .map(|(f, t)| match t {
                Some(t) => Arc::new(Field::new(f.name(), t.clone(), f.is_nullable())),
                None => f.clone(),
            })
            .collect::<Vec<_>>(),
    ));
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut out = Vec::with_capacity(batches.len());
    for b in &batches {
        let cols = b
            .columns()
            .iter()
            .zip(&targets)
            .map(|(c, t)| match t {
                Some(t) => cast_with_options(c, t, &strict),
                None => Ok(c.clone()),
            })
            .collect::<std::result::Result<Vec<ArrayRef>, _>>();
        match cols {
            Ok(cols) => out.push(RecordBatch::try_new(new_schema.clone(), cols)?),
            // Shaped like dates but not valid ones (e.g. 2024-02-30): keep the strings.
            Err(_) => return Ok((schema, batches)),
        }
    }
    Ok((new_schema, out))
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
