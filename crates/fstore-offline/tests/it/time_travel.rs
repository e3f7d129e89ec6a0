//! `open_at`: by version and by timestamp, and the errors for versions that do not exist.

use std::time::Duration;

use chrono::Utc;
use fstore_offline::{Error, TimeTravel, WriteMode};
use tempfile::TempDir;

use crate::common::*;

#[tokio::test]
async fn time_travel_by_version_and_by_timestamp() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let n = name("default.passengers");
    let before_creation = Utc::now() - chrono::Duration::seconds(5);
    create_passengers(&store, "default.passengers").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after_v0 = Utc::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let change = batch(vec![
        ("PassengerId", ints(&[1])),
        ("Age", floats(&[Some(99.0)])),
    ]);
    store
        .write(&n, vec![change], WriteMode::Merge)
        .await
        .unwrap();

    let age_of_1 = |t: fstore_offline::FeatureTable| async move {
        rows(
            &t.scan(Some(&["Age".to_string()]), Some("PassengerId = 1"))
                .await
                .unwrap(),
            &[],
        )
    };
    let v0 = store.open_at(&n, TimeTravel::Version(0)).await.unwrap();
    assert_eq!(v0.version, 0);
    assert_eq!(age_of_1(v0).await, ["22.0"]);
    let v1 = store.open_at(&n, TimeTravel::Version(1)).await.unwrap();
    assert_eq!(age_of_1(v1).await, ["99.0"]);

    let t = store
        .open_at(&n, TimeTravel::Timestamp(after_v0))
        .await
        .unwrap();
    assert_eq!(t.version, 0);
    assert_eq!(age_of_1(t).await, ["22.0"]);
    let t = store
        .open_at(&n, TimeTravel::Timestamp(Utc::now()))
        .await
        .unwrap();
    assert_eq!(t.version, 1);
    let latest = store.open_at(&n, TimeTravel::Latest).await.unwrap();
    assert_eq!(latest.version, 1);

    let e = store.open_at(&n, TimeTravel::Version(7)).await.unwrap_err();
    assert!(matches!(e, Error::TimeTravel { .. }));
    assert!(
        e.to_string().contains("at version 7") && e.to_string().contains("versions 0 to 1"),
        "{e}"
    );
    let e = store
        .open_at(&n, TimeTravel::Version(-1))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TimeTravel { .. }), "{e}");
    let e = store
        .open_at(&n, TimeTravel::Timestamp(before_creation))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("did not exist yet"), "{e}");
}
