//! Test fixtures: stores with known data, a server on 127.0.0.1:0, raw HTTP helpers.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array,
    Int64Array, Int64Builder, ListBuilder, StringArray, TimestampMicrosecondArray,
};
use arrow::record_batch::RecordBatch;
use fstore_core::{NoProgress, TableSpec};
use fstore_online::{OnlineLayout, OnlineStore, OnlineWriter, PublishRecord, WriteMode};
use fstore_serve::{ListenOptions, LookupOptions, Lookups, ServerOptions};
use serde_json::Value as J;

/// Users in the `default.users` table: ids 1..=USERS.
pub const USERS: i64 = 100;
/// First `joined` timestamp (µs).
pub const JOINED0: i64 = 1_700_000_000_000_000;

pub fn users_batch(ids: impl Iterator<Item = i64> + Clone) -> RecordBatch {
    let id: Vec<i64> = ids.clone().collect();
    let mut tags = ListBuilder::new(Int64Builder::new());
    for i in &id {
        tags.values().append_value(*i);
        tags.values().append_value(i + 1);
        tags.append(true);
    }
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("user_id", Arc::new(Int64Array::from(id.clone()))),
        (
            "age",
            Arc::new(Int64Array::from_iter_values(id.iter().map(|i| 20 + i % 50))),
        ),
        (
            "score",
            Arc::new(Float64Array::from_iter_values(
                id.iter().map(|i| *i as f64 * 1.5),
            )),
        ),
        (
            "name",
            Arc::new(StringArray::from_iter(
                id.iter().map(|i| (i % 10 != 0).then(|| format!("user{i}"))),
            )),
        ),
        (
            "joined",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    id.iter().map(|i| JOINED0 + i * 1_000_000),
                )
                .with_timezone("UTC"),
            ),
        ),
        (
            "birthday",
            Arc::new(Date32Array::from_iter_values(
                id.iter().map(|i| 10_000 + *i as i32),
            )),
        ),
        (
            "balance",
            Arc::new(
                Decimal128Array::from_iter_values(id.iter().map(|i| (*i as i128) * 100 + 5))
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
        ),
        ("tags", Arc::new(tags.finish())),
        (
            "blob",
            Arc::new(BinaryArray::from_iter_values(
                id.iter().map(|i| vec![*i as u8, 0xff]),
            )),
        ),
        (
            "active",
            Arc::new(BooleanArray::from_iter(id.iter().map(|i| Some(i % 2 == 0)))),
        ),
    ];
    RecordBatch::try_from_iter(cols).unwrap()
}

/// The JSON the server must return for user `i` with every feature.
pub fn user_json(i: i64) -> J {
    use base64::Engine as _;
    serde_json::json!({
        "user_id": i,
        "age": 20 + i % 50,
        "score": i as f64 * 1.5,
        "name": if i % 10 != 0 { J::from(format!("user{i}")) } else { J::Null },
        "joined": fstore_core::value::timestamp_string(JOINED0 + i * 1_000_000),
        "birthday": fstore_core::value::date_string(10_000 + i as i32),
        "balance": format!("{}.05", i),
        "tags": [i, i + 1],
        "blob": base64::engine::general_purpose::STANDARD.encode([i as u8, 0xff]),
        "active": i % 2 == 0,
    })
}

/// `default.trips`: composite key (driver_id, city).
pub fn trips_batch() -> RecordBatch {
    let mut d = Vec::new();
    let mut c = Vec::new();
    for driver in 1..=5i64 {
        for city in ["paris", "rome"] {
            d.push(driver);
            c.push(city);
        }
    }
    let rating: Vec<f64> = d
        .iter()
        .zip(&c)
        .map(|(d, c)| *d as f64 + if *c == "paris" { 0.5 } else { 0.25 })
        .collect();
    let trips: Vec<i32> = d.iter().map(|d| *d as i32 * 10).collect();
    RecordBatch::try_from_iter(vec![
        ("driver_id", Arc::new(Int64Array::from(d)) as ArrayRef),
        ("city", Arc::new(StringArray::from(c)) as ArrayRef),
        ("rating", Arc::new(Float64Array::from(rating)) as ArrayRef),
        ("trips", Arc::new(Int32Array::from(trips)) as ArrayRef),
    ])
    .unwrap()
}

