//! The README's first command: `fstore quickstart` on the embedded default.

use crate::util::Scratch;

#[test]
fn quickstart_publishes_and_looks_up_a_feature_vector() {
    let s = Scratch::new();
    let out = s.run(&["quickstart", "--rows", "200"]).ok().stdout;
    assert!(
        out.contains("created feature table default.online_feature_table"),
        "{out}"
    );
    assert!(
        out.contains("published default.online_feature_table → local:online_feature_table"),
        "{out}"
    );
    // PassengerId 1 is in the sample and was changed by the merge step (every 10th id from 1).
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("PassengerId=1:"))
        .unwrap_or_else(|| panic!("no lookup line for PassengerId 1:\n{out}"));
    assert!(
        line.contains("Age=21") && line.contains("FareRounded=11"),
        "{line}"
    );
    assert!(line.contains("Sex="), "{line}");
    assert!(out.contains("PassengerId=1000000000: not found"), "{out}");
    assert!(s.path().join("fstore-data/online.db").exists());
    assert!(
        s.path()
            .join("fstore-data/offline/default/online_feature_table/_delta_log")
            .exists()
    );
    assert!(
        s.path()
            .join("fstore-data/samples/features.parquet")
            .exists()
    );

    // Running it again works and says it replaced the sample rows.
    let again = s.run(&["quickstart", "--rows", "200"]).ok().stdout;
    assert!(again.contains("overwrote feature table"), "{again}");

    // The published table answers lookups from the CLI, as JSON.
    let json = s
        .run(&[
            "lookup",
            "default.online_feature_table",
            "--key",
            "PassengerId=2",
            "--format",
            "json",
        ])
        .ok()
        .stdout;
    let v: serde_json::Value = serde_json::from_str(json.trim()).expect("json line");
    assert_eq!(v["PassengerId"], 2);
    assert!(v["Sex"].is_string() && v["Pclass"].is_i64(), "{v}");
}

/// `fstore --help` (and `-h`) opens by saying what fstore is, not with the crate's own
/// description of its plumbing.
#[test]
fn help_opens_with_what_fstore_is() {
    let s = Scratch::new();
    for flag in ["--help", "-h"] {
        let out = s.run(&[flag]).ok();
        let first = out.stdout.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("fstore — a feature store"),
            "`fstore {flag}` opens with {first:?}:\n{}",
            out.stdout
        );
        assert!(
            !out.stdout.contains("The fstore command: arguments"),
            "`fstore {flag}` shows the crate description:\n{}",
            out.stdout
        );
        assert!(out.stdout.contains("Usage: fstore"), "{}", out.stdout);
    }
}
