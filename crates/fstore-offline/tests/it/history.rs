//! `history`: one entry per commit, newest first, with operations and metrics.

use fstore_offline::WriteMode;
use tempfile::TempDir;

use crate::common::*;

#[tokio::test]
async fn history_lists_commits_newest_first() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let n = name("s.p");
    create_passengers(&store, "s.p").await;
    let change = batch(vec![
        ("PassengerId", ints(&[1, 4])),
        ("Age", floats(&[Some(1.0), Some(2.0)])),
    ]);
    store
        .write(&n, vec![change], WriteMode::Merge)
        .await
        .unwrap();
    store
        .write(&n, vec![passengers()], WriteMode::Overwrite)
        .await
        .unwrap();

    let h = store.history(&n, None).await.unwrap();
    let summary: Vec<(i64, &str)> = h
        .iter()
        .map(|e| (e.version, e.operation.as_str()))
        .collect();
    assert_eq!(summary, [(2, "WRITE"), (1, "MERGE"), (0, "CREATE TABLE")]);
    assert!(h.iter().all(|e| e.timestamp.is_some()));
    assert!(h.windows(2).all(|w| w[0].timestamp >= w[1].timestamp));
    assert_eq!(
        h[2].metrics.get("numOutputRows").and_then(|v| v.as_u64()),
        Some(3)
    );
    assert_eq!(
        h[1].metrics
            .get("num_target_rows_inserted")
            .and_then(|v| v.as_u64()),
        Some(1)
    );
    assert_eq!(
        h[1].metrics
            .get("num_target_rows_updated")
            .and_then(|v| v.as_u64()),
        Some(1)
    );
    assert_eq!(
        h[0].parameters.get("mode").and_then(|v| v.as_str()),
        Some("Overwrite")
    );
    assert!(
        h[0].engine
            .as_deref()
            .unwrap_or_default()
            .contains("delta-rs"),
        "{:?}",
        h[0].engine
    );

    let line = h[1].to_string();
    assert!(
        line.starts_with("    1  20") && line.contains("  MERGE  "),
        "{line}"
    );
    assert!(line.contains("num_target_rows_inserted=1"), "{line}");

    let last = store.history(&n, Some(1)).await.unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].version, 2);
}
