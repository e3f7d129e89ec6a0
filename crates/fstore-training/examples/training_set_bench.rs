//! Benchmark behind `bench/training_set.sh`: a 1,000,000-row spine against a 1,000,000-row history
//! (200,000 keys × 5 timestamps, 10 features) in a Delta feature table, joined as of each spine
//! row's time and written to Parquet — timed beside DuckDB's `ASOF LEFT JOIN` over the same Parquet
//! files (the spine file and the Delta table's data files) in the same run.
//!
//! Usage: `training_set_bench [SPINE_ROWS] [KEYS] [TIMESTAMPS_PER_KEY]`; needs `python3` with the
//! `duckdb` package (the shell script installs it).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use fstore_core::{Progress, TableName, TableSpec};
use fstore_offline::OfflineStore;
use fstore_training::{FeatureLookup, Spine, TrainingOptions};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

const BASE_US: i64 = 1_704_067_200_000_000; // 2024-01-01T00:00:00Z
const HOUR_US: i64 = 3_600_000_000;
const BATCH: usize = 65_536;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// SplitMix64, so every run sees the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// History rows `start..end` (row = key * per_key + j): key, hourly-ish timestamps, 10 features.
fn history_batch(start: usize, end: usize, per_key: usize) -> RecordBatch {
    let rows: Vec<(i64, i64)> = (start..end)
        .map(|r| {
            let key = (r / per_key) as i64;
            let j = (r % per_key) as i64;
            // Per-key offset so keys' histories interleave in time.
            (key, BASE_US + (key % 97) * HOUR_US + j * 24 * HOUR_US)
        })
        .collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut cols: Vec<(String, ArrayRef)> = vec![
        ("id".into(), Arc::new(Int64Array::from(ids.clone()))),
        (
            "ts".into(),
            Arc::new(
                TimestampMicrosecondArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())
                    .with_timezone("UTC"),
            ),
        ),
    ];
    for f in 0..6u64 {
        cols.push((
            format!("f{f}"),
            Arc::new(Float64Array::from_iter_values(
                (start..end).map(|r| ((r as u64 * 31 + f * 7) % 10_007) as f64 / 7.0),
            )),
        ));
    }
    for f in 0..2u64 {
        cols.push((
            format!("n{f}"),
            Arc::new(Int64Array::from_iter_values(
                (start..end).map(|r| (r as u64 * 17 + f) as i64),
            )),
        ));
    }
    cols.push((
        "s0".into(),
        Arc::new(StringArray::from_iter_values(
            (start..end).map(|r| format!("category-{}", r % 1000)),
        )),
    ));
    cols.push((
        "b0".into(),
        Arc::new(BooleanArray::from_iter(
            (start..end).map(|r| Some(r % 2 == 0)),
        )),
    ));
    RecordBatch::try_from_iter(cols).expect("columns match")
}

/// Spine rows: random keys (5% without history), random times over the history's span, a label.
fn spine_batch(rng: &mut Rng, n: usize, keys: usize, per_key: usize) -> RecordBatch {
    let span = (97 + per_key as u64 * 24 + 48) * HOUR_US as u64;
    let ids: Vec<i64> = (0..n)
        .map(|_| rng.below((keys + keys / 20) as u64) as i64)
        .collect();
    let ts: Vec<i64> = (0..n)
        .map(|_| BASE_US - 24 * HOUR_US + rng.below(span) as i64)
        .collect();
    let y: Vec<bool> = (0..n).map(|_| rng.below(2) == 1).collect();
    RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
        (
            "event_ts",
            Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
        ),
        ("churned", Arc::new(BooleanArray::from(y))),
    ])
    .expect("columns match")
}

fn write_parquet(path: &Path, batches: &[RecordBatch]) -> Result<(), BoxError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(path)?,
        batches[0].schema(),
        Some(props),
    )?;
    for b in batches {
        w.write(b)?;
    }
    w.close()?;
    Ok(())
}

/// Rows and non-NULL `f0` values of a Parquet file, to check both engines agree.
fn matched(path: &Path) -> Result<(usize, usize), BoxError> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path)?)?.build()?;
    let (mut rows, mut hits) = (0, 0);
    for b in reader {
        let b = b?;
        let f0 = b.column_by_name("f0").ok_or("no f0 column")?;
        rows += b.num_rows();
        hits += b.num_rows() - f0.null_count();
    }
    Ok((rows, hits))
}

