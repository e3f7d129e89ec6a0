//! Training sets past the memory budget: feature tables spilled to disk by key partition give
//! exactly the in-memory path's rows, in the same order, and leave no spill files — on success
//! and on error.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow::array::RecordBatch;
use fstore_core::Progress;
use fstore_offline::OfflineStore;
use fstore_training::{FeatureLookup, Spine, TrainingOptions};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::common::*;

const HOUR: i64 = 3_600_000_000;

/// Records the stages a training set goes through.
#[derive(Default)]
struct Stages(Mutex<Vec<String>>);

impl Progress for Stages {
    fn set_stage(&self, stage: &str) {
        self.0.lock().unwrap().push(stage.to_string());
    }
}

impl Stages {
    fn spilled(&self, table: &str) -> bool {
        self.0
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.starts_with(&format!("spilling {table} ")))
    }
}

/// `users` (plain, 200 rows, some ids missing) and `events` (time-series, composite key
/// `(id, kind)`, 30,000 rows with duplicate-free (key, ts)).
async fn tables(store: &OfflineStore, rng: &mut Rng) {
    let ids: Vec<i64> = (0..300).filter(|i| i % 3 != 1).collect();
    let users = batch(vec![
        ("id", ints(ids.iter().map(|&i| Some(i)).collect())),
        (
            "country",
            strs(
                ids.iter()
                    .map(|_| (!rng.chance(10)).then(|| format!("c{}", rng.below(20))))
                    .collect(),
            ),
        ),
        (
            "age",
            ints(ids.iter().map(|_| Some(rng.below(90) as i64)).collect()),
        ),
    ]);
    create(store, "s.users", spec(&["id"], None), users).await;

    let kinds = ["click", "view", "buy"];
    let (mut id, mut kind, mut ts, mut value, mut tag) = (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..30_000i64 {
        // 500 ids × 3 kinds × 20 distinct times: unique (id, kind, ts).
        id.push(Some(i % 500));
        kind.push(Some(kinds[(i / 500 % 3) as usize].to_string()));
        ts.push(Some((i / 1500) * HOUR));
        value.push((!rng.chance(5)).then(|| rng.below(10_000) as f64 / 8.0));
        tag.push((!rng.chance(5)).then(|| format!("t{}", rng.below(1000))));
    }
    let events = batch(vec![
        ("id", ints(id)),
        ("kind", strs(kind)),
        ("ts", micros(ts)),
        ("value", floats(value)),
        ("tag", strs(tag)),
    ]);
    create(store, "s.events", spec(&["id", "kind"], Some("ts")), events).await;
}

/// 6,000 spine rows: NULL and unknown keys, NULL times, times before any history, duplicates.
fn spine(rng: &mut Rng) -> RecordBatch {
    let kinds = ["click", "view", "buy", "none"];
    let n = 6_000;
    let mut id = Vec::new();
    let mut other = Vec::new();
    let mut kind = Vec::new();
    let mut ets = Vec::new();
    let mut y = Vec::new();
    for _ in 0..n {
        id.push((!rng.chance(5)).then(|| rng.below(600) as i64));
        other.push((!rng.chance(5)).then(|| rng.below(600) as i64));
        kind.push((!rng.chance(5)).then(|| rng.pick(&kinds).to_string()));
        ets.push((!rng.chance(3)).then(|| rng.below(24 * 4) as i64 * HOUR / 4 - HOUR));
        y.push(Some(rng.below(2) as i64));
    }
    batch(vec![
        ("id", ints(id)),
        ("other", ints(other)),
        ("kind", strs(kind)),
        ("ets", micros(ets)),
        ("y", ints(y)),
    ])
}

fn lookups() -> Vec<FeatureLookup> {
    vec![
        FeatureLookup::new(name("s.users"))
            .lookup_key(["id"])
            .rename("age", "user_age"),
        FeatureLookup::new(name("s.events"))
            .lookup_key(["id", "kind"])
            .timestamp_lookup_key("ets")
            .lookback(Duration::from_micros(5 * HOUR as u64)),
        FeatureLookup::new(name("s.events"))
            .lookup_key(["other", "kind"])
            .timestamp_lookup_key("ets")
            .features(["value"])
            .rename("value", "other_value")
            .lookback(Duration::from_micros(5 * HOUR as u64)),
        FeatureLookup::new(name("s.users"))
            .lookup_key(["other"])
            .features(["country"])
            .rename("country", "other_country"),
    ]
}

async fn build(
    store: &OfflineStore,
    spine: &RecordBatch,
    memory_limit: usize,
    spill_dir: &Path,
    batch_size: usize,
) -> (RecordBatch, Arc<Stages>) {
    let stages = Arc::new(Stages::default());
    let opts = TrainingOptions {
        label: vec!["y".into()],
        batch_size,
        memory_limit,
        spill_dir: Some(spill_dir.to_path_buf()),
        progress: stages.clone(),
        ..Default::default()
    };
    let got = run(store, spine.clone(), lookups(), opts).await.unwrap();
    assert_eq!(
        std::fs::read_dir(spill_dir).unwrap().count(),
        0,
        "spill files left behind"
    );
    (got, stages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spilled_tables_give_the_in_memory_rows_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let mut rng = Rng::new(21);
    tables(&store, &mut rng).await;
    let spine = spine(&mut rng);
    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).unwrap();

    let (want, stages) = build(&store, &spine, usize::MAX, &spill, 8192).await;
    assert!(!stages.spilled("s.events") && !stages.spilled("s.users"));
    assert_eq!(want.num_rows(), spine.num_rows());
    // The data exercises matches and misses of every lookup.
    for c in ["user_age", "value", "other_value", "other_country"] {
        let col = want.column_by_name(c).unwrap();
        assert!(col.null_count() > 300, "{c}: too few misses");
        assert!(col.len() - col.null_count() > 1000, "{c}: too few matches");
    }

    // `users` fits in 200 KiB, `events` does not: one table in memory, one spilled.
    for (limit, batch_size, users_spilled) in [
        (200 << 10, 8192, false),
        (200 << 10, 1000, false),
        (1, 333, true),
    ] {
        let (got, stages) = build(&store, &spine, limit, &spill, batch_size).await;
        assert!(
            stages.spilled("s.events"),
            "limit {limit}: events not spilled"
        );
        assert_eq!(stages.spilled("s.users"), users_spilled, "limit {limit}");
        assert_eq!(got.schema(), want.schema());
        if got != want {
            for (i, f) in want.schema().fields().iter().enumerate() {
                assert_eq!(
                    got.column(i).as_ref(),
                    want.column(i).as_ref(),
                    "limit {limit}, batch size {batch_size}: column `{}` differs",
                    f.name()
                );
            }
        }
    }
}

/// A Parquet spine whose middle is overwritten: its footer reads, a later row group does not.
fn corrupt_spine(path: &Path, spine: &RecordBatch) {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(500))
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        spine.schema(),
        Some(props),
    )
    .unwrap();
    w.write(spine).unwrap();
    w.close().unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n * 2 / 5..n * 3 / 5] {
        *b = 0xA5;
    }
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_spilled_training_set_leaves_no_spill_files_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let mut rng = Rng::new(7);
    tables(&store, &mut rng).await;
    let spine_path = dir.path().join("spine.parquet");
    corrupt_spine(&spine_path, &spine(&mut rng));
    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).unwrap();
    let stages = Arc::new(Stages::default());
    let opts = TrainingOptions {
        label: vec!["y".into()],
        memory_limit: 1,
        spill_dir: Some(spill.clone()),
        progress: stages.clone(),
        ..Default::default()
    };
    let set = fstore_training::training_set(&store, Spine::File(spine_path), lookups(), opts)
        .await
        .unwrap();
    // The tables are spilled before the spine is read.
    assert!(stages.spilled("s.events"));
    assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 1);
    let out = dir.path().join("out.parquet");
    let err = set.write(&out).await.unwrap_err().to_string();
    assert!(err.contains("spine"), "{err}");
    assert_eq!(
        std::fs::read_dir(&spill).unwrap().count(),
        0,
        "spill files left behind after: {err}"
    );
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains("fstore-tmp")
            })
            .count(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spill_directory_that_cannot_be_created_is_named_with_the_remedy() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let mut rng = Rng::new(3);
    tables(&store, &mut rng).await;
    let opts = TrainingOptions {
        memory_limit: 1,
        spill_dir: Some(dir.path().join("no/such/dir")),
        ..Default::default()
    };
    let spine = spine(&mut rng);
    let err = run(&store, spine, lookups(), opts)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no/such/dir") && err.contains("--memory-limit"),
        "{err}"
    );
}
