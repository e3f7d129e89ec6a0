//! Writes from files stream: a rejection found at the end of a large file still comes before the
//! commit, so the table gets no new version and shows none of the file's rows.

use std::io::Write;

use fstore_offline::input::InputFile;
use fstore_offline::{Error, WriteMode};
use tempfile::TempDir;

use crate::common::*;

/// A CSV of `rows` rows (`id,x`), ids 1..=rows, with `last` as the last row's line.
fn csv(dir: &TempDir, file: &str, rows: u64, last: &str) -> std::path::PathBuf {
    let path = dir.path().join(file);
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "id,x").unwrap();
    for i in 1..rows {
        writeln!(w, "{i},{}", i * 2).unwrap();
    }
    writeln!(w, "{last}").unwrap();
    w.flush().unwrap();
    path
}

async fn row_count(store: &fstore_offline::OfflineStore, table: &str) -> usize {
    let t = store.open(&name(table)).await.unwrap();
    t.scan(None, None)
        .await
        .unwrap()
        .iter()
        .map(|b| b.num_rows())
        .sum()
}

#[tokio::test]
async fn a_streamed_create_and_overwrite_and_merge_commit_every_row() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let n = 50_000;
    let path = csv(&dir, "good.csv", n, &format!("{n},1"));
    let file = InputFile::open(&path).unwrap();
    let t = store
        .create_from_file(&name("s.big"), spec(&["id"], None), &file, vec![])
        .await
        .unwrap();
    assert_eq!(t.version, 0);
    assert_eq!(row_count(&store, "s.big").await, n as usize);

    let out = store
        .write_file(&name("s.big"), &file, WriteMode::Overwrite)
        .await
        .unwrap();
    assert_eq!((out.version, out.rows), (1, n));
    assert_eq!(row_count(&store, "s.big").await, n as usize);

    let more = csv(&dir, "more.csv", 10, &format!("{},7", n + 1));
    let out = store
        .write_file(
            &name("s.big"),
            &InputFile::open(&more).unwrap(),
            WriteMode::Merge,
        )
        .await
        .unwrap();
    assert_eq!(
        (out.version, out.rows_inserted, out.rows_updated),
        (2, 1, 9)
    );
    assert_eq!(row_count(&store, "s.big").await, n as usize + 1);
}

#[tokio::test]
async fn a_bad_value_or_duplicate_at_the_end_of_a_file_commits_nothing() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let n = 50_000;
    // The last id repeats the first: a duplicate found only after every batch was written.
    let dup = csv(&dir, "dup.csv", n, "1,5");
    let e = store
        .create_from_file(
            &name("s.dup"),
            spec(&["id"], None),
            &InputFile::open(&dup).unwrap(),
            vec![],
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains(&format!(
            "duplicate key id=1 appears 2 times in the input for `s.dup` (rows 1, {n})"
        )),
        "{e}"
    );
    assert!(matches!(
        store.open(&name("s.dup")).await.unwrap_err(),
        Error::TableNotFound { .. }
    ));

    let good = csv(&dir, "good.csv", 10, "10,1");
    store
        .create_from_file(
            &name("s.t"),
            spec(&["id"], None),
            &InputFile::open(&good).unwrap(),
            vec![],
        )
        .await
        .unwrap();
    for mode in [WriteMode::Overwrite, WriteMode::Merge] {
        let e = store
            .write_file(&name("s.t"), &InputFile::open(&dup).unwrap(), mode)
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("duplicate key id=1"),
            "{mode:?}: {e}"
        );
        // A NULL key in the last row of a large file.
        let null = csv(&dir, "null.csv", n, ",3");
        let e = store
            .write_file(&name("s.t"), &InputFile::open(&null).unwrap(), mode)
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("NULL in key column `id` at row {n}")),
            "{mode:?}: {e}"
        );
        let t = store.open(&name("s.t")).await.unwrap();
        assert_eq!(t.version, 0, "{mode:?}");
        assert_eq!(row_count(&store, "s.t").await, 10);
    }
}