/// Records when each stage of the training set began, for a time breakdown.
struct Stages(Mutex<Vec<(String, Instant)>>);

impl Progress for Stages {
    fn set_stage(&self, stage: &str) {
        if let Ok(mut s) = self.0.lock() {
            s.push((stage.to_string(), Instant::now()));
        }
    }
}

impl Stages {
    fn print(&self, end: Instant) {
        let Ok(s) = self.0.lock() else { return };
        for (i, (stage, t)) in s.iter().enumerate() {
            let next = s.get(i + 1).map_or(end, |n| n.1);
            println!("    {stage:<40} {:>6.2}s", secs(next - *t));
        }
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), BoxError> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let spine_rows = args.first().copied().unwrap_or(1_000_000);
    let keys = args.get(1).copied().unwrap_or(200_000);
    let per_key = args.get(2).copied().unwrap_or(5);
    let history_rows = keys * per_key;
    let dir = tempfile::tempdir()?;
    println!(
        "training set: {spine_rows} spine rows × {history_rows} history rows ({keys} keys × {per_key} timestamps, 10 features)"
    );

    // Data: the history as a Delta feature table, the spine as one Parquet file.
    let t = Instant::now();
    let history: Vec<RecordBatch> = (0..history_rows)
        .step_by(BATCH)
        .map(|s| history_batch(s, (s + BATCH).min(history_rows), per_key))
        .collect();
    let store = OfflineStore::new(
        dir.path().join("offline").to_str().ok_or("path")?,
        HashMap::new(),
    )?;
    let table = TableName::parse("bench.history")?;
    let spec = TableSpec::new(vec!["id".into()], Some("ts".into()))?;
    let ft = store
        .create(&table, spec, history[0].schema(), history, vec![])
        .await?;
    drop(ft);
    let mut rng = Rng(42);
    let spine: Vec<RecordBatch> = (0..spine_rows)
        .step_by(BATCH)
        .map(|s| spine_batch(&mut rng, BATCH.min(spine_rows - s), keys, per_key))
        .collect();
    let spine_path = dir.path().join("spine.parquet");
    write_parquet(&spine_path, &spine)?;
    drop(spine);
    let history_glob = dir.path().join("offline/bench/history/*.parquet");
    println!("  prepared the data in {:.1}s", secs(t.elapsed()));

    // fstore.
    let out = dir.path().join("fstore.parquet");
    let lookup: FeatureLookup =
        "bench.history:lookup_key=id:timestamp_lookup_key=event_ts".parse()?;
    let stages = Arc::new(Stages(Mutex::new(Vec::new())));
    let t = Instant::now();
    let set = fstore_training::training_set(
        &store,
        Spine::File(spine_path.clone()),
        vec![lookup],
        TrainingOptions {
            label: vec!["churned".into()],
            progress: stages.clone(),
            ..Default::default()
        },
    )
    .await?;
    set.write(&out).await?;
    let fstore_time = t.elapsed();
    let fstore_end = Instant::now();
    let (rows, hits) = matched(&out)?;

    // DuckDB, same files, same machine, same run.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/training_set_duckdb.py");
    let duck_out = dir.path().join("duckdb.parquet");
    let output = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(&script)
        .arg(&spine_path)
        .arg(&history_glob)
        .arg(&duck_out)
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "DuckDB run failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let duck_secs: f64 = String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("seconds ")
                .and_then(|s| s.trim().parse().ok())
        })
        .ok_or("the DuckDB script printed no time")?;
    let (duck_rows, duck_hits) = matched(&duck_out)?;

    println!(
        "  fstore training-set (Delta → Parquet)    {:>7.2}s  {:>10.0} rows/s  ({rows} rows, {hits} matched)",
        secs(fstore_time),
        rows as f64 / secs(fstore_time)
    );
    stages.print(fstore_end);
    println!(
        "  DuckDB ASOF LEFT JOIN (Parquet → Parquet) {:>7.2}s  {:>10.0} rows/s  ({duck_rows} rows, {duck_hits} matched)",
        duck_secs,
        duck_rows as f64 / duck_secs
    );
    println!(
        "  ratio fstore / DuckDB: {:.2}× (target ≤ 1.5×)",
        secs(fstore_time) / duck_secs
    );
    if (rows, hits) != (duck_rows, duck_hits) {
        return Err(format!(
            "results differ: fstore {rows} rows / {hits} matched, DuckDB {duck_rows} / {duck_hits}"
        )
        .into());
    }
    Ok(())
}
