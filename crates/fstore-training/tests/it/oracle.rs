//! The join against a brute-force nested-loop oracle on random data: ties in spine timestamps,
//! NULL features, NULL spine keys and timestamps, keys without history, spine events before the
//! first feature row, lookback edges (exactly the window, one microsecond over), composite keys,
//! date timestamp keys, two lookups of one table, a non-time-series lookup, a feature shadowed by
//! a spine column, and spine batch sizes 1, 2, 7, 49, 50, 51 and 100; in memory and spilled to
//! disk.

use std::collections::HashSet;
use std::time::Duration;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::compute::{cast, concat_batches};
use fstore_offline::OfflineStore;
use fstore_training::{FeatureLookup, Spine, TrainingOptions};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::common::*;

const DAY: i64 = 86_400_000_000;
const BATCH_SIZES: [usize; 7] = [1, 2, 7, 49, 50, 51, 100];

struct A {
    id: i64,
    ts: i64,
    fa_i: Option<i64>,
    fa_s: Option<String>,
}

struct B {
    region: String,
    n: i64,
    day: i32,
    fb: Option<f64>,
}

struct C {
    id: i64,
    fc: Option<String>,
    dup: Option<i64>,
}

#[derive(Clone)]
struct S {
    id: Option<i64>,
    region: Option<String>,
    n: Option<i64>,
    cid: Option<i64>,
    ets: Option<i64>,
    dup: Option<i64>,
    y: Option<i64>,
}

struct Case {
    a: Vec<A>,
    b: Vec<B>,
    c: Vec<C>,
    spine: Vec<S>,
    lookback: Option<i64>,
    exclude_n: bool,
}

fn opt<T>(rng: &mut Rng, null_pct: u64, f: impl FnOnce(&mut Rng) -> T) -> Option<T> {
    if rng.chance(null_pct) {
        None
    } else {
        Some(f(rng))
    }
}

fn generate(seed: u64) -> Case {
    let mut rng = Rng::new(seed);
    let keys = 2 + rng.below(6) as i64;
    let base = (19_700 + rng.below(30) as i64) * DAY;
    let step = *rng.pick(&[1, 1_000_000, 6 * 3_600_000_000]);
    let slots = 4 + rng.below(16) as i64;
    let lookback = if rng.chance(60) {
        Some(step * rng.below(5) as i64)
    } else {
        None
    };

    let mut seen = HashSet::new();
    let mut a = Vec::new();
    for _ in 0..rng.below(40) {
        let id = rng.below(keys as u64) as i64;
        let ts = base + step * rng.below(slots as u64) as i64;
        if seen.insert((id, ts)) {
            a.push(A {
                id,
                ts,
                fa_i: opt(&mut rng, 20, |r| r.below(1000) as i64),
                fa_s: opt(&mut rng, 20, |r| format!("s{}", r.below(50))),
            });
        }
    }
    let regions = ["north", "south", "east"];
    let first_day = (base / DAY) as i32;
    let mut seen = HashSet::new();
    let mut b = Vec::new();
    for _ in 0..rng.below(30) {
        let region = rng.pick(&regions).to_string();
        let n = rng.below(3) as i64;
        let day = first_day + rng.below(6) as i32;
        if seen.insert((region.clone(), n, day)) {
            b.push(B {
                region,
                n,
                day,
                fb: opt(&mut rng, 20, |r| r.below(100) as f64 / 4.0),
            });
        }
    }
    let mut c = Vec::new();
    for id in 0..keys {
        if rng.chance(70) {
            c.push(C {
                id,
                fc: opt(&mut rng, 20, |r| format!("c{}", r.below(9))),
                dup: opt(&mut rng, 20, |r| r.below(9) as i64),
            });
        }
    }

    let mut spine = Vec::new();
    for _ in 0..rng.below(120) {
        // Sometimes aim at a feature row: the same time, exactly the lookback later, 1 µs over.
        let (id, ets) = if !a.is_empty() && rng.chance(35) {
            let row = &a[rng.below(a.len() as u64) as usize];
            let lb = lookback.unwrap_or(step);
            let delta = *rng.pick(&[0, lb, lb + 1, lb.saturating_sub(1)]);
            (Some(row.id), Some(row.ts + delta))
        } else {
            (
                opt(&mut rng, 10, |r| r.below(keys as u64 + 2) as i64),
                opt(&mut rng, 10, |r| {
                    base + step * (r.below(slots as u64 + 4) as i64 - 2)
                }),
            )
        };
        spine.push(S {
            id,
            region: opt(&mut rng, 10, |r| r.pick(&regions).to_string()),
            n: opt(&mut rng, 10, |r| r.below(4) as i64),
            cid: opt(&mut rng, 10, |r| r.below(keys as u64 + 1) as i64),
            ets,
            dup: opt(&mut rng, 30, |r| -(r.below(5) as i64)),
            y: opt(&mut rng, 10, |r| r.below(2) as i64),
        });
    }
    Case {
        a,
        b,
        c,
        spine,
        lookback,
        exclude_n: rng.chance(30),
    }
}

