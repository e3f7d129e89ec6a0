//! The publish history against real Delta tables and both online stores: one row per publish
//! (full, incremental, up to date, failed) with its versions, method, counts and outcome; a
//! failed publish is recorded without changing the data. A child of `incremental` to share its
//! scratch environment.

use fstore_core::{NoProgress, TableName};
use fstore_online::OnlineReader;
use fstore_publish::{PublishOptions, publish};

use super::{Env, Kind, OfflineMode, create_people, people, people_schema, write};

async fn history_records_every_publish(kind: Kind) {
    let env = Env::new(kind, "publish_history").await;
    let t = "default.people";
    create_people(&env, t, 1..=50).await;
    assert!(
        env.store
            .history("people", 10)
            .await
            .expect("history")
            .is_empty()
    );

    env.publish(t, &PublishOptions::default()).await;
    // Version 1: 5 updates and 5 inserts.
    let changed = arrow::compute::concat_batches(
        &people_schema(),
        &[people(1..=5, "v1"), people(51..=55, "v1")],
    )
    .expect("concat");
    write(&env, t, changed, OfflineMode::Merge).await;
    env.publish(t, &PublishOptions::default()).await;
    // Version 2: 3 deletes.
    env.offline
        .delete(&TableName::parse(t).expect("name"), "id <= 3")
        .await
        .expect("delete");
    env.publish(t, &PublishOptions::default()).await;
    env.publish(t, &PublishOptions::default()).await;
    // A filter naming no column fails; nothing is written.
    let bad = PublishOptions {
        filter: Some("no_such_column > 1".into()),
        ..Default::default()
    };
    let err = publish(
        &env.offline,
        &env.store,
        &TableName::parse(t).expect("name"),
        &bad,
        &NoProgress,
    )
    .await
    .expect_err("a filter on a missing column fails");
    assert_eq!(env.online_count("people").await, 52);
    let recorded = env.store.describe("people").await.expect("describe");
    assert_eq!(recorded.expect("published").delta_version, 2);

    let h = env.store.history("people", 100).await.expect("history");
    assert_eq!(h.len(), 5, "{h:#?}");
    // Newest first.
    let (failed, up_to_date, deletes, incremental, first) = (&h[0], &h[1], &h[2], &h[3], &h[4]);
    for e in &h {
        assert_eq!(e.online_table, "people");
        assert_eq!(e.feature_table, t);
        assert!(e.finished_at_ms >= e.started_at_ms, "{e:?}");
        assert!(e.seconds >= 0.0);
    }
    assert!(h.windows(2).all(|w| w[0].id > w[1].id), "{h:#?}");

    assert_eq!(first.method.as_deref(), Some("full"), "{first:?}");
    assert!(
        first
            .method_detail
            .as_deref()
            .unwrap_or("")
            .contains("first publish"),
        "{first:?}"
    );
    assert_eq!((first.version_from, first.version_to), (None, Some(0)));
    assert_eq!((first.inserted, first.updated, first.deleted), (50, 0, 0));
    assert!(first.bytes > 0);
    assert_eq!(first.error, None);

    assert_eq!(incremental.method.as_deref(), Some("incremental"));
    assert_eq!(
        (incremental.version_from, incremental.version_to),
        (Some(0), Some(1))
    );
    assert_eq!(
        (
            incremental.inserted,
            incremental.updated,
            incremental.deleted
        ),
        (5, 5, 0),
        "{incremental:?}"
    );

    assert_eq!(
        (deletes.version_from, deletes.version_to),
        (Some(1), Some(2))
    );
    assert_eq!(
        (deletes.inserted, deletes.updated, deletes.deleted),
        (0, 0, 3),
        "{deletes:?}"
    );

    assert_eq!(up_to_date.method.as_deref(), Some("up to date"));
    assert_eq!(
        (up_to_date.version_from, up_to_date.version_to),
        (Some(2), Some(2))
    );
    assert_eq!(
        (
            up_to_date.inserted,
            up_to_date.updated,
            up_to_date.deleted,
            up_to_date.bytes
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(up_to_date.outcome(), "ok");

    assert_eq!(failed.method, None);
    assert_eq!((failed.version_from, failed.version_to), (Some(2), None));
    assert_eq!(failed.error.as_deref(), Some(err.to_string().as_str()));
    assert!(failed.outcome().contains("no_such_column"), "{failed:?}");
    assert_eq!((failed.inserted, failed.updated, failed.deleted), (0, 0, 0));

    // The limit keeps the newest rows; other tables have none.
    let two = env.store.history("people", 2).await.expect("history");
    assert_eq!(two, h[..2].to_vec());
    assert!(
        env.store
            .history("other", 10)
            .await
            .expect("history")
            .is_empty()
    );
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_history_records_every_publish_sqlite() {
    history_records_every_publish(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_history_records_every_publish_mysql() {
    history_records_every_publish(Kind::Mysql).await;
}
