//! The worked example of `docs/training-sets.md`, run exactly as written there: its input files,
//! its `--lookup` specs and its expected `train.csv` are read from the document itself, so the
//! document and the code cannot drift apart.

use std::path::{Path, PathBuf};

use fstore_training::{FeatureLookup, Spine, TrainingOptions};

use crate::common::*;

fn doc() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/training-sets.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fenced block opened by ```` ```<lang> <file> ````.
fn block(doc: &str, file: &str) -> String {
    let mut lines = doc.lines();
    while let Some(l) = lines.next() {
        if l.starts_with("```") && l.split_whitespace().nth(1) == Some(file) {
            let body: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.starts_with("```"))
                .collect();
            return body.join("\n") + "\n";
        }
    }
    panic!("no ``` block for {file} in docs/training-sets.md");
}

/// The `--lookup '...'` arguments of the example command.
fn lookup_specs(doc: &str) -> Vec<String> {
    let cmd = block(doc, "example-command");
    cmd.split("--lookup '")
        .skip(1)
        .map(|rest| rest.split('\'').next().unwrap().to_string())
        .collect()
}

fn write(dir: &Path, file: &str, text: &str) -> PathBuf {
    let p = dir.join(file);
    std::fs::write(&p, text).unwrap();
    p
}

#[tokio::test]
async fn the_documented_example_gives_the_documented_output() {
    let doc = doc();
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    for (file, table, ts) in [
        ("users.csv", "default.users", None),
        ("trips.csv", "default.trips", Some("ts")),
    ] {
        let path = write(dir.path(), file, &block(&doc, file));
        let (schema, batches) = fstore_offline::input::read_file(&path).unwrap();
        let pk = schema.field(0).name().clone();
        store
            .create(&name(table), spec(&[&pk], ts), schema, batches, vec![])
            .await
            .unwrap();
    }
    let spine = write(dir.path(), "labels.csv", &block(&doc, "labels.csv"));
    let specs = lookup_specs(&doc);
    assert_eq!(specs.len(), 2, "{specs:?}");
    let lookups = specs
        .iter()
        .map(|s| s.parse::<FeatureLookup>().unwrap())
        .collect();
    let set = fstore_training::training_set(
        &store,
        Spine::File(spine),
        lookups,
        TrainingOptions {
            label: vec!["churned".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let out = dir.path().join("train.csv");
    set.write(&out).await.unwrap();
    let got = std::fs::read_to_string(&out).unwrap();
    assert_eq!(got, block(&doc, "train.csv"), "got:\n{got}");
}