fn spine_batch(spine: &[S]) -> RecordBatch {
    batch(vec![
        ("id", ints(spine.iter().map(|s| s.id).collect())),
        (
            "region",
            strs(spine.iter().map(|s| s.region.clone()).collect()),
        ),
        ("n", ints(spine.iter().map(|s| s.n).collect())),
        ("cid", ints(spine.iter().map(|s| s.cid).collect())),
        ("ets", micros(spine.iter().map(|s| s.ets).collect())),
        ("dup", ints(spine.iter().map(|s| s.dup).collect())),
        ("y", ints(spine.iter().map(|s| s.y).collect())),
    ])
}

async fn create_tables(store: &OfflineStore, case: &Case) {
    let a = batch(vec![
        ("id", ints(case.a.iter().map(|r| Some(r.id)).collect())),
        ("ts", micros(case.a.iter().map(|r| Some(r.ts)).collect())),
        ("fa_i", ints(case.a.iter().map(|r| r.fa_i).collect())),
        (
            "fa_s",
            strs(case.a.iter().map(|r| r.fa_s.clone()).collect()),
        ),
    ]);
    create(store, "s.a", spec(&["id"], Some("ts")), a).await;
    let b = batch(vec![
        (
            "region",
            strs(case.b.iter().map(|r| Some(r.region.clone())).collect()),
        ),
        ("n", ints(case.b.iter().map(|r| Some(r.n)).collect())),
        ("day", dates(case.b.iter().map(|r| Some(r.day)).collect())),
        ("fb", floats(case.b.iter().map(|r| r.fb).collect())),
    ]);
    create(store, "s.b", spec(&["region", "n"], Some("day")), b).await;
    let c = batch(vec![
        ("id", ints(case.c.iter().map(|r| Some(r.id)).collect())),
        ("fc", strs(case.c.iter().map(|r| r.fc.clone()).collect())),
        ("dup", ints(case.c.iter().map(|r| r.dup).collect())),
    ]);
    create(store, "s.c", spec(&["id"], None), c).await;
}

fn lookups(case: &Case) -> Vec<FeatureLookup> {
    let mut a = FeatureLookup::new(name("s.a"))
        .lookup_key(["id"])
        .timestamp_lookup_key("ets")
        .rename("fa_i", "a_i");
    let mut a2 = FeatureLookup::new(name("s.a"))
        .lookup_key(["cid"])
        .timestamp_lookup_key("ets")
        .features(["fa_s"])
        .rename("fa_s", "a_s2");
    if let Some(lb) = case.lookback {
        a = a.lookback(Duration::from_micros(lb as u64));
        a2 = a2.lookback(Duration::from_micros(lb as u64));
    }
    vec![
        a,
        FeatureLookup::new(name("s.b"))
            .lookup_key(["region", "n"])
            .timestamp_lookup_key("ets")
            .features(["fb"]),
        // `dup` is a spine column: the spine's value wins.
        FeatureLookup::new(name("s.c"))
            .lookup_key(["cid"])
            .features(["fc", "dup"]),
        a2,
    ]
}

/// The latest row with equal key and `ts <= spine_ts`, within the lookback: by brute force.
fn as_of<R>(
    rows: &[R],
    key_eq: impl Fn(&R) -> bool,
    ts_of: impl Fn(&R) -> i64,
    spine_ts: Option<i64>,
    lookback: Option<i64>,
) -> Option<&R> {
    let t = spine_ts?;
    rows.iter()
        .filter(|r| key_eq(r) && ts_of(r) <= t && lookback.is_none_or(|lb| t - ts_of(r) <= lb))
        .max_by_key(|r| ts_of(r))
}

fn oracle(case: &Case) -> RecordBatch {
    let mut a_i = Vec::new();
    let mut fa_s = Vec::new();
    let mut fb = Vec::new();
    let mut fc = Vec::new();
    let mut a_s2 = Vec::new();
    for s in &case.spine {
        let hit =
            s.id.and_then(|id| as_of(&case.a, |r| r.id == id, |r| r.ts, s.ets, case.lookback));
        a_i.push(hit.and_then(|r| r.fa_i));
        fa_s.push(hit.and_then(|r| r.fa_s.clone()));
        let hit = match (&s.region, s.n) {
            (Some(region), Some(n)) => as_of(
                &case.b,
                |r| r.region == *region && r.n == n,
                |r| i64::from(r.day) * DAY,
                s.ets,
                None,
            ),
            _ => None,
        };
        fb.push(hit.and_then(|r| r.fb));
        let hit = s.cid.and_then(|id| case.c.iter().find(|r| r.id == id));
        fc.push(hit.and_then(|r| r.fc.clone()));
        let hit = s
            .cid
            .and_then(|id| as_of(&case.a, |r| r.id == id, |r| r.ts, s.ets, case.lookback));
        a_s2.push(hit.and_then(|r| r.fa_s.clone()));
    }
    let spine = spine_batch(&case.spine);
    let mut cols: Vec<(&str, ArrayRef)> = Vec::new();
    for f in ["id", "region", "n", "cid", "ets", "dup"] {
        if f == "n" && case.exclude_n {
            continue;
        }
        cols.push((f, spine.column_by_name(f).unwrap().clone()));
    }
    cols.push(("a_i", ints(a_i)));
    cols.push(("fa_s", strs(fa_s)));
    cols.push(("fb", floats(fb)));
    cols.push(("fc", strs(fc)));
    cols.push(("a_s2", strs(a_s2)));
    cols.push(("y", spine.column_by_name("y").unwrap().clone()));
    batch(cols)
}

