//! `register`: adopting Delta tables written by someone else, in place or by path.

use fstore_offline::{Error, WriteMode};
use tempfile::TempDir;

use crate::catalog::plain_delta_table;
use crate::common::*;

#[tokio::test]
async fn register_in_place_records_the_spec_without_rewriting_data() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let n = name("default.spark_made");
    let url = store.table_url(&n);
    plain_delta_table(url.clone()).await;
    let files_before: Vec<String> = deltalake::open_table(url.clone())
        .await
        .unwrap()
        .get_file_uris()
        .unwrap()
        .collect();

    let mut s = spec(&["PassengerId"], None);
    s.description = Some("adopted".into());
    let t = store.register(&n, None, s.clone()).await.unwrap();
    assert_eq!(t.spec, s);
    assert_eq!(
        t.version, 2,
        "one commit for the description, one for the properties"
    );
    assert!(!t.registered_by_link);

    let t = store.open(&n).await.unwrap();
    assert_eq!(t.spec, s);
    assert_eq!(
        rows(
            &t.scan(Some(&["PassengerId".into()]), None).await.unwrap(),
            &["PassengerId"]
        ),
        ["1", "2", "3"]
    );
    let raw = deltalake::open_table(url).await.unwrap();
    assert_eq!(
        raw.get_file_uris().unwrap().collect::<Vec<_>>(),
        files_before,
        "no data rewritten"
    );

    // Once registered it is an ordinary feature table. This one was written with NOT NULL
    // columns (deltalake takes nullability from the Arrow fields), which Delta enforces.
    let partial = batch(vec![
        ("PassengerId", ints(&[1, 4])),
        ("Age", floats(&[Some(4.0), Some(5.0)])),
    ]);
    let e = store
        .write(&n, vec![partial], WriteMode::Merge)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotNullViolation { .. }), "{e:?}");
    assert!(
        e.to_string().contains("is NOT NULL") && e.to_string().contains("include Name, Fare"),
        "{e}"
    );
    assert_eq!(
        store.open(&n).await.unwrap().version,
        2,
        "nothing was written"
    );
    let with_null = batch(vec![("PassengerId", ints(&[1])), ("Name", strs(&[None]))]);
    let e = store
        .write(&n, vec![with_null], WriteMode::Merge)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains(
            "column `Name` of `default.spark_made` is NOT NULL, but the input has NULL at row 1"
        ),
        "{e}"
    );
    let update_only = batch(vec![
        ("PassengerId", ints(&[1])),
        ("Age", floats(&[Some(4.0)])),
    ]);
    store
        .write(&n, vec![update_only], WriteMode::Merge)
        .await
        .unwrap();
    let full = batch(vec![
        ("PassengerId", ints(&[4])),
        ("Name", strs(&[Some("Futrelle")])),
        ("Age", floats(&[Some(35.0)])),
        ("Fare", floats(&[Some(53.1)])),
    ]);
    store.write(&n, vec![full], WriteMode::Merge).await.unwrap();
    let t = store.open(&n).await.unwrap();
    assert_eq!(t.spec, s);
    assert_eq!(
        rows(
            &t.scan(None, Some("PassengerId IN (1, 4)")).await.unwrap(),
            &["PassengerId"]
        ),
        ["1|Braund|4.0|7.25", "4|Futrelle|35.0|53.1"]
    );

    let e = store
        .register(&n, None, spec(&["PassengerId"], None))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::AlreadyFeatureTable { .. }));
    assert!(e.to_string().contains("already a feature table"), "{e}");
}

#[tokio::test]
async fn register_by_path_keeps_a_link_and_drop_removes_only_the_link() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let n = name("ext.passengers");
    let elsewhere = dir.path().join("lake/passengers");
    plain_delta_table(url::Url::from_directory_path(&elsewhere).unwrap()).await;

    let t = store
        .register(
            &n,
            Some(elsewhere.to_str().unwrap()),
            spec(&["PassengerId"], None),
        )
        .await
        .unwrap();
    assert!(t.registered_by_link);
    assert_eq!(t.version, 1, "no description: only the properties commit");
    assert!(
        dir.path()
            .join("offline/ext/passengers.fstore-link")
            .is_file()
    );

    let t = store.open(&n).await.unwrap();
    assert_eq!(
        t.location,
        url::Url::from_directory_path(&elsewhere).unwrap()
    );
    assert_eq!(
        rows(
            &t.scan(Some(&["Name".into()]), Some("PassengerId = 2"))
                .await
                .unwrap(),
            &[]
        ),
        ["Cumings"]
    );
    assert_eq!(store.list().await.unwrap(), std::slice::from_ref(&n));

    // The name is taken: neither create nor another register may reuse it.
    let b = passengers();
    let e = store
        .create(
            &n,
            spec(&["PassengerId"], None),
            b.schema(),
            vec![b],
            vec![],
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TableExists { .. }), "{e}");

    store.drop(&n).await.unwrap();
    assert!(
        !dir.path()
            .join("offline/ext/passengers.fstore-link")
            .exists()
    );
    assert!(
        elsewhere.join("_delta_log").is_dir(),
        "someone else's data stays"
    );
    assert!(matches!(
        store.open(&n).await.unwrap_err(),
        Error::TableNotFound { .. }
    ));
}

#[tokio::test]
async fn register_checks_the_spec_against_the_table_and_writes_nothing_on_failure() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let n = name("default.plain");
    plain_delta_table(store.table_url(&n)).await;
    let e = store
        .register(&n, None, spec(&["Ticket"], None))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("key column `Ticket` is not in the data"),
        "{e}"
    );
    let e = store
        .register(&n, None, spec(&["Age"], None))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cannot be a primary key"), "{e}");
    assert_eq!(delta_version(&store, "default.plain").await, 0);

    let e = store
        .register(&name("default.missing"), None, spec(&["PassengerId"], None))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotADeltaTable { .. }));
    assert!(e.to_string().contains("no Delta table at"), "{e}");
}

#[tokio::test]
async fn a_link_to_a_vanished_table_is_reported() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let n = name("ext.t");
    let elsewhere = dir.path().join("lake/t");
    plain_delta_table(url::Url::from_directory_path(&elsewhere).unwrap()).await;
    store
        .register(
            &n,
            Some(elsewhere.to_str().unwrap()),
            spec(&["PassengerId"], None),
        )
        .await
        .unwrap();
    std::fs::remove_dir_all(&elsewhere).unwrap();
    let e = store.open(&n).await.unwrap_err();
    assert!(matches!(e, Error::DanglingLink { .. }));
    assert!(e.to_string().contains("fstore tables drop ext.t"), "{e}");
    store.drop(&n).await.unwrap();
}
