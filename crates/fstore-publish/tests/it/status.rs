//! `online status` against real Delta tables and both online stores: a new Delta commit shows
//! as lag (versions and seconds between the commit times), publishing it brings the lag to
//! zero, and the last publish is the history's newest row. A child of `incremental` to share
//! its scratch environment.

use fstore_publish::PublishOptions;
use fstore_publish::status::status;

use super::{Env, Kind, OfflineMode, create_people, people, write};

async fn status_shows_lag_and_the_last_publish(kind: Kind) {
    let env = Env::new(kind, "publish_status").await;
    let t = "default.people";
    assert!(
        status(&env.offline, &env.store)
            .await
            .expect("status")
            .is_empty()
    );
    create_people(&env, t, 1..=20).await;
    env.publish(t, &PublishOptions::default()).await;

    let s = status(&env.offline, &env.store).await.expect("status");
    assert_eq!(s.len(), 1, "{s:#?}");
    let p = &s[0];
    assert_eq!(
        (p.online_table.as_str(), p.feature_table.as_str()),
        ("people", t)
    );
    assert_eq!((p.published_version, p.latest_version), (0, Some(0)));
    assert_eq!((p.lag_versions, p.lag_seconds), (Some(0), Some(0.0)));
    assert!(p.published_committed_at_ms.is_some());
    let last = p.last_publish.as_ref().expect("a recorded publish");
    assert!(last.ok, "{last:?}");
    assert_eq!(last.method.as_deref(), Some("full"));
    assert_eq!(p.offline_error, None);

    // Two new commits, the second at least a little later: lag 2 versions and the seconds
    // between the published commit and the latest.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    write(&env, t, people(21..=22, "v1"), OfflineMode::Merge).await;
    write(&env, t, people(1..=2, "v2"), OfflineMode::Merge).await;
    let s = status(&env.offline, &env.store).await.expect("status");
    let p = &s[0];
    assert_eq!((p.published_version, p.latest_version), (0, Some(2)));
    assert_eq!(p.lag_versions, Some(2));
    let want = (p.latest_committed_at_ms.expect("latest time")
        - p.published_committed_at_ms.expect("published time")) as f64
        / 1000.0;
    assert_eq!(p.lag_seconds, Some(want));
    assert!(
        want >= 1.0,
        "the commits were more than a second apart: {want}"
    );

    env.publish(t, &PublishOptions::default()).await;
    let s = status(&env.offline, &env.store).await.expect("status");
    let p = &s[0];
    assert_eq!((p.published_version, p.latest_version), (2, Some(2)));
    assert_eq!((p.lag_versions, p.lag_seconds), (Some(0), Some(0.0)));
    assert_eq!(
        p.last_publish.as_ref().and_then(|l| l.method.as_deref()),
        Some("incremental")
    );

    // A dropped feature table is reported on its row, not as a failed status.
    env.offline
        .drop(&fstore_core::TableName::parse(t).expect("name"))
        .await
        .expect("drop");
    let s = status(&env.offline, &env.store).await.expect("status");
    assert_eq!(s[0].latest_version, None);
    assert!(
        s[0].offline_error
            .as_deref()
            .unwrap_or("")
            .contains("people"),
        "{:?}",
        s[0].offline_error
    );
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_lag_and_the_last_publish_sqlite() {
    status_shows_lag_and_the_last_publish(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_lag_and_the_last_publish_mysql() {
    status_shows_lag_and_the_last_publish(Kind::Mysql).await;
}
