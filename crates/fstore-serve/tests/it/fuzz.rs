//! Property tests of request decoding: arbitrary bytes, arbitrary JSON and near-valid requests
//! sent through the router (SQLite store with the fixtures) never panic, never get a 5xx, and
//! every failure is a 4xx with a JSON `{"error": "..."}` body.

use std::sync::{Arc, OnceLock};

use arrow::array::{ArrayRef, Date32Array, Decimal128Array, Int64Array};
use arrow::record_batch::RecordBatch;
use axum::Router;
use axum::body::Body;
use axum::http::Request;
use fstore_core::FeatureType;
use fstore_online::sqlite::SqliteStore;
use fstore_online::{OnlineStore, WriteMode};
use fstore_serve::{LookupOptions, Lookups, ServerOptions};
use proptest::prelude::*;
use serde_json::{Value as J, json};
use tower::ServiceExt as _;

use crate::common::{publish_fixtures, write};

struct Fixture {
    rt: tokio::runtime::Runtime,
    app: Router,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("online.db");
        let app = rt.block_on(async {
            let store = OnlineStore::Sqlite(SqliteStore::open(&path).unwrap());
            publish_fixtures(&store).await;
            // Date and decimal keys.
            let events = RecordBatch::try_from_iter(vec![
                (
                    "day",
                    Arc::new(Date32Array::from(vec![19_723, 19_724])) as ArrayRef,
                ),
                (
                    "amount",
                    Arc::new(
                        Decimal128Array::from(vec![150, -5])
                            .with_precision_and_scale(10, 2)
                            .unwrap(),
                    ) as ArrayRef,
                ),
                ("n", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ])
            .unwrap();
            write(
                &store,
                "events",
                &["day", "amount"],
                WriteMode::Overwrite,
                events,
                1,
            )
            .await;
            let lookups = Lookups::new(
                fstore_online::ReadStore::new(store),
                LookupOptions {
                    max_keys: 50,
                    ..Default::default()
                },
            );
            fstore_serve::router(
                lookups,
                ServerOptions {
                    max_body_bytes: 64 << 10,
                    ..Default::default()
                },
            )
        });
        Fixture { rt, app, _dir: dir }
    })
}

/// Sends `body` to `path`; checks the answer is a 2xx or a 4xx with a JSON error; returns the status.
fn send(path: &str, body: Vec<u8>) -> u16 {
    let f = fixture();
    let (status, bytes) = f.rt.block_on(async {
        let req = Request::post(path).body(Body::from(body)).unwrap();
        let resp = f.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, bytes)
    });
    let text = String::from_utf8_lossy(&bytes);
    assert!(status < 500, "{path}: status {status}: {text}");
    if status != 200 {
        assert!((400..500).contains(&status), "{path}: status {status}");
        let j: J = serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {text}"));
        assert!(j["error"].as_str().is_some_and(|m| !m.is_empty()), "{text}");
    }
    status
}

const PATHS: [&str; 6] = [
    "/v1/feature-tables/default.users/lookup",
    "/v1/feature-tables/default.trips/lookup",
    "/v1/feature-tables/events/lookup",
    "/v1/feature-tables/default.nope/lookup",
    "/v1/feature-tables/x/lookup",
    "/v1/feature-vectors/lookup",
];

fn names() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "keys",
            "features",
            "rows",
            "lookups",
            "table",
            "lookup_key",
            "rename",
            "user_id",
            "age",
            "driver_id",
            "city",
            "day",
            "amount",
            "n",
            "default.users",
            "users",
            "default.trips",
            "events",
            "score",
            "",
        ])
        .prop_map(str::to_string),
        "[a-z_.]{1,6}",
        any::<String>(),
    ]
}

fn leaf() -> impl Strategy<Value = J> {
    prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::from),
        any::<u64>().prop_map(J::from),
        (-3i64..200).prop_map(J::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(J::Null, J::Number)),
        prop::sample::select(vec![
            "2024-01-01",
            "2024-01-02",
            "2024-02-30",
            "0000-00-00",
            "-5-01-01",
            "99999999999999999999-01-01",
            "9223372036854775807-12-31",
            "2024-01-01T-999999999999:00:00",
            "1.50",
            "-0.05",
            "1e3",
            "99999999999999999999999999999999999999999.5",
            "paris",
            "rome",
        ])
        .prop_map(|s| J::String(s.into())),
        any::<String>().prop_map(J::String),
    ]
}

fn json() -> impl Strategy<Value = J> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(J::Array),
            prop::collection::vec((names(), inner), 0..6)
                .prop_map(|kv| J::Object(kv.into_iter().collect())),
        ]
    })
}

/// Requests with the right outline and arbitrary contents.
fn near_valid() -> impl Strategy<Value = J> {
    let key = || {
        prop::collection::vec((names(), leaf()), 0..4)
            .prop_map(|kv| J::Object(kv.into_iter().collect()))
    };
    let features = || prop::option::of(prop::collection::vec(names(), 0..4));
    let table = (prop::collection::vec(key(), 0..60), features()).prop_map(|(keys, f)| {
        let mut o = json!({"keys": keys});
        if let Some(f) = f {
            o["features"] = json!(f);
        }
        o
    });
    let lookup = (
        names(),
        prop::collection::vec(names(), 0..3),
        features(),
        prop::collection::btree_map(names(), names(), 0..2),
    )
        .prop_map(
            |(t, lk, f, r)| json!({"table": t, "lookup_key": lk, "features": f, "rename": r}),
        );
    let vector = (
        prop::collection::vec(key(), 0..20),
        prop::collection::vec(lookup, 0..3),
    )
        .prop_map(|(rows, lookups)| json!({"rows": rows, "lookups": lookups}));
    prop_oneof![table, vector]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_get_a_4xx(path in prop::sample::select(PATHS.to_vec()), body in prop::collection::vec(any::<u8>(), 0..256)) {
        let status = send(path, body);
        prop_assert!(status == 400 || status == 404 || status == 200);
    }

    #[test]
    fn arbitrary_json_never_gets_a_5xx(path in prop::sample::select(PATHS.to_vec()), body in json()) {
        send(path, serde_json::to_vec(&body).unwrap());
    }

    #[test]
    fn near_valid_requests_never_get_a_5xx(path in prop::sample::select(PATHS.to_vec()), body in near_valid()) {
        send(path, serde_json::to_vec(&body).unwrap());
    }

    #[test]
    fn key_conversion_never_panics(s in any::<String>(), n in any::<i64>()) {
        for t in [FeatureType::Date, FeatureType::Timestamp, FeatureType::BigInt,
                  FeatureType::Decimal { precision: 38, scale: 10 }, FeatureType::String] {
            let _ = fstore_serve::json::key_value(t, &J::String(s.clone()));
            let _ = fstore_serve::json::key_value(t, &J::from(n));
            for prefix in ["2024-01-01T", "2024-01-01 ", "9999-12-31T23:59:59", "0001-01-01T00:00:00"] {
                let _ = fstore_serve::json::key_value(t, &J::String(format!("{prefix}{s}")));
            }
        }
    }
}

#[test]
fn valid_requests_through_the_router_succeed() {
    assert_eq!(
        send(PATHS[2], br#"{"keys":[{"day":"2024-01-01","amount":"1.5"},{"day":"2024-01-02","amount":"-0.05"}]}"#.to_vec()),
        200
    );
    assert_eq!(send(PATHS[0], br#"{"keys":[{"user_id":1}]}"#.to_vec()), 200);
}
