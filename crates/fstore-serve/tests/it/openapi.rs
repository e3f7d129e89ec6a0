//! The OpenAPI document (`GET /openapi.json`) against the router: the same routes both ways,
//! every `$ref` resolves, and every example request in it succeeds against a real server on
//! SQLite with the standard fixtures, answering with the documented shape.

use std::collections::BTreeSet;

use fstore_online::OnlineStore;
use fstore_online::sqlite::SqliteStore;
use fstore_serve::http::{OPENAPI_JSON, ROUTES};
use serde_json::Value as J;

use crate::common::{Server, publish_fixtures};

fn document() -> J {
    serde_json::from_str(OPENAPI_JSON).expect("openapi.json is JSON")
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a J, v: &'a J) -> &'a J {
    match v.get("$ref").and_then(J::as_str) {
        Some(r) => {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("non-local $ref {r}"));
            let target = doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("$ref {r} does not resolve"));
            resolve(doc, target)
        }
        None => v,
    }
}

fn every_ref(doc: &J, v: &J) {
    match v {
        J::Object(m) => {
            if m.contains_key("$ref") {
                resolve(doc, v);
            }
            m.values().for_each(|x| every_ref(doc, x));
        }
        J::Array(a) => a.iter().for_each(|x| every_ref(doc, x)),
        _ => {}
    }
}

#[test]
fn the_document_lists_exactly_the_routed_paths() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, routed, "the document and the router differ");
    every_ref(&doc, &doc);
    // Every operation documents its success and has an id (client generators need one).
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["operationId"].is_string(),
                "{method} {path}: no operationId"
            );
            assert!(
                op["responses"]["200"].is_object(),
                "{method} {path}: no 200"
            );
        }
    }
}

/// A value against a (small) JSON Schema: the keywords the document uses.
fn check(doc: &J, schema: &J, v: &J, at: &str) {
    let schema = resolve(doc, schema);
    if let Some(alts) = schema.get("oneOf").and_then(J::as_array) {
        let ok = alts.iter().filter(|s| matches(doc, s, v)).count();
        assert_eq!(ok, 1, "{at}: {v} matches {ok} of oneOf {alts:?}");
        return;
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            J::String(s) => vec![s.as_str()],
            J::Array(a) => a.iter().filter_map(J::as_str).collect(),
            _ => panic!("{at}: bad type {t}"),
        };
        let actual = match v {
            J::Null => "null",
            J::Bool(_) => "boolean",
            J::Number(n) if n.is_i64() || n.is_u64() => "integer",
            J::Number(_) => "number",
            J::String(_) => "string",
            J::Array(_) => "array",
            J::Object(_) => "object",
        };
        assert!(
            types.contains(&actual) || (actual == "integer" && types.contains(&"number")),
            "{at}: {v} is {actual}, the document says {types:?}"
        );
    }
    if let (Some(req), Some(obj)) = (schema.get("required").and_then(J::as_array), v.as_object()) {
        for r in req {
            let r = r.as_str().unwrap();
            assert!(obj.contains_key(r), "{at}: {v} lacks required `{r}`");
        }
    }
    if let Some(obj) = v.as_object() {
        let props = schema.get("properties").and_then(J::as_object);
        for (k, x) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(doc, s, x, &format!("{at}.{k}")),
                None => match schema.get("additionalProperties") {
                    Some(J::Bool(false)) => panic!("{at}: `{k}` is not in the document"),
                    Some(s @ J::Object(_)) => check(doc, s, x, &format!("{at}.{k}")),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            check(doc, items, x, &format!("{at}[{i}]"));
        }
    }
}

fn matches(doc: &J, schema: &J, v: &J) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(doc, schema, v, ""))).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documents_examples_succeed_against_a_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("online.db");
    let writer = OnlineStore::Sqlite(SqliteStore::open(&path).unwrap());
    publish_fixtures(&writer).await;
    let s = Server::default(OnlineStore::Sqlite(SqliteStore::open(&path).unwrap())).await;

    // The server serves the document itself, as JSON.
    let (status, served) = s.get("/openapi.json").await;
    assert_eq!(status, 200);
    let doc = document();
    assert_eq!(served, doc);

    let mut ran = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut url = path.clone();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let example = p["example"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{path}: parameter {name} has no example"));
                url = url.replace(&format!("{{{name}}}"), example);
            }
            let ok = &op["responses"]["200"]["content"];
            let examples: Vec<Option<J>> =
                match op["requestBody"]["content"]["application/json"]["examples"].as_object() {
                    Some(ex) => ex.values().map(|e| Some(e["value"].clone())).collect(),
                    None => vec![None],
                };
            for body in examples {
                let resp = match (method.as_str(), &body) {
                    ("get", None) => s.http.get(format!("{}{url}", s.base)).send().await,
                    ("post", Some(b)) => {
                        s.http
                            .post(format!("{}{url}", s.base))
                            .body(serde_json::to_vec(b).unwrap())
                            .send()
                            .await
                    }
                    other => panic!("{method} {path}: unexpected {other:?}"),
                }
                .unwrap();
                let status = resp.status().as_u16();
                let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
                assert!(resp.headers().contains_key("x-request-id"));
                let text = resp.text().await.unwrap();
                assert_eq!(status, 200, "{method} {url} {body:?}: {text}");
                let media = ctype.split(';').next().unwrap();
                let schema = &ok[media]["schema"];
                assert!(
                    schema.is_object(),
                    "{method} {path}: {media} is not documented"
                );
                if media == "application/json" {
                    let v: J = serde_json::from_str(&text).unwrap();
                    check(&doc, schema, &v, &format!("{method} {path}"));
                    if let Some(example) = ok[media].get("example") {
                        check(&doc, schema, example, &format!("{method} {path} example"));
                    }
                }
                ran += 1;
            }
        }
    }
    assert!(ran >= 7, "only {ran} example requests ran");

    // The error shape, as documented, for an unknown table and an unknown route.
    let err = resolve(&doc, &doc["components"]["schemas"]["Error"]).clone();
    let (status, body) = s
        .post("/v1/feature-tables/default.nope/lookup", r#"{"keys":[]}"#)
        .await;
    assert_eq!(status, 404);
    check(&doc, &err, &body, "404");
    let (status, body) = s.get("/v2/nothing").await;
    assert_eq!(status, 404);
    check(&doc, &err, &body, "route 404");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("GET /openapi.json"),
        "{body}"
    );
    s.stop().await;
}
