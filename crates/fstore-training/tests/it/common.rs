//! Test helpers: a store in a temp dir, column builders and a seeded random number generator.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::compute::concat_batches;
use arrow::util::pretty::pretty_format_batches;
use fstore_core::{TableName, TableSpec};
use fstore_offline::OfflineStore;
use fstore_training::{FeatureLookup, Spine, TrainingOptions};
use tempfile::TempDir;

pub fn store(dir: &TempDir) -> OfflineStore {
    OfflineStore::new(dir.path().join("offline").to_str().unwrap(), HashMap::new()).unwrap()
}

pub fn name(s: &str) -> TableName {
    TableName::parse(s).unwrap()
}

pub fn spec(pks: &[&str], ts: Option<&str>) -> TableSpec {
    TableSpec::new(
        pks.iter().map(|s| s.to_string()).collect(),
        ts.map(str::to_string),
    )
    .unwrap()
}

pub fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(cols).unwrap()
}

pub fn ints(v: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(Int64Array::from(v))
}

pub fn floats(v: Vec<Option<f64>>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}

pub fn strs(v: Vec<Option<String>>) -> ArrayRef {
    Arc::new(StringArray::from(v))
}

pub fn bools(v: Vec<Option<bool>>) -> ArrayRef {
    Arc::new(BooleanArray::from(v))
}

pub fn dates(v: Vec<Option<i32>>) -> ArrayRef {
    Arc::new(Date32Array::from(v))
}

/// Microsecond UTC timestamps.
pub fn micros(v: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
}

/// Creates a table from one batch.
pub async fn create(store: &OfflineStore, table: &str, spec: TableSpec, b: RecordBatch) {
    store
        .create(&name(table), spec, b.schema(), vec![b], vec![])
        .await
        .unwrap();
}

/// Runs a training set over an in-memory spine and returns its rows as one batch.
pub async fn run(
    store: &OfflineStore,
    spine: RecordBatch,
    lookups: Vec<FeatureLookup>,
    opts: TrainingOptions,
) -> fstore_training::Result<RecordBatch> {
    let spine = Spine::Batches {
        schema: spine.schema(),
        batches: vec![spine],
    };
    let set = fstore_training::training_set(store, spine, lookups, opts).await?;
    let schema = set.schema();
    let batches = set.collect().await?;
    Ok(concat_batches(&schema, &batches).unwrap())
}

pub fn pretty(b: &RecordBatch) -> String {
    pretty_format_batches(std::slice::from_ref(b))
        .unwrap()
        .to_string()
}

/// SplitMix64: small, seeded, reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `p` percent.
    pub fn chance(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}
