//! Scenarios run against every backend (SQLite and MariaDB): each takes a server on a store that
//! holds the fixtures of `common::publish_fixtures`, plus a writer store where needed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arrow::array::{ArrayRef, Int64Array};
use arrow::record_batch::RecordBatch;
use fstore_client::FeatureLookup;
use fstore_online::{OnlineStore, WriteMode};
use serde_json::{Value as J, json};

use crate::common::{Server, USERS, message, user_json, write};

const USERS_LOOKUP: &str = "/v1/feature-tables/default.users/lookup";

pub async fn single_and_batch_lookups(s: &Server) {
    // Single key, every feature, through the client.
    let r = s
        .client
        .lookup("default.users", &[json!({"user_id": 1})], None)
        .await
        .unwrap();
    assert_eq!(r.results.len(), 1);
    assert_eq!(J::Object(r.results[0].clone().unwrap()), user_json(1));
    assert_eq!(r.metadata.feature_table, "default.users");
    assert_eq!(r.metadata.online_table, "users");
    assert_eq!(r.metadata.delta_version, 3);
    assert_eq!(r.metadata.primary_keys, ["user_id"]);
    let types: Vec<(&str, &str)> = r
        .metadata
        .features
        .iter()
        .map(|f| (f.name.as_str(), f.ftype.as_str()))
        .collect();
    assert_eq!(
        types,
        [
            ("age", "bigint"),
            ("score", "double"),
            ("name", "string"),
            ("joined", "timestamp"),
            ("birthday", "date"),
            ("balance", "decimal(10,2)"),
            ("tags", "json"),
            ("blob", "binary"),
            ("active", "boolean"),
        ]
    );

    // Batch: request order, nulls for missing keys, duplicates, a feature subset; the online
    // table name works as well as the feature table name.
    let keys = [7, 1_000, 3, 7, -1, USERS].map(|k| json!({"user_id": k}));
    for name in ["default.users", "users"] {
        let r = s
            .client
            .lookup(name, &keys, Some(&["score", "age"]))
            .await
            .unwrap();
        let got: Vec<J> = r
            .results
            .iter()
            .map(|x| x.clone().map_or(J::Null, J::Object))
            .collect();
        let want = |i: i64| json!({"user_id": i, "score": i as f64 * 1.5, "age": 20 + i % 50});
        assert_eq!(
            got,
            [want(7), J::Null, want(3), want(7), J::Null, want(USERS)]
        );
        let names: Vec<&str> = r
            .metadata
            .features
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(names, ["score", "age"]);
    }

    // Integers stay integers and floats floats in the raw body; keys first, then features in
    // the requested order.
    let text = s
        .http
        .post(format!("{}{USERS_LOOKUP}", s.base))
        .body(r#"{"keys":[{"user_id":2}],"features":["score","age"]}"#)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.starts_with(r#"{"results":[{"user_id":2,"score":3.0,"age":22}],"metadata":"#),
        "{text}"
    );

    // An empty batch is fine; so is an empty feature list (existence check).
    let r = s.client.lookup("default.users", &[], None).await.unwrap();
    assert!(r.results.is_empty());
    let r = s
        .client
        .lookup(
            "default.users",
            &[json!({"user_id": 5}), json!({"user_id": 0})],
            Some(&[]),
        )
        .await
        .unwrap();
    assert_eq!(
        r.results[0].clone().map(J::Object),
        Some(json!({"user_id": 5}))
    );
    assert_eq!(r.results[1], None);

    // Composite keys, in any field order.
    let keys = [
        json!({"city": "rome", "driver_id": 2}),
        json!({"driver_id": 9, "city": "rome"}),
        json!({"driver_id": 1, "city": "paris"}),
    ];
    let r = s.client.lookup("default.trips", &keys, None).await.unwrap();
    assert_eq!(
        r.results[0].clone().map(J::Object),
        Some(json!({"driver_id": 2, "city": "rome", "rating": 2.25, "trips": 20}))
    );
    assert_eq!(r.results[1], None);
    assert_eq!(r.results[2].as_ref().unwrap()["rating"], json!(1.5));
    assert_eq!(r.metadata.primary_keys, ["driver_id", "city"]);

    // The library call, without HTTP, gives typed values and the same JSON.
    let req = fstore_serve::TableLookupRequest {
        keys: vec![json!({"user_id": 4}).as_object().unwrap().clone()],
        features: None,
    };
    let resp = s.lookups.lookup_table("default.users", &req).await.unwrap();
    assert_eq!(
        resp.result.rows[0].as_ref().unwrap()[0],
        fstore_core::Value::Int(24)
    );
    assert_eq!(resp.to_json()["results"][0], user_json(4));

    // Over HTTP, a lookup of every feature answers byte for byte the serialized library answer,
    // the first time and every time after, for single and composite keys.
    for (table, keys) in [
        (
            "default.users",
            vec![json!({"user_id": 3}), json!({"user_id": 1_000})],
        ),
        (
            "default.trips",
            vec![json!({"driver_id": 2, "city": "rome"})],
        ),
    ] {
        let body = json!({ "keys": keys });
        let req: fstore_serve::TableLookupRequest = serde_json::from_value(body.clone()).unwrap();
        for _ in 0..2 {
            let got = s
                .http
                .post(format!("{}/v1/feature-tables/{table}/lookup", s.base))
                .body(body.to_string())
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let want = serde_json::to_vec(&s.lookups.lookup_table(table, &req).await.unwrap());
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8(want.unwrap()).unwrap()
            );
        }
    }
}

