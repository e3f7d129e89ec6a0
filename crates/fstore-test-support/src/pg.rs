//! The PostgreSQL test server (`FSTORE_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432`).

use std::time::Duration;

use tokio_postgres::{Client, NoTls};

use crate::Server;

/// The server's URL.
pub fn url() -> String {
    std::env::var("FSTORE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// The server's address and admin credentials.
pub fn server() -> Server {
    Server::parse("FSTORE_TEST_PG_URL", &url(), "postgres", 5432)
}

/// Fails the test: the server cannot be reached, and how to fix that.
pub fn unreachable(e: impl std::fmt::Display) -> ! {
    panic!(
        "PostgreSQL is not reachable at {} ({e}). Start it (`pg_ctlcluster 15 main start`) \
         or point FSTORE_TEST_PG_URL at a server (postgres://user@host:port)",
        url()
    )
}

/// An admin connection to `database`, in UTC; fails the test when the server is unreachable.
pub async fn client(database: &str) -> Client {
    let s = server();
    connect_as(&s.user, &s.password, database)
        .await
        .unwrap_or_else(|e| unreachable(e))
}

/// Connects to `database` as `user` (an empty password sends none), in UTC; the error is the
/// caller's to judge (a refused login may be what a test expects).
pub async fn connect_as(
    user: &str,
    password: &str,
    database: &str,
) -> Result<Client, tokio_postgres::Error> {
    let s = server();
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&s.host)
        .port(s.port)
        .user(user)
        .dbname(database)
        .options("-c TimeZone=UTC")
        .connect_timeout(Duration::from_secs(10));
    if !password.is_empty() {
        cfg.password(password);
    }
    let (client, conn) = cfg.connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Drops database `name` if it exists (closing its sessions) and creates it empty.
pub async fn fresh_database(name: &str) {
    let admin = client("postgres").await;
    // One statement per call: DROP/CREATE DATABASE refuse to run in a transaction block.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .unwrap_or_else(|e| panic!("dropping database {name}: {e}"));
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
}

/// Drops database `name` if it exists, closing its sessions.
pub async fn drop_database(name: &str) {
    let admin = client("postgres").await;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .unwrap_or_else(|e| panic!("dropping database {name}: {e}"));
}
