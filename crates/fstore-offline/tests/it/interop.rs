//! Interoperability with other Delta writers and readers: registering the checkpointed,
//! partitioned fixture written by Python `deltalake` (`testdata/make_fixtures.py`), and reading
//! tables fstore wrote with Python `deltalake` (`FSTORE_TEST_PYTHON`, default `python3`;
//! `scripts/test` installs the package).

use std::path::{Path, PathBuf};
use std::process::Command;

use fstore_offline::{TimeTravel, WriteMode};
use tempfile::TempDir;

use crate::common::*;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/delta/rides_python")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn python(code: &str) -> String {
    let py = std::env::var("FSTORE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&py)
        .arg("-c")
        .arg(python_script(code))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {py}: {e}; scripts/test installs what it needs"));
    assert!(
        out.status.success(),
        "python failed (needs `pip install deltalake pyarrow`; scripts/test does it):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn registers_a_checkpointed_partitioned_table_written_by_python() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let copy = dir.path().join("lake/rides");
    copy_dir(&fixture(), &copy);
    let n = name("mobility.rides");

    let t = store
        .register(
            &n,
            Some(copy.to_str().unwrap()),
            spec(&["ride_id"], Some("ts")),
        )
        .await
        .unwrap();
    assert_eq!(t.version, 5, "versions 0-4 by Python, 5 records the spec");
    assert_eq!(t.partition_columns, ["city"]);
    let all = t
        .scan(
            Some(&["ride_id".into(), "city".into(), "fare".into()]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        rows(&all, &["ride_id"]),
        [
            "1|paris|10.5",
            "2|paris|99.5",
            "3|paris|11.5",
            "4|lyon|12.0",
            "5|lyon|12.5",
            "7|nice|13.5",
            "8|nice|14.0"
        ]
    );

    // Versions from before the registration read with today's spec.
    let v1 = store.open_at(&n, TimeTravel::Version(1)).await.unwrap();
    assert_eq!(v1.spec, t.spec);
    assert_eq!(rows(&v1.scan(None, None).await.unwrap(), &[]).len(), 6);

    // fstore writes into it like into its own tables (ride_id is NOT NULL there).
    let change = batch(vec![
        ("ride_id", ints(&[2, 9])),
        (
            "ts",
            micros(&[1_704_096_000_000_000, 1_704_099_600_000_000]),
        ),
        ("city", strs(&[Some("paris"), Some("lyon")])),
        ("fare", floats(&[Some(20.0), Some(30.0)])),
    ]);
    let out = store
        .write(&n, vec![change], WriteMode::Merge)
        .await
        .unwrap();
    assert_eq!((out.rows_inserted, out.rows_updated), (1, 1), "{out:?}");
    let t = store.open(&n).await.unwrap();
    let got = t
        .scan_latest(
            Some(&["ride_id".into(), "fare".into()]),
            Some("ride_id IN (2, 9)"),
        )
        .await
        .unwrap();
    assert_eq!(rows(&got, &["ride_id"]), ["2|20.0", "9|30.0"]);
}

#[tokio::test]
async fn python_deltalake_reads_what_fstore_wrote() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    create_passengers(&store, "default.passengers").await;
    let change = batch(vec![
        ("PassengerId", ints(&[2, 4])),
        ("Embarked", strs(&[Some("C"), Some("S")])),
    ]);
    store
        .write(&name("default.passengers"), vec![change], WriteMode::Merge)
        .await
        .unwrap();
    let url = store.table_url(&name("default.passengers"));

    let out = python(&format!(
        r#"
from deltalake import DeltaTable
dt = DeltaTable({path:?})
t = dt.to_pyarrow_table().sort_by("PassengerId")
m = dt.metadata()
print(dt.version(), t.num_rows, t.column_names, t.column("Embarked").to_pylist(),
      m.configuration["fstore.primaryKeys"], m.description)
v0 = DeltaTable({path:?}, version=0).to_pyarrow_table()
print(v0.num_rows, v0.column_names)
"#,
        path = url.to_file_path().unwrap().to_str().unwrap()
    ));
    assert_eq!(
        out,
        "2 4 ['PassengerId', 'Name', 'Age', 'Fare', 'Embarked'] [None, 'C', None, 'S'] [\"PassengerId\"] Titanic passengers\n\
         3 ['PassengerId', 'Name', 'Age', 'Fare']"
    );
}

/// Wraps a test's Python code so the interpreter leaves with `os._exit` once the output is flushed:
/// the `deltalake` wheel sometimes aborts in its runtime's shutdown ("terminate called without an
/// active exception") after the work is done, which would fail a correct test at random.
fn python_script(code: &str) -> String {
    format!("{code}\nimport os, sys\nsys.stdout.flush()\nsys.stderr.flush()\nos._exit(0)\n")
}