pub async fn vector_lookups(s: &Server) {
    let rows = [
        json!({"user_id": 1, "driver": 2, "town": "rome", "request": "a"}),
        json!({"user_id": 1_000, "driver": 1, "town": "paris", "request": "b"}),
        json!({"user_id": 3, "driver": null, "town": "rome", "request": "c"}),
    ];
    let lookups = [
        FeatureLookup::new("default.users", &["user_id"])
            .features(&["age", "name"])
            .rename("age", "user_age"),
        FeatureLookup::new("default.trips", &["driver", "town"]).rename("rating", "driver_rating"),
    ];
    let r = s.client.lookup_vectors(&rows, &lookups).await.unwrap();
    let got: Vec<J> = r.results.into_iter().map(J::Object).collect();
    assert_eq!(
        got,
        [
            json!({"user_id": 1, "driver": 2, "town": "rome", "request": "a",
                   "user_age": 21, "name": "user1", "driver_rating": 2.25, "trips": 20}),
            json!({"user_id": 1_000, "driver": 1, "town": "paris", "request": "b",
                   "user_age": null, "name": null, "driver_rating": 1.5, "trips": 10}),
            json!({"user_id": 3, "driver": null, "town": "rome", "request": "c",
                   "user_age": 23, "name": "user3", "driver_rating": null, "trips": null}),
        ]
    );
    let meta: Vec<(String, String, Option<String>, Option<String>)> = r
        .metadata
        .features
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                f.ftype.clone(),
                f.table.clone(),
                f.feature.clone(),
            )
        })
        .collect();
    let m = |n: &str, t: &str, table: &str, f: &str| {
        (
            n.to_string(),
            t.to_string(),
            Some(table.to_string()),
            Some(f.to_string()),
        )
    };
    assert_eq!(
        meta,
        [
            m("user_age", "bigint", "default.users", "age"),
            m("name", "string", "default.users", "name"),
            m("driver_rating", "double", "default.trips", "rating"),
            m("trips", "int", "default.trips", "trips"),
        ]
    );
    let versions: Vec<(String, i64)> = r
        .metadata
        .tables
        .iter()
        .map(|t| (t.online_table.clone(), t.delta_version))
        .collect();
    assert_eq!(
        versions,
        [("users".to_string(), 3), ("trips".to_string(), 5)]
    );

    // The same table twice under different keys (a user and their referrer), raw JSON with a
    // single-string lookup_key.
    let body = json!({
        "rows": [{"user_id": 2, "referrer": 5}],
        "lookups": [
            {"table": "default.users", "lookup_key": "user_id", "features": ["age"]},
            {"table": "users", "lookup_key": "referrer", "features": ["age"], "rename": {"age": "referrer_age"}},
        ]
    });
    let (status, body) = s.post("/v1/feature-vectors/lookup", body.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["results"],
        json!([{"user_id": 2, "referrer": 5, "age": 22, "referrer_age": 25}])
    );
}

