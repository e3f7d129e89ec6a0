//! `list`, `drop` and the errors of `open`.

use fstore_offline::Error;
use tempfile::TempDir;

use crate::common::*;

/// Writes a plain Delta table (no fstore properties) with deltalake's own write API.
pub async fn plain_delta_table(url: url::Url) {
    std::fs::create_dir_all(url.to_file_path().unwrap()).unwrap();
    deltalake::DeltaTableBuilder::from_url(url)
        .unwrap()
        .build()
        .unwrap()
        .write(vec![passengers()])
        .await
        .unwrap();
}

#[tokio::test]
async fn list_finds_every_delta_table_and_link_sorted() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    assert!(
        store.list().await.unwrap().is_empty(),
        "an absent root is empty"
    );
    create_passengers(&store, "zeta.t").await;
    create_passengers(&store, "alpha.b").await;
    create_passengers(&store, "alpha.a").await;
    plain_delta_table(store.table_url(&name("plain.delta"))).await;
    // Not tables: a directory without a log, an invalid name, a stray file.
    std::fs::create_dir_all(dir.path().join("offline/alpha/not_a_table/data")).unwrap();
    std::fs::create_dir_all(dir.path().join("offline/bad-schema/t/_delta_log")).unwrap();
    std::fs::write(dir.path().join("offline/alpha/notes.txt"), "hi").unwrap();
    // A table registered from elsewhere.
    let elsewhere = url::Url::from_directory_path(dir.path().join("elsewhere/x")).unwrap();
    plain_delta_table(elsewhere.clone()).await;
    store
        .register(
            &name("linked.x"),
            Some(elsewhere.as_str()),
            spec(&["PassengerId"], None),
        )
        .await
        .unwrap();

    let names: Vec<String> = store
        .list()
        .await
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        names,
        ["alpha.a", "alpha.b", "linked.x", "plain.delta", "zeta.t"]
    );
}

#[tokio::test]
async fn drop_deletes_the_table_directory() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    create_passengers(&store, "s.gone").await;
    create_passengers(&store, "s.kept").await;
    store.drop(&name("s.gone")).await.unwrap();
    assert!(!dir.path().join("offline/s/gone").exists());
    assert_eq!(store.list().await.unwrap(), [name("s.kept")]);
    let e = store.open(&name("s.gone")).await.unwrap_err();
    assert!(matches!(e, Error::TableNotFound { .. }));
    let e = store.drop(&name("s.gone")).await.unwrap_err();
    assert!(matches!(e, Error::TableNotFound { .. }), "{e}");
}

#[tokio::test]
async fn open_explains_missing_and_unregistered_tables() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let e = store.open(&name("default.nope")).await.unwrap_err();
    let root = dir.path().join("offline");
    assert_eq!(
        e.to_string(),
        format!(
            "no feature table `default.nope` under {}/; create it with `fstore tables create`",
            root.display()
        )
    );
    assert_eq!(e.kind(), fstore_offline::ErrorKind::BadInput);

    plain_delta_table(store.table_url(&name("default.plain"))).await;
    let e = store.open(&name("default.plain")).await.unwrap_err();
    assert!(matches!(e, Error::NotAFeatureTable { .. }));
    assert!(
        e.to_string()
            .contains("register it with `fstore tables register"),
        "{e}"
    );
}
