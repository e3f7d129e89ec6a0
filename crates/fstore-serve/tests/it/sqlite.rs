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