/// Every bad input: its status and message.
pub async fn bad_inputs(s: &Server) {
    let t = USERS_LOOKUP;
    let v = "/v1/feature-vectors/lookup";
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (t, "{".into(), 400, "request body is not valid JSON"),
        (t, "".into(), 400, "request body is not valid JSON"),
        (t, "\u{0}\u{ff}garbage".into(), 400, "request body is not valid JSON"),
        (t, "[1,2]".into(), 400, "request body does not have the expected shape"),
        (t, r#"{"keys":{"user_id":1}}"#.into(), 400, "request body does not have the expected shape"),
        (t, r#"{"key":[{"user_id":1}]}"#.into(), 400, "unknown field `key`"),
        (t, r#"{"features":["age"]}"#.into(), 400, "missing field `keys`"),
        (t, r#"{"keys":[1]}"#.into(), 400, "request body does not have the expected shape"),
        (t, r#"{"keys":[{"user_id":"1"}]}"#.into(), 400,
            "key #1: primary key `user_id` is bigint: expected a JSON integer, got a string (\"1\")"),
        (t, r#"{"keys":[{"user_id":1},{"user_id":1.5}]}"#.into(), 400,
            "key #2: primary key `user_id` is bigint: expected a JSON integer, got a non-integer number (1.5)"),
        (t, r#"{"keys":[{"user_id":null}]}"#.into(), 400, "key #1: primary key `user_id` is bigint: expected a JSON integer, got null"),
        (t, r#"{"keys":[{}]}"#.into(), 400, "key #1 lacks primary key `user_id` of `default.users`"),
        (t, r#"{"keys":[{"user_id":1,"age":3}]}"#.into(), 400,
            "key #1: `age` is not a primary key of `default.users`; its primary keys are: user_id"),
        (t, r#"{"keys":[{"user_id":1}],"features":["age","nope"]}"#.into(), 400,
            "unknown feature `nope` in `default.users`; its features are: age, score, name, joined, birthday, balance, tags, blob, active"),
        (t, r#"{"keys":[{"user_id":1}],"features":["age","age"]}"#.into(), 400, "feature `age` is requested twice"),
        ("/v1/feature-tables/default.trips/lookup", r#"{"keys":[{"driver_id":1}]}"#.into(), 400,
            "key #1 lacks primary key `city` of `default.trips`"),
        ("/v1/feature-tables/default.nope/lookup", r#"{"keys":[]}"#.into(), 404,
            "feature table `default.nope` is not published in this store"),
        ("/v1/feature-tables/other.users/lookup", r#"{"keys":[]}"#.into(), 404,
            "feature table `other.users` is not published in this store (its online table `users` holds `default.users`)"),
        ("/v1/feature-tables/a.b.c/lookup", r#"{"keys":[]}"#.into(), 400, "a.b.c"),
        ("/v1/feature-tables/Robert';%20DROP/lookup", r#"{"keys":[]}"#.into(), 400, "Robert'; DROP"),
        ("/v1/nothing", "{}".into(), 404, "no such route"),
        (v, r#"{"rows":[],"lookups":[]}"#.into(), 400, "`lookups` is empty"),
        (v, r#"{"rows":[{"u":1}],"lookups":[{"table":"default.trips","lookup_key":["u"]}]}"#.into(), 400,
            "lookup #1 (`default.trips`): lookup_key has 1 column(s) but the table has 2 primary key(s) (driver_id, city)"),
        (v, r#"{"rows":[{"u":1},{"x":2}],"lookups":[{"table":"default.users","lookup_key":"u"}]}"#.into(), 400,
            "row #2 lacks `u`, the lookup key of lookup #1 (`default.users`)"),
        (v, r#"{"rows":[{"u":"x"}],"lookups":[{"table":"default.users","lookup_key":"u"}]}"#.into(), 400,
            "row #1: `u` (primary key `user_id` of `default.users`, bigint): expected a JSON integer"),
        (v, r#"{"rows":[{"u":1}],"lookups":[{"table":"default.users","lookup_key":"u","features":["age"],"rename":{"score":"s"}}]}"#.into(), 400,
            "lookup #1 (`default.users`): rename names `score`, which is not one of its features"),
        (v, r#"{"rows":[{"u":1}],"lookups":[{"table":"default.users","lookup_key":"u","features":["age"]},{"table":"default.users","lookup_key":"u","features":["age"]}]}"#.into(), 400,
            "output `age` comes from lookup #1 and lookup #2"),
        (v, r#"{"rows":[{"u":1,"age":2}],"lookups":[{"table":"default.users","lookup_key":"u","features":["age"]}]}"#.into(), 400,
            "row #1 already has a field `age`"),
        (v, r#"{"rows":[{"u":1}],"lookups":[{"table":"default.nope","lookup_key":"u"}]}"#.into(), 404,
            "feature table `default.nope` is not published"),
        (v, r#"{"rows":[],"lookups":[{"table":"default.users","lookup_key":"u","bogus":1}]}"#.into(), 400,
            "unknown field `bogus`"),
    ];
    for (path, body, want_status, want_msg) in cases {
        let (status, j) = s.post(path, body.clone()).await;
        assert_eq!(status, want_status, "{path} {body}: {j}");
        let m = message(&j);
        assert!(
            m.contains(want_msg),
            "{path} {body}: got `{m}`, want `{want_msg}`"
        );
    }

    // Limits: keys per request, rows per vector request, body size.
    let keys: Vec<J> = (0..1001).map(|i| json!({"user_id": i})).collect();
    let (status, j) = s
        .post(USERS_LOOKUP, json!({"keys": keys}).to_string())
        .await;
    assert_eq!(status, 400, "{j}");
    assert_eq!(
        message(&j),
        "too many keys: 1001 in one request, the limit is 1000; split the request"
    );
    let keys: Vec<J> = (0..1000).map(|i| json!({"user_id": i})).collect();
    let r = s
        .client
        .lookup("default.users", &keys, Some(&["age"]))
        .await
        .unwrap();
    assert_eq!(
        r.results.iter().filter(|r| r.is_some()).count(),
        USERS as usize
    );
    let rows: Vec<J> = (0..1001).map(|i| json!({"u": i})).collect();
    let body = json!({"rows": rows, "lookups": [{"table": "default.users", "lookup_key": "u"}]});
    let (status, j) = s.post("/v1/feature-vectors/lookup", body.to_string()).await;
    assert_eq!(status, 400, "{j}");
    assert!(message(&j).starts_with("too many rows: 1001"), "{j}");
    // A body announced larger than the limit is refused before it is read. The request is sent
    // by hand, headers only: a client still writing the 2 MiB body when the refusal arrives may
    // see the connection reset instead of the answer (a race on a loaded machine).
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST {USERS_LOOKUP} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        2 << 20
    );
    tokio::io::AsyncWriteExt::write_all(&mut conn, head.as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::io::AsyncReadExt::read_to_end(&mut conn, &mut answer),
    )
    .await
    .expect("the refusal closes the connection")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 413"), "{answer}");
    // The unread body makes the connection unusable: the answer says so.
    assert!(
        head.to_ascii_lowercase().contains("\r\nconnection: close"),
        "{answer}"
    );
    let j: J = serde_json::from_str(body).unwrap();
    assert_eq!(
        message(&j),
        "request body is larger than the limit of 1048576 bytes; send fewer keys per request"
    );

    // Wrong method.
    let resp = s
        .http
        .get(format!("{}{USERS_LOOKUP}", s.base))
        .send()
        .await
        .unwrap();
    let (status, j) = crate::common::decode(resp).await;
    assert_eq!(status, 405, "{j}");
    assert!(
        message(&j).starts_with("method GET is not allowed here"),
        "{j}"
    );

    // The error client surface.
    let e = s
        .client
        .lookup("default.nope", &[], None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert!(e.to_string().contains("not published"), "{e}");

    // Errors were counted by kind.
    let (status, text) = s.get("/metrics").await;
    assert_eq!(status, 200);
    let text = text.as_str().unwrap();
    assert!(
        text.contains("fstore_serve_errors_total{kind=\"payload_too_large\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("fstore_serve_errors_total{kind=\"not_found\"}"),
        "{text}"
    );
    assert!(
        text.contains("fstore_serve_requests_total{route=\"table_lookup\",code=\"400\"}"),
        "{text}"
    );
}

pub async fn health_and_metrics(s: &Server) {
    assert_eq!(s.get("/healthz").await, (200, json!({"status": "ok"})));
    assert_eq!(s.get("/readyz").await, (200, json!({"status": "ready"})));
    s.client.ready().await.unwrap();
    s.client.healthy().await.unwrap();
    s.client
        .lookup("default.users", &[json!({"user_id": 1})], None)
        .await
        .unwrap();
    let resp = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(resp.headers().contains_key("x-request-id"));
    let text = resp.text().await.unwrap();
    for want in [
        "# TYPE fstore_serve_request_duration_seconds histogram",
        "fstore_serve_request_duration_seconds_count{route=\"table_lookup\"}",
        "fstore_serve_requests_total{route=\"readyz\",code=\"200\"} 2",
        "fstore_serve_db_duration_seconds_count{op=\"lookup\"}",
        "fstore_serve_db_duration_seconds_count{op=\"health\"} 2",
        "fstore_serve_requests_in_flight 1",
        "fstore_serve_lookup_keys_total",
        "# TYPE fstore_serve_table_published_version gauge",
    ] {
        assert!(text.contains(want), "metrics lack `{want}`:\n{text}");
    }
    // Freshness of the table just served, from its bookkeeping row (published at version 3,
    // moments ago); `trips` was not served, so its layout is not cached and it has no gauge.
    let gauge = |name: &str| -> f64 {
        let prefix = format!("{name}{{table=\"users\",feature_table=\"default.users\"}} ");
        let line = text
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line:\n{text}"));
        line[prefix.len()..].parse().unwrap()
    };
    assert_eq!(gauge("fstore_serve_table_published_version"), 3.0);
    let age = gauge("fstore_serve_table_seconds_since_publish");
    assert!((0.0..600.0).contains(&age), "{age}");
    let at = gauge("fstore_serve_table_published_timestamp_seconds");
    assert!(at > 1.7e9, "{at}");
    assert!(!text.contains("table=\"trips\""), "{text}");
}

pub async fn bearer_token(store: OnlineStore) {
    let s = Server::start(
        store,
        crate::common::test_lookup_options(),
        fstore_serve::ServerOptions {
            token: Some("s3cret-token".into()),
            ..Default::default()
        },
    )
    .await;
    let body = r#"{"keys":[{"user_id":1}]}"#;
    let (status, j) = s.post(USERS_LOOKUP, body).await;
    assert_eq!(status, 401, "{j}");
    assert_eq!(
        message(&j),
        "missing bearer token: send `Authorization: Bearer <token>`"
    );
    for (header, want) in [
        ("Bearer wrong", "wrong bearer token"),
        ("Bearer s3cret-tokenX", "wrong bearer token"),
        (
            "Basic czNjcmV0",
            "the Authorization header is not `Bearer <token>`",
        ),
    ] {
        let resp = s
            .http
            .post(format!("{}{USERS_LOOKUP}", s.base))
            .header("authorization", header)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        let (status, j) = crate::common::decode(resp).await;
        assert_eq!((status, message(&j)), (401, want));
    }
    let resp = s
        .http
        .post(format!("{}{USERS_LOOKUP}", s.base))
        .header("authorization", "bearer s3cret-token")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // The client sends the token; health and metrics need none.
    s.client
        .lookup("default.users", &[json!({"user_id": 1})], None)
        .await
        .unwrap();
    let anonymous = fstore_client::Client::new(&s.base, None).unwrap();
    assert_eq!(
        anonymous
            .lookup("users", &[], None)
            .await
            .unwrap_err()
            .status(),
        Some(401)
    );
    assert_eq!(
        anonymous
            .lookup_vectors(&[], &[FeatureLookup::new("users", &["u"])])
            .await
            .unwrap_err()
            .status(),
        Some(401)
    );
    anonymous.ready().await.unwrap();
    assert_eq!(s.get("/metrics").await.0, 200);
    s.stop().await;
}

fn live_batch(n: i64, v: i64, extra: bool) -> RecordBatch {
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from_iter_values(0..n))),
        (
            "v",
            Arc::new(Int64Array::from_iter_values((0..n).map(|_| v))),
        ),
    ];
    if extra {
        cols.push((
            "extra",
            Arc::new(Int64Array::from_iter_values((0..n).map(|i| i * 2))),
        ));
    }
    RecordBatch::try_from_iter(cols).unwrap()
}

/// Lookups never fail while merges and overwrites (one of which changes the layout) run.
pub async fn serves_through_publishes(s: &Server, writer: &OnlineStore, n: i64) {
    write(
        writer,
        "live",
        &["id"],
        WriteMode::Overwrite,
        live_batch(n, 1, false),
        1,
    )
    .await;
    let done = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for r in 0..4u64 {
        let (client, done, ok) = (s.client.clone(), done.clone(), ok.clone());
        readers.push(tokio::spawn(async move {
            let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ r;
            let mut seen = std::collections::BTreeSet::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                let keys: Vec<J> = (0..50)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        json!({"id": (seed % n as u64) as i64})
                    })
                    .collect();
                let features: &[&str] = if r % 2 == 0 { &["v"] } else { &[] };
                let features = (r % 2 == 0).then_some(features);
                let resp = client
                    .lookup("default.live", &keys, features)
                    .await
                    .unwrap_or_else(|e| panic!("a lookup failed during a publish: {e}"));
                for (k, row) in keys.iter().zip(&resp.results) {
                    let row = row
                        .as_ref()
                        .unwrap_or_else(|| panic!("key {k} vanished during a publish"));
                    if let Some(v) = row.get("v") {
                        let v = v.as_i64().unwrap();
                        assert!((1..=4).contains(&v), "{row:?}");
                        seen.insert(v);
                    }
                }
                ok.fetch_add(1, Ordering::Relaxed);
                if finished {
                    return seen;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    write(
        writer,
        "live",
        &["id"],
        WriteMode::Merge,
        live_batch(n, 2, false),
        2,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    write(
        writer,
        "live",
        &["id"],
        WriteMode::Overwrite,
        live_batch(n, 3, true),
        3,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    write(
        writer,
        "live",
        &["id"],
        WriteMode::Merge,
        live_batch(n, 4, true),
        4,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    done.store(true, Ordering::SeqCst);
    let mut seen = std::collections::BTreeSet::new();
    for r in readers {
        seen.extend(r.await.unwrap());
    }
    assert!(
        ok.load(Ordering::Relaxed) >= 8,
        "only {} lookups ran",
        ok.load(Ordering::Relaxed)
    );
    assert!(
        seen.contains(&4),
        "the readers never saw the last publish: {seen:?}"
    );
    // The new column is served (the layout was refreshed), and the new Delta version shows
    // within a few refresh periods.
    let mut last = String::new();
    for _ in 0..50 {
        match s
            .client
            .lookup("default.live", &[json!({"id": 3})], Some(&["v", "extra"]))
            .await
        {
            Ok(r) if r.metadata.delta_version == 4 => {
                assert_eq!(
                    r.results[0].clone().map(J::Object),
                    Some(json!({"id": 3, "v": 4, "extra": 6}))
                );
                return;
            }
            Ok(r) => last = format!("Delta version {}", r.metadata.delta_version),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the layout was never refreshed to Delta version 4: {last}");
}

/// Many concurrent lookups on a server that allows one query per table at a time: the waiting
/// requests share queries (the metrics say so), and every request still gets exactly its own
/// rows, in its own order, with its own features — across tables, feature lists and duplicates.
pub async fn concurrent_lookups_are_coalesced(s: &Server) {
    let mut rounds = 0;
    loop {
        rounds += 1;
        let mut tasks = Vec::new();
        for t in 0..96i64 {
            let client = s.client.clone();
            tasks.push(tokio::spawn(async move {
                // Keys 1..=USERS are online; 1000+ are not; some requests repeat a key.
                let keys: Vec<i64> = (0..1 + t % 5)
                    .map(|j| match (t + j) % 7 {
                        0 => 1_000 + t,
                        _ => 1 + (t * 13 + j * 7) % USERS,
                    })
                    .chain((t % 11 == 0).then_some(1 + t % USERS))
                    .collect();
                let body: Vec<J> = keys.iter().map(|k| json!({"user_id": k})).collect();
                let features: Option<&[&str]> = match t % 3 {
                    0 => None,
                    1 => Some(&["score", "age"]),
                    _ => Some(&["name"]),
                };
                let r = client
                    .lookup("default.users", &body, features)
                    .await
                    .unwrap_or_else(|e| panic!("request {t}: {e}"));
                let got: Vec<J> = r
                    .results
                    .into_iter()
                    .map(|x| x.map_or(J::Null, J::Object))
                    .collect();
                let want: Vec<J> = keys
                    .iter()
                    .map(|&k| {
                        if k > USERS {
                            return J::Null;
                        }
                        let all = user_json(k);
                        match features {
                            None => all,
                            Some(fs) => {
                                let mut o = serde_json::Map::new();
                                o.insert("user_id".into(), json!(k));
                                for f in fs {
                                    o.insert(f.to_string(), all[*f].clone());
                                }
                                J::Object(o)
                            }
                        }
                    })
                    .collect();
                assert_eq!(got, want, "request {t} with keys {keys:?}");
            }));
            if t % 4 == 0 {
                // A composite-key table in the same stream of requests.
                let client = s.client.clone();
                tasks.push(tokio::spawn(async move {
                    let r = client
                        .lookup(
                            "default.trips",
                            &[
                                json!({"driver_id": 1, "city": "paris"}),
                                json!({"driver_id": 9, "city": "nowhere"}),
                            ],
                            None,
                        )
                        .await
                        .unwrap();
                    assert!(r.results[0].is_some() && r.results[1].is_none());
                }));
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
        let (queries, lookups) = s.lookups.metrics().coalesced();
        if queries > 0 {
            assert!(
                lookups >= 2 * queries,
                "{lookups} lookups in {queries} queries"
            );
            let (_, metrics) = s.get("/metrics").await;
            let text = metrics.as_str().unwrap_or_default().to_string();
            assert!(
                text.contains(&format!("fstore_serve_coalesced_queries_total {queries}\n")),
                "{text}"
            );
            break;
        }
        assert!(
            rounds < 20,
            "96 concurrent requests never shared a query in {rounds} rounds"
        );
    }
}

/// Lookups that share a query made with a stale layout (an overwrite dropped a column the cached
/// layout still names): the shared query fails, each request runs again on its own, re-reads
/// the layout and succeeds with the new columns. `s` must cache layouts for long and run one
/// query per table at a time.
pub async fn shared_lookups_recover_from_a_dropped_column(s: &Server, writer: &OnlineStore) {
    let n = 200;
    let batch = |v: i64, old: bool| {
        let mut cols: Vec<(&str, ArrayRef)> = vec![
            ("id", Arc::new(Int64Array::from_iter_values(0..n))),
            (
                "v",
                Arc::new(Int64Array::from_iter_values((0..n).map(|_| v))),
            ),
        ];
        if old {
            cols.push(("old", Arc::new(Int64Array::from_iter_values(0..n))));
        }
        RecordBatch::try_from_iter(cols).unwrap()
    };
    write(
        writer,
        "gone",
        &["id"],
        WriteMode::Overwrite,
        batch(1, true),
        1,
    )
    .await;
    // Cache the layout that has `old`.
    let r = s
        .client
        .lookup("default.gone", &[json!({"id": 1})], None)
        .await
        .unwrap();
    assert_eq!(r.results[0].as_ref().unwrap()["old"], json!(1));
    write(
        writer,
        "gone",
        &["id"],
        WriteMode::Overwrite,
        batch(2, false),
        2,
    )
    .await;
    let mut tasks = Vec::new();
    for t in 0..32i64 {
        let client = s.client.clone();
        tasks.push(tokio::spawn(async move {
            let keys = [json!({"id": t}), json!({"id": n + t})];
            let r = client
                .lookup("default.gone", &keys, None)
                .await
                .unwrap_or_else(|e| panic!("request {t} after the column was dropped: {e}"));
            assert_eq!(
                r.results[0].clone().map(J::Object),
                Some(json!({"id": t, "v": 2})),
                "request {t}"
            );
            assert_eq!(r.results[1], None, "request {t}");
            assert_eq!(r.metadata.delta_version, 2);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}
