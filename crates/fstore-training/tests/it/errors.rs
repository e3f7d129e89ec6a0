//! Requests that break Databricks' lookup rules fail before any row is read, naming the lookup,
//! table and column and saying what to change.

use std::time::Duration;

use fstore_training::{FeatureLookup, Spine, TrainingOptions};

use crate::common::*;

#[tokio::test]
async fn bad_requests_are_refused_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let users = batch(vec![
        ("user_id", ints(vec![Some(1)])),
        ("age", ints(vec![Some(30)])),
    ]);
    create(&store, "s.users", spec(&["user_id"], None), users).await;
    let trips = batch(vec![
        ("driver", ints(vec![Some(1)])),
        ("ts", micros(vec![Some(0)])),
        ("n", ints(vec![Some(3)])),
    ]);
    create(&store, "s.trips", spec(&["driver"], Some("ts")), trips).await;
    let spine = batch(vec![
        ("user_id", ints(vec![Some(1)])),
        ("name", strs(vec![Some("x".into())])),
        ("ets", micros(vec![Some(5)])),
        ("y", bools(vec![Some(true)])),
    ]);
    let users = || FeatureLookup::new(name("s.users"));
    let trips = || {
        FeatureLookup::new(name("s.trips"))
            .lookup_key(["user_id"])
            .timestamp_lookup_key("ets")
    };
    let labelled = |label: &str| TrainingOptions {
        label: vec![label.into()],
        ..Default::default()
    };
    let cases: Vec<(Vec<FeatureLookup>, TrainingOptions, &str)> = vec![
        (
            vec![users().lookup_key(["user_id", "name"])],
            labelled("y"),
            "lookup_key has 2 column(s) (user_id, name) but the table has 1 primary key(s) (user_id)",
        ),
        (
            vec![users().lookup_key(["name"])],
            labelled("y"),
            "lookup key `name` is string in the spine but primary key `user_id` is bigint",
        ),
        (
            vec![users().lookup_key(["nope"])],
            labelled("y"),
            "the spine has no lookup key column `nope`",
        ),
        (
            vec![FeatureLookup::new(name("s.trips")).lookup_key(["user_id"])],
            labelled("y"),
            "time-series table (timestamp key `ts`): give timestamp_lookup_key",
        ),
        (
            vec![users().timestamp_lookup_key("ets")],
            labelled("y"),
            "it has no timestamp key, so timestamp_lookup_key is not allowed",
        ),
        (
            vec![users().lookback(Duration::from_secs(1))],
            labelled("y"),
            "a lookback window needs a time-series table",
        ),
        (
            vec![
                trips().lookback(Duration::from_secs(1)),
                trips().lookback(Duration::from_secs(2)).rename("n", "n2"),
            ],
            labelled("y"),
            "same lookback window",
        ),
        (
            vec![trips().timestamp_lookup_key("name")],
            labelled("y"),
            "timestamp_lookup_key `name` has type Utf8 in the spine",
        ),
        (
            vec![users().features(["height"])],
            labelled("y"),
            "it has no column `height`; its columns are: user_id, age",
        ),
        (
            vec![users().features(["user_id"])],
            labelled("y"),
            "`user_id` is a key of the table, not a feature",
        ),
        (
            vec![users().features(["age"]).rename("height", "h")],
            labelled("y"),
            "rename names `height`",
        ),
        (
            vec![users(), users()],
            labelled("y"),
            "two lookups produce the output column `age`",
        ),
        (
            vec![users()],
            labelled("label"),
            "the spine has no column `label` (a label)",
        ),
        (
            vec![users()],
            TrainingOptions {
                label: vec!["y".into()],
                exclude: vec!["y".into()],
                ..Default::default()
            },
            "`y` is a label and cannot be excluded",
        ),
        (
            vec![users()],
            TrainingOptions {
                exclude: vec!["zzz".into()],
                ..Default::default()
            },
            "cannot exclude `zzz`",
        ),
        (
            vec![FeatureLookup::new(name("s.nope"))],
            labelled("y"),
            "no feature table `s.nope`",
        ),
    ];
    for (lookups, opts, needle) in cases {
        let e = run(&store, spine.clone(), lookups, opts)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains(needle), "expected {needle:?} in: {e}");
    }

    let e = fstore_training::training_set(
        &store,
        Spine::File(dir.path().join("missing.parquet")),
        vec![users()],
        TrainingOptions::default(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("missing.parquet: no such file"), "{e}");
    let e = Spine::parse("not a table").unwrap_err().to_string();
    assert!(e.contains("neither a file"), "{e}");
    assert!(matches!(
        Spine::parse("default.labels").unwrap(),
        Spine::Table(_)
    ));
    assert!(matches!(
        Spine::parse("labels.parquet").unwrap(),
        Spine::File(_)
    ));
}

#[tokio::test]
async fn csv_and_jsonl_spines_and_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let users = batch(vec![
        ("user_id", ints(vec![Some(1), Some(2)])),
        ("age", ints(vec![Some(30), None])),
    ]);
    create(&store, "s.users", spec(&["user_id"], None), users).await;
    let csv = dir.path().join("spine.csv");
    std::fs::write(&csv, "user_id,y\n2,0\n1,1\n3,1\n1,0\n").unwrap();
    let jsonl = dir.path().join("spine.jsonl");
    std::fs::write(&jsonl, "{\"user_id\":2,\"y\":0}\n{\"user_id\":1,\"y\":1}\n{\"user_id\":3,\"y\":1}\n{\"user_id\":1,\"y\":0}\n").unwrap();
    for (spine, out) in [(csv, "out.jsonl"), (jsonl, "out.csv")] {
        let set = fstore_training::training_set(
            &store,
            Spine::File(spine),
            vec![FeatureLookup::new(name("s.users"))],
            TrainingOptions {
                label: vec!["y".into()],
                batch_size: 3,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let out = dir.path().join(out);
        assert_eq!(set.write(&out).await.unwrap().rows, 4);
        let text = std::fs::read_to_string(&out).unwrap();
        if out.extension().unwrap() == "csv" {
            assert_eq!(text, "user_id,age,y\n2,,0\n1,30,1\n3,,1\n1,30,0\n");
        } else {
            assert_eq!(
                text,
                "{\"user_id\":2,\"y\":0}\n{\"user_id\":1,\"age\":30,\"y\":1}\n{\"user_id\":3,\"y\":1}\n{\"user_id\":1,\"age\":30,\"y\":0}\n"
            );
        }
    }
}
