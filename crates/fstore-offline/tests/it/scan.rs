//! `scan` and `scan_latest`: projection, filters, and the latest row per key.

use fstore_offline::Error;
use tempfile::TempDir;

use crate::common::*;

#[tokio::test]
async fn scan_with_filter_and_projection() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let t = create_passengers(&store, "s.p").await;

    let cols = ["Name".to_string(), "PassengerId".to_string()];
    let got = t
        .scan(Some(&cols), Some("Age > 25 AND Fare < 50"))
        .await
        .unwrap();
    assert_eq!(
        column_names(&got[0].schema()),
        ["Name", "PassengerId"],
        "exactly the columns asked, in order"
    );
    assert_eq!(rows(&got, &["PassengerId"]), ["Heikkinen|3"]);

    let got = t
        .scan(None, Some("Name LIKE 'C%' OR PassengerId IN (1)"))
        .await
        .unwrap();
    assert_eq!(rows(&got, &["PassengerId"]).len(), 2);
    let got = t.scan(Some(&[]), None).await.unwrap();
    assert_eq!(
        got[0].num_columns(),
        4,
        "an empty projection means all columns"
    );
}

#[tokio::test]
async fn bad_filters_and_columns_are_clear_errors() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let t = create_passengers(&store, "s.p").await;
    for (filter, needle) in [
        ("Age >", "syntax error: Expected: an expression, found: EOF"),
        (
            "Age > 30; DROP TABLE x",
            "syntax error: Expected: end of expression, found: ;",
        ),
        ("age > 30", "No field named age. Did you mean '\"Age\"'?"),
        ("Nope = 1", "No field named \"Nope\""),
        ("Age + 1", "non-boolean predicate"),
        ("Age > 'abc'", "abc"),
    ] {
        let e = t.scan(None, Some(filter)).await.unwrap_err();
        assert!(matches!(e, Error::BadFilter { .. }), "{filter}: {e:?}");
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("invalid filter `{filter}` on `s.p`: ")),
            "{msg}"
        );
        assert!(msg.contains(needle), "{filter}: {msg}");
    }
    let e = t.scan(Some(&["Nope".into()]), None).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "`s.p` has no column `Nope`; its columns are: PassengerId, Name, Age, Fare"
    );
}

#[tokio::test]
async fn scan_latest_picks_the_newest_row_per_key_after_the_filter() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    // Out of order on purpose, across two batches.
    let b1 = batch(vec![
        ("id", ints(&[1, 2, 1])),
        ("ts", micros(&[3_000_000, 1_000_000, 1_000_000])),
        ("x", floats(&[Some(13.0), Some(21.0), Some(11.0)])),
    ]);
    let b2 = batch(vec![
        ("id", ints(&[2, 1, 3])),
        ("ts", micros(&[2_000_000, 2_000_000, 5_000_000])),
        ("x", floats(&[Some(22.0), Some(12.0), None])),
    ]);
    let t = store
        .create(
            &name("s.ts"),
            spec(&["id"], Some("ts")),
            b1.schema(),
            vec![b1, b2],
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(rows(&t.scan(None, None).await.unwrap(), &[]).len(), 6);

    let latest = t.scan_latest(None, None).await.unwrap();
    assert_eq!(
        rows(&latest, &["id"]),
        [
            "1|1970-01-01T00:00:03Z|13.0",
            "2|1970-01-01T00:00:02Z|22.0",
            "3|1970-01-01T00:00:05Z|NULL"
        ]
    );
    // The filter applies first: the latest row among those with x < 13.
    let cols = ["id".to_string(), "x".to_string()];
    let latest = t.scan_latest(Some(&cols), Some("x < 13")).await.unwrap();
    assert_eq!(rows(&latest, &["id"]), ["1|12.0"]);
    let latest = t
        .scan_latest(None, Some("ts <= '1970-01-01T00:00:01Z'"))
        .await
        .unwrap();
    assert_eq!(
        rows(&latest, &["id"]),
        ["1|1970-01-01T00:00:01Z|11.0", "2|1970-01-01T00:00:01Z|21.0"]
    );
}

#[tokio::test]
async fn scan_latest_on_a_table_without_timestamp_key_is_a_scan() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let t = create_passengers(&store, "s.p").await;
    assert_eq!(
        rows(
            &t.scan_latest(None, Some("Age < 30")).await.unwrap(),
            &["PassengerId"]
        ),
        rows(
            &t.scan(None, Some("Age < 30")).await.unwrap(),
            &["PassengerId"]
        )
    );
}
