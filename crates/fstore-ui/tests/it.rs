//! The web page through a real server on SQLite: the token guards it, the online table and its
//! publish history are shown with one chart mark per publish, values are escaped, and a missing
//! offline store is reported on the page rather than failing it. (`scripts/test-web` drives
//! the same pages in chromium, with feature tables published by the CLI.) With a real Delta
//! table, the online table's lag shows in versions and in time between the commits.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use fstore_core::{NoProgress, TableSpec};
use fstore_online::sqlite::SqliteStore;
use fstore_online::{
    OnlineLayout, OnlineStore, OnlineWriter, PublishHistoryEntry, PublishRecord, ReadStore,
    WriteMode,
};
use fstore_serve::{ListenOptions, Lookups, ServerOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_behind_the_token_with_history_marks_and_escaping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("online.db");
    let writer = OnlineStore::Sqlite(SqliteStore::open(&path).unwrap());
    let batch = RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        (
            "name",
            Arc::new(StringArray::from(vec!["<script>x</script>", "b"])) as ArrayRef,
        ),
    ])
    .unwrap();
    let spec = TableSpec::new(vec!["id".into()], None).unwrap();
    let layout = OnlineLayout::new("things", &batch.schema(), &spec).unwrap();
    let record = PublishRecord {
        feature_table: "default.things".into(),
        delta_version: 2,
    };
    writer
        .write(
            &layout,
            WriteMode::Overwrite,
            vec![batch],
            &record,
            &NoProgress,
        )
        .await
        .unwrap();
    for i in 0..3 {
        writer
            .record_publish(&PublishHistoryEntry {
                online_table: "things".into(),
                feature_table: "default.things".into(),
                version_from: (i > 0).then_some(i - 1),
                version_to: (i < 2).then_some(i),
                method: Some("full".into()),
                inserted: 2,
                seconds: 0.5 + i as f64,
                started_at_ms: 1_700_000_000_000 + i * 60_000,
                finished_at_ms: 1_700_000_001_000 + i * 60_000,
                error: (i == 2).then(|| "boom <b>".to_string()),
                ..Default::default()
            })
            .await
            .unwrap();
    }

    let store = ReadStore::new(OnlineStore::Sqlite(SqliteStore::open(&path).unwrap()));
    let lookups = Lookups::new(store, Default::default());
    let ui = fstore_ui::router(fstore_ui::Ui {
        lookups: lookups.clone(),
        offline: Err("no offline store in this test".into()),
        store_name: "local".into(),
    });
    let opts = ServerOptions {
        token: Some("t0ken".into()),
        ..Default::default()
    };
    let app = fstore_serve::router_with_ui(lookups, opts, Some(ui));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(fstore_serve::serve(
        listener,
        app,
        async move {
            let _ = rx.await;
        },
        ListenOptions::default(),
    ));
    let http = reqwest::Client::new();
    let get = |path: &str, token: bool| {
        let mut r = http.get(format!("{base}{path}"));
        if token {
            r = r.bearer_auth("t0ken");
        }
        async move {
            let resp = r.send().await.unwrap();
            let status = resp.status().as_u16();
            let csp = resp
                .headers()
                .get("content-security-policy")
                .map(|v| v.to_str().unwrap().to_string());
            (status, csp, resp.text().await.unwrap())
        }
    };

    for path in ["/ui", "/ui/online/things", "/ui/assets/style.css"] {
        let (status, _, body) = get(path, false).await;
        assert_eq!(status, 401, "{path}: {body}");
    }
    let (status, csp, index) = get("/ui", true).await;
    assert_eq!(status, 200, "{index}");
    assert!(csp.unwrap().contains("default-src 'none'"));
    assert!(index.contains("href=\"/ui/online/things\""), "{index}");
    assert!(
        index.contains("cannot open the offline store: no offline store in this test"),
        "{index}"
    );
    assert!(
        index.contains("boom &lt;b&gt;"),
        "the last publish's error, escaped"
    );

    let (status, _, page) = get("/ui/online/things", true).await;
    assert_eq!(status, 200, "{page}");
    let marks = |id: &str| {
        let chart = &page[page.find(&format!("id=\"{id}\"")).unwrap()..];
        let chart = &chart[..chart.find("</svg>").unwrap()];
        chart.matches("<circle class=\"mark").count()
    };
    assert_eq!((marks("chart-seconds"), marks("chart-rows")), (3, 3));
    assert_eq!(page.matches("class=\"mark failed\"").count(), 2);
    assert!(!page.contains("<b>"), "unescaped value on the page");

    let (status, _, page) = get("/ui/online/nope", true).await;
    assert_eq!(status, 404);
    assert!(page.contains("no online table <code>nope</code>"), "{page}");
    let (status, _, page) = get("/ui/lookup", true).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("data-template=\"{&quot;id&quot;: null}\""),
        "{page}"
    );
    let (status, _, page) = get("/ui/server", true).await;
    assert_eq!(status, 200);
    assert!(page.contains("<td>ui</td>"), "{page}");
    let _ = tx.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lag_shows_in_versions_and_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let offline = fstore_offline::OfflineStore::new(
        dir.path().join("offline").to_str().unwrap(),
        Default::default(),
    )
    .unwrap();
    let path = dir.path().join("online.db");
    let writer = OnlineStore::Sqlite(SqliteStore::open(&path).unwrap());
    let name = fstore_core::TableName::parse("default.things").unwrap();
    let batch = |ids: Vec<i64>| {
        RecordBatch::try_from_iter(vec![("id", Arc::new(Int64Array::from(ids)) as ArrayRef)])
            .unwrap()
    };
    offline
        .create(
            &name,
            TableSpec::new(vec!["id".into()], None).unwrap(),
            batch(vec![1]).schema(),
            vec![batch(vec![1, 2])],
            vec![],
        )
        .await
        .unwrap();
    fstore_publish::publish(
        &offline,
        &writer,
        &name,
        &fstore_publish::PublishOptions::default(),
        &NoProgress,
    )
    .await
    .unwrap();
    // The second commit a little over a second after the first: lag 1 version, 1s.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    offline
        .write(
            &name,
            vec![batch(vec![3])],
            fstore_offline::WriteMode::Merge,
        )
        .await
        .unwrap();

    let store = ReadStore::new(OnlineStore::Sqlite(SqliteStore::open(&path).unwrap()));
    let lookups = Lookups::new(store, Default::default());
    let ui = fstore_ui::router(fstore_ui::Ui {
        lookups: lookups.clone(),
        offline: Ok(offline),
        store_name: "local".into(),
    });
    let app = fstore_serve::router_with_ui(lookups, ServerOptions::default(), Some(ui));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(fstore_serve::serve(
        listener,
        app,
        async move {
            let _ = rx.await;
        },
        ListenOptions::default(),
    ));
    let get = |p: &str| {
        let url = format!("{base}{p}");
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    let index = get("/ui").await;
    let page = get("/ui/online/things").await;
    let _ = tx.send(());
    task.await.unwrap().unwrap();
    // 1.2s apart, rounded to whole seconds (a slow commit may make it 2s).
    let lag = |html: &str| {
        ["1 version, 1s", "1 version, 2s"]
            .iter()
            .any(|want| html.contains(want))
    };
    assert!(lag(&index), "{index}");
    assert!(page.contains("<td id=\"lag\">1 version, "), "{page}");
    assert!(lag(&page), "{page}");
    assert!(page.contains("<td id=\"latest-version\">1 "), "{page}");
}
