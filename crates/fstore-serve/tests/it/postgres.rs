//! The scenarios on PostgreSQL (`FSTORE_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432`),
//! one database `fstore_t_<hash>` per test. The server reads as a role of its own that holds
//! `SELECT` on the published tables (and, by default privileges, on tables created later) and
//! nothing else. Unreachable database: the tests fail with a message, never skip.

use fstore_online::OnlineStore;
use fstore_online::postgres::PostgresStore;
use serde_json::json;
use tokio_postgres::Client;

use crate::common::{Server, message, publish_fixtures};
use crate::scenarios;

use fstore_test_support::fnv;
use fstore_test_support::pg::{client, unreachable};

/// Host, port, user and password of the test server.
fn server() -> (String, u16, String, String) {
    let s = fstore_test_support::pg::server();
    (s.host, s.port, s.user, s.password)
}

/// A test's own database with the fixtures published by the admin (the writer) and a reader
/// role granted `SELECT` on exactly the published tables.
struct Db {
    name: String,
    reader_role: String,
    admin: Client,
    writer: OnlineStore,
}

impl Db {
    async fn new(test: &str) -> Db {
        let hash = fnv(&format!("fstore-serve::{test}"));
        let name = format!("fstore_t_{hash:08x}");
        let reader_role = format!("fstore_r_{hash:08x}");
        let root = client("postgres").await;
        // One statement per call: DROP/CREATE DATABASE refuse to run in a transaction block.
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            format!("DROP ROLE IF EXISTS \"{reader_role}\""),
            format!("CREATE DATABASE \"{name}\""),
            format!("CREATE ROLE \"{reader_role}\" LOGIN"),
        ] {
            root.batch_execute(&sql).await.unwrap();
        }
        let (host, port, user, password) = server();
        let writer = OnlineStore::Postgres(
            PostgresStore::connect_plain(&host, port, &name, "public", &user, &password)
                .await
                .unwrap_or_else(|e| unreachable(e)),
        );
        publish_fixtures(&writer).await;
        let admin = client(&name).await;
        admin
            .batch_execute(&format!(
                "GRANT USAGE ON SCHEMA public TO \"{reader_role}\";
                 GRANT SELECT ON _fstore_published, users, trips TO \"{reader_role}\";
                 ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO \"{reader_role}\""
            ))
            .await
            .unwrap();
        Db {
            name,
            reader_role,
            admin,
            writer,
        }
    }

    async fn reader(&self) -> OnlineStore {
        let (host, port, _, _) = server();
        OnlineStore::Postgres(
            PostgresStore::connect_plain(&host, port, &self.name, "public", &self.reader_role, "")
                .await
                .unwrap_or_else(|e| unreachable(e)),
        )
    }

    async fn finish(self) {
        drop(self.admin);
        let root = client("postgres").await;
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
            format!("DROP ROLE IF EXISTS \"{}\"", self.reader_role),
        ] {
            root.batch_execute(&sql).await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_single_and_batch_lookups() {
    let db = Db::new("pg_single_and_batch_lookups").await;
    let s = Server::default(db.reader().await).await;
    scenarios::single_and_batch_lookups(&s).await;
    s.stop().await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_vector_lookups() {
    let db = Db::new("pg_vector_lookups").await;
    let s = Server::default(db.reader().await).await;
    scenarios::vector_lookups(&s).await;
    s.stop().await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_bad_inputs() {
    let db = Db::new("pg_bad_inputs").await;
    let s = Server::default(db.reader().await).await;
    scenarios::bad_inputs(&s).await;
    s.stop().await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_health_and_metrics() {
    let db = Db::new("pg_health_and_metrics").await;
    let s = Server::default(db.reader().await).await;
    scenarios::health_and_metrics(&s).await;
    s.stop().await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_bearer_token() {
    let db = Db::new("pg_bearer_token").await;
    scenarios::bearer_token(db.reader().await).await;
    db.finish().await;
}

/// The lookup-during-overwrite loop: lookups never fail while merges and overwrites run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_serves_through_merge_and_overwrite() {
    let db = Db::new("pg_serves_through_publishes").await;
    let s = Server::default(db.reader().await).await;
    scenarios::serves_through_publishes(&s, &db.writer, 20_000).await;
    s.stop().await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_lookups_are_coalesced() {
    let db = Db::new("pg_concurrent_lookups_are_coalesced").await;
    let s = Server::one_query_per_table(
        db.reader().await,
        crate::common::test_lookup_options().layout_ttl,
    )
    .await;
    scenarios::concurrent_lookups_are_coalesced(&s).await;
    s.stop().await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_shared_lookups_recover_from_a_dropped_column() {
    let db = Db::new("pg_shared_lookups_recover_from_a_dropped_column").await;
    let s =
        Server::one_query_per_table(db.reader().await, std::time::Duration::from_secs(600)).await;
    scenarios::shared_lookups_recover_from_a_dropped_column(&s, &db.writer).await;
    s.stop().await;
    db.finish().await;
}

/// The reader identity can never write: every kind of write is refused by the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reader_role_cannot_write() {
    let db = Db::new("pg_reader_role_cannot_write").await;
    let c = fstore_test_support::pg::connect_as(&db.reader_role, "", &db.name)
        .await
        .expect("the reader role logs in");
    assert!(c.query("SELECT * FROM users", &[]).await.is_ok());
    for sql in [
        "INSERT INTO users (user_id) VALUES (999)",
        "UPDATE users SET age = 1",
        "DELETE FROM users",
        "TRUNCATE users",
        "DROP TABLE users",
        "ALTER TABLE users ADD COLUMN x int",
        "CREATE TABLE public.evil (x int)",
        "UPDATE _fstore_published SET delta_version = 0",
    ] {
        let e = c.batch_execute(sql).await.unwrap_err();
        let code = e.code().map(|c| c.code().to_string());
        assert_eq!(
            code.as_deref(),
            Some("42501"),
            "{sql}: expected permission denied, got {e:?}"
        );
    }
    db.finish().await;
}

/// `/readyz` checks what serving needs with the reader's own identity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_readyz_checks_the_readers_grants_on_served_tables() {
    let db = Db::new("pg_readyz_checks_grants").await;
    let s = Server::default(db.reader().await).await;
    assert_eq!(s.get("/readyz").await, (200, json!({"status": "ready"})));
    let role = &db.reader_role;
    db.admin
        .batch_execute(&format!("REVOKE SELECT ON trips FROM \"{role}\""))
        .await
        .unwrap();
    let (status, j) = s.get("/readyz").await;
    assert_eq!(status, 503, "{j}");
    let msg = message(&j);
    assert!(msg.starts_with("not ready: "), "{msg}");
    assert!(msg.contains("`trips`") && msg.contains("SELECT"), "{msg}");
    assert!(!msg.contains("`users`"), "{msg}");
    let (status, j) = s
        .post(
            "/v1/feature-tables/default.users/lookup",
            r#"{"keys":[{"user_id":1}],"features":["age"]}"#,
        )
        .await;
    assert_eq!(status, 200, "{j}");
    db.admin
        .batch_execute(&format!("GRANT SELECT ON trips TO \"{role}\""))
        .await
        .unwrap();
    assert_eq!(s.get("/readyz").await, (200, json!({"status": "ready"})));
    db.admin
        .batch_execute(&format!(
            "REVOKE SELECT ON _fstore_published FROM \"{role}\""
        ))
        .await
        .unwrap();
    let (status, j) = s.get("/readyz").await;
    assert_eq!(status, 503, "{j}");
    assert!(message(&j).contains("_fstore_published"), "{j}");
    s.stop().await;
    db.finish().await;
}