fn options(case: &Case, batch_size: usize) -> TrainingOptions {
    TrainingOptions {
        label: vec!["y".into()],
        exclude: if case.exclude_n {
            vec!["n".into()]
        } else {
            vec![]
        },
        batch_size,
        ..Default::default()
    }
}

#[track_caller]
fn assert_same(seed: u64, what: &str, got: &RecordBatch, want: &RecordBatch) {
    let names = |b: &RecordBatch| -> Vec<String> {
        b.schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    };
    assert_eq!(names(got), names(want), "seed {seed} ({what}): columns");
    assert_eq!(
        got.num_rows(),
        want.num_rows(),
        "seed {seed} ({what}): rows"
    );
    for (i, w) in want.columns().iter().enumerate() {
        let g = got.column(i);
        let w: ArrayRef = cast(w, g.data_type()).unwrap();
        if g.as_ref() != w.as_ref() {
            panic!(
                "seed {seed} ({what}): column `{}` differs\n got:\n{}\nwant:\n{}",
                want.schema().field(i).name(),
                pretty(got),
                pretty(want)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matches_a_brute_force_oracle_on_random_data() {
    let cases: u64 = std::env::var("FSTORE_ORACLE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let mut rows_checked = 0usize;
    let mut matched = 0usize;
    for seed in 0..cases {
        let case = generate(seed);
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        create_tables(&store, &case).await;
        let want = oracle(&case);
        rows_checked += want.num_rows();
        matched += want.column_by_name("a_i").unwrap().len()
            - want.column_by_name("a_i").unwrap().null_count();
        for bs in BATCH_SIZES {
            let got = run(
                &store,
                spine_batch(&case.spine),
                lookups(&case),
                options(&case, bs),
            )
            .await
            .unwrap_or_else(|e| panic!("seed {seed}, batch size {bs}: {e}"));
            assert_same(seed, &format!("batch size {bs}"), &got, &want);
        }
        // The same with every table spilled to disk (a budget of 1 byte), in several batch sizes.
        let spill = dir.path().join("spill");
        std::fs::create_dir(&spill).unwrap();
        for bs in [1, 7, 100] {
            let opts = TrainingOptions {
                memory_limit: 1,
                spill_dir: Some(spill.clone()),
                ..options(&case, bs)
            };
            let got = run(&store, spine_batch(&case.spine), lookups(&case), opts)
                .await
                .unwrap_or_else(|e| panic!("seed {seed}, spilled, batch size {bs}: {e}"));
            assert_same(seed, &format!("spilled, batch size {bs}"), &got, &want);
            assert_eq!(
                std::fs::read_dir(&spill).unwrap().count(),
                0,
                "seed {seed}: spill files left"
            );
        }
        // The same through files: a Parquet spine in, Parquet out.
        let spine_path = dir.path().join("spine.parquet");
        let sb = spine_batch(&case.spine);
        let mut w = ArrowWriter::try_new(
            std::fs::File::create(&spine_path).unwrap(),
            sb.schema(),
            None,
        )
        .unwrap();
        w.write(&sb).unwrap();
        w.close().unwrap();
        let out = dir.path().join("out.parquet");
        let set = fstore_training::training_set(
            &store,
            Spine::File(spine_path),
            lookups(&case),
            options(&case, 7),
        )
        .await
        .unwrap();
        let summary = set.write(&out).await.unwrap();
        assert_eq!(summary.rows as usize, case.spine.len());
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&out).unwrap()).unwrap();
        let schema = reader.schema().clone();
        let got: Vec<RecordBatch> = reader.build().unwrap().map(Result::unwrap).collect();
        assert_same(
            seed,
            "parquet file",
            &concat_batches(&schema, &got).unwrap(),
            &want,
        );
    }
    // The random data must actually exercise matches, not only NULLs.
    assert!(rows_checked > 500, "only {rows_checked} rows checked");
    assert!(
        matched > rows_checked / 10,
        "only {matched} of {rows_checked} rows matched"
    );
}