pub fn layout(table: &str, batch: &RecordBatch, keys: &[&str]) -> OnlineLayout {
    let spec = TableSpec::new(keys.iter().map(|k| k.to_string()).collect(), None).unwrap();
    OnlineLayout::new(table, &batch.schema(), &spec).unwrap()
}

/// Writes `batch` as feature table `default.<table>` (Delta version `version`).
pub async fn write(
    store: &OnlineStore,
    table: &str,
    keys: &[&str],
    mode: WriteMode,
    batch: RecordBatch,
    version: i64,
) {
    let l = layout(table, &batch, keys);
    let record = PublishRecord {
        feature_table: format!("default.{table}"),
        delta_version: version,
    };
    store
        .write(&l, mode, vec![batch], &record, &NoProgress)
        .await
        .unwrap_or_else(|e| panic!("writing {table}: {e}"));
}

/// Publishes the standard test tables: `default.users` and `default.trips`.
pub async fn publish_fixtures(store: &OnlineStore) {
    write(
        store,
        "users",
        &["user_id"],
        WriteMode::Overwrite,
        users_batch(1..=USERS),
        3,
    )
    .await;
    write(
        store,
        "trips",
        &["driver_id", "city"],
        WriteMode::Overwrite,
        trips_batch(),
        5,
    )
    .await;
}

/// A running server.
pub struct Server {
    pub base: String,
    pub client: fstore_client::Client,
    pub http: reqwest::Client,
    pub lookups: Lookups,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub async fn start(store: OnlineStore, lopts: LookupOptions, sopts: ServerOptions) -> Server {
        let listen = ListenOptions {
            shutdown_grace: Duration::from_secs(5),
            ..Default::default()
        };
        Self::start_with(store, lopts, sopts, listen).await
    }

    pub async fn start_with(
        store: OnlineStore,
        lopts: LookupOptions,
        sopts: ServerOptions,
        listen: ListenOptions,
    ) -> Server {
        let lookups = Lookups::new(fstore_online::ReadStore::new(store), lopts);
        let token = sopts.token.clone();
        let app = fstore_serve::router(lookups.clone(), sopts);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(fstore_serve::serve(
            listener,
            app,
            async move {
                let _ = rx.await;
            },
            listen,
        ));
        let base = format!("http://{addr}");
        Server {
            client: fstore_client::Client::new(&base, token).unwrap(),
            http: reqwest::Client::new(),
            base,
            lookups,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub async fn default(store: OnlineStore) -> Server {
        Self::start(store, test_lookup_options(), ServerOptions::default()).await
    }

    /// A server that runs one lookup query per table at a time (so concurrent requests share
    /// queries) and re-reads a table's layout only after `layout_ttl`; with busy polling on, as
    /// `bench/serve.sh` runs it, so the poller runs beside every shared query of these tests.
    pub async fn one_query_per_table(store: OnlineStore, layout_ttl: Duration) -> Server {
        let lopts = LookupOptions {
            max_queries_per_table: 1,
            layout_ttl,
            ..test_lookup_options()
        };
        let sopts = ServerOptions {
            busy_poll: Duration::from_micros(200),
            ..Default::default()
        };
        Self::start(store, lopts, sopts).await
    }

    /// POSTs raw `body` to `path`; returns the status and the body as JSON (or a string).
    pub async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, J) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .body(body)
            .send()
            .await
            .unwrap();
        decode(resp).await
    }

    pub async fn get(&self, path: &str) -> (u16, J) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        decode(resp).await
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }
}

pub async fn decode(resp: reqwest::Response) -> (u16, J) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let j = serde_json::from_str(&text).unwrap_or(J::String(text));
    (status, j)
}

pub fn test_lookup_options() -> LookupOptions {
    LookupOptions {
        layout_ttl: Duration::from_millis(200),
        ..Default::default()
    }
}

/// The `error` message of an error body.
pub fn message(j: &J) -> &str {
    j.get("error")
        .and_then(J::as_str)
        .unwrap_or_else(|| panic!("not an error body: {j}"))
}
