//! The scenarios on the SQLite backend: one temp file per test, a writer store and the server's
//! own reader store on it.

use fstore_online::OnlineStore;
use fstore_online::sqlite::SqliteStore;

use crate::common::{Server, publish_fixtures};
use crate::scenarios;

/// A temp SQLite file with the fixtures; returns (dir guard, writer, a second store for the server).
async fn stores() -> (tempfile::TempDir, OnlineStore, OnlineStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("online.db");
    let writer = OnlineStore::Sqlite(SqliteStore::open(&path).unwrap());
    publish_fixtures(&writer).await;
    let reader = OnlineStore::Sqlite(SqliteStore::open(&path).unwrap());
    (dir, writer, reader)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_single_and_batch_lookups() {
    let (_d, _w, r) = stores().await;
    let s = Server::default(r).await;
    scenarios::single_and_batch_lookups(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_vector_lookups() {
    let (_d, _w, r) = stores().await;
    let s = Server::default(r).await;
    scenarios::vector_lookups(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_bad_inputs() {
    let (_d, _w, r) = stores().await;
    let s = Server::default(r).await;
    scenarios::bad_inputs(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_health_and_metrics() {
    let (_d, _w, r) = stores().await;
    let s = Server::default(r).await;
    scenarios::health_and_metrics(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_bearer_token() {
    let (_d, _w, r) = stores().await;
    scenarios::bearer_token(r).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_serves_through_merge_and_overwrite() {
    let (_d, w, r) = stores().await;
    let s = Server::default(r).await;
    scenarios::serves_through_publishes(&s, &w, 20_000).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_lookups_are_coalesced() {
    let (_d, _w, r) = stores().await;
    let s = Server::one_query_per_table(r, crate::common::test_lookup_options().layout_ttl).await;
    scenarios::concurrent_lookups_are_coalesced(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_shared_lookups_recover_from_a_dropped_column() {
    let (_d, w, r) = stores().await;
    let s = Server::one_query_per_table(r, std::time::Duration::from_secs(600)).await;
    scenarios::shared_lookups_recover_from_a_dropped_column(&s, &w).await;
    s.stop().await;
}

/// A connection that does not finish its request headers, and a keep-alive connection left
/// idle, are both closed once the header timeout passes; the server keeps answering others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_stalled_and_idle_connections_are_closed() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let (_d, _w, r) = stores().await;
    let header_timeout = Duration::from_millis(300);
    let s = Server::start_with(
        r,
        crate::common::test_lookup_options(),
        fstore_serve::ServerOptions::default(),
        fstore_serve::ListenOptions {
            header_timeout,
            ..Default::default()
        },
    )
    .await;
    let addr = s.base.trim_start_matches("http://").to_string();
    // Reads until the server closes the connection; returns what it sent and when it closed.
    async fn until_closed(conn: &mut tokio::net::TcpStream) -> (Vec<u8>, Instant) {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let read_all = async {
            loop {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(20), read_all)
            .await
            .expect("the server never closed the connection");
        (got, Instant::now())
    }

    // Half a request: the headers never end.
    // The server may accept (and start the timeout) before `connect` returns here.
    let start = Instant::now();
    let mut stalled = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: fstore\r\n")
        .await
        .unwrap();
    // A whole request on a keep-alive connection, answered, then silence.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: fstore\r\n\r\n")
        .await
        .unwrap();

    // Meanwhile other clients are served.
    let (status, body) = s.get("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));

    let (sent, closed) = until_closed(&mut stalled).await;
    assert!(
        closed - start >= header_timeout,
        "closed before the header timeout"
    );
    assert!(
        !String::from_utf8_lossy(&sent).contains("\"ok\""),
        "a request without the end of its headers was answered"
    );
    let (sent, closed) = until_closed(&mut idle).await;
    let sent = String::from_utf8_lossy(&sent);
    assert!(
        sent.starts_with("HTTP/1.1 200") && sent.contains("\"status\":\"ok\""),
        "{sent}"
    );
    assert!(closed - start >= header_timeout);

    // A new connection: the pooled one of `s.http` idled past the timeout too, and reusing it
    // would race the server's close (clients keep their idle time below the timeout).
    let fresh = reqwest::Client::new()
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 200);
    s.stop().await;
}

/// A request announcing a body far over the limit, then sending only a few bytes of it, is
/// answered 413 at once (not 504 once the 5 s request timeout fires while the server waits for
/// the rest), and the server then closes the connection. A raw blocking client, so nothing
/// between the test and the socket buffers, retries or reuses anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_oversized_content_length_is_refused_without_reading_the_body() {
    use std::io::{Read as _, Write as _};
    use std::time::Duration;

    let (_d, _w, r) = stores().await;
    let s = Server::default(r).await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let (status_line, response, closed) = tokio::task::spawn_blocking(move || {
        let mut conn = std::net::TcpStream::connect(&addr).unwrap();
        // Generous: well past the request timeout, so a 504 would be read (and fail the test)
        // rather than the read timing out.
        conn.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        conn.write_all(
            b"POST /v1/feature-tables/default.users/lookup HTTP/1.1\r\nHost: fstore\r\n\
              Content-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n{\"keys\":[{\"user_id\":1}",
        )
        .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // Read to the end: Ok(0) is the server closing the connection; a timeout or a reset is
        // not.
        let closed = loop {
            match conn.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => break Err(e.to_string()),
            }
        };
        let text = String::from_utf8_lossy(&got).into_owned();
        let status_line = text.lines().next().unwrap_or_default().to_string();
        (status_line, text, closed)
    })
    .await
    .unwrap();
    assert_eq!(status_line, "HTTP/1.1 413 Payload Too Large", "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{response}"
    );
    assert!(
        response.contains(
            "request body is larger than the limit of 1048576 bytes; send fewer keys per request"
        ),
        "{response}"
    );
    assert_eq!(
        closed,
        Ok(()),
        "the server did not close the connection: {response}"
    );
    // The server still serves others.
    assert_eq!(s.get("/healthz").await.0, 200);
    s.stop().await;
}
