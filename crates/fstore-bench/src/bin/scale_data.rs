//! Writes the input files of `bench/scale.sh` into a directory, streaming (memory does not grow
//! with ROWS): `users.parquet` (ROWS rows of the benchmark table), `users.csv` (the same rows
//! for the raw `LOAD DATA LOCAL INFILE`), `history.parquet` (ROWS rows: ROWS/5 keys × 5
//! timestamps, the benchmark features) and `spine.parquet` (ROWS/2 rows: `id`, `event_ts`,
//! `label`).
//!
//! `scale_data ROWS DIR`

use std::io::Write;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use fstore_bench::{rows_for, schema, write_csv};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

const BATCH: usize = 65_536;
const DAY_MICROS: i64 = 86_400_000_000;

fn props() -> WriterProperties {
    WriterProperties::builder()
        .set_max_row_group_row_count(Some(BATCH * 4))
        .build()
}

fn main() -> anyhow::Result<()> {
    let rows = fstore_bench::rows_arg()?;
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(2)
            .ok_or_else(|| anyhow::anyhow!("usage: scale_data ROWS DIR"))?,
    );
    std::fs::create_dir_all(&dir)?;

    // users.parquet + users.csv
    let mut pq = ArrowWriter::try_new(
        std::fs::File::create(dir.join("users.parquet"))?,
        schema(),
        Some(props()),
    )?;
    let mut csv = std::io::BufWriter::new(std::fs::File::create(dir.join("users.csv"))?);
    let mut start = 0;
    while start < rows {
        let n = BATCH.min(rows - start);
        let ids: Vec<i64> = (start..start + n).map(|i| i as i64).collect();
        let b = rows_for(&ids, 0);
        pq.write(&b)?;
        write_csv(&mut csv, &b)?;
        start += n;
    }
    pq.close()?;
    csv.flush()?;

    // history.parquet: key i / 5, timestamps day 0..5 (5 rows per key).
    let ts_type = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let mut fields: Vec<Field> = schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.insert(1, Field::new("ts", ts_type.clone(), false));
    let hist_schema = Arc::new(Schema::new(fields));
    let mut pq = ArrowWriter::try_new(
        std::fs::File::create(dir.join("history.parquet"))?,
        hist_schema.clone(),
        Some(props()),
    )?;
    let mut start = 0;
    while start < rows {
        let n = BATCH.min(rows - start);
        let ids: Vec<i64> = (start..start + n).map(|i| (i / 5) as i64).collect();
        let ts: Vec<i64> = (start..start + n)
            .map(|i| (i % 5) as i64 * DAY_MICROS)
            .collect();
        let b = rows_for(&ids, start as u64);
        let mut cols: Vec<ArrayRef> = b.columns().to_vec();
        cols.insert(
            1,
            Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
        );
        pq.write(&RecordBatch::try_new(hist_schema.clone(), cols)?)?;
        start += n;
    }
    pq.close()?;

    // spine.parquet: ROWS/2 rows over the history's keys, at times between its timestamps.
    let spine_schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("event_ts", ts_type, false),
        Field::new("label", DataType::Int64, false),
    ]));
    let mut pq = ArrowWriter::try_new(
        std::fs::File::create(dir.join("spine.parquet"))?,
        spine_schema.clone(),
        Some(props()),
    )?;
    let keys = (rows / 5).max(1) as u64;
    let spine_rows = rows / 2;
    let mut start = 0;
    while start < spine_rows {
        let n = BATCH.min(spine_rows - start);
        let r: Vec<u64> = (start..start + n).map(|i| i as u64).collect();
        let ids: Vec<i64> = r
            .iter()
            .map(|&i| (i.wrapping_mul(2_654_435_761) % keys) as i64)
            .collect();
        let ts: Vec<i64> = r
            .iter()
            .map(|&i| (i % 6) as i64 * DAY_MICROS - DAY_MICROS / 2)
            .collect();
        let label: Vec<i64> = r.iter().map(|&i| (i % 2) as i64).collect();
        pq.write(&RecordBatch::try_new(
            spine_schema.clone(),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
                Arc::new(Int64Array::from(label)),
            ],
        )?)?;
        start += n;
    }
    pq.close()?;
    Ok(())
}
