//! The scenarios on MariaDB/MySQL (`FSTORE_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306`),
//! one database `fstore_t_<hash>` per test, plus what only a networked database can show: the
//! database going away (503, then recovery), a request timeout (504) and graceful shutdown with a
//! request in flight. Unreachable database: the tests fail with a message, never skip.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fstore_online::OnlineStore;
use fstore_online::mysql::MysqlStore;
use fstore_serve::ServerOptions;
use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use serde_json::json;

use crate::common::{Server, message, publish_fixtures, test_lookup_options};
use crate::scenarios;

use fstore_test_support::mysql::{admin as admin_conn, fresh_database, unreachable, url};
use fstore_test_support::{db_name, fnv};

/// A test's own database with the fixtures published, an admin connection in it and a writer store.
struct Db {
    name: String,
    admin: Conn,
    writer: OnlineStore,
}

impl Db {
    async fn new(test: &str) -> Db {
        let name = db_name("fstore-serve", test);
        let mut admin = admin_conn().await;
        fresh_database(&mut admin, &name).await;
        let writer = OnlineStore::Mysql(
            MysqlStore::connect_url(&url(), &name, Default::default())
                .await
                .unwrap_or_else(|e| unreachable(e)),
        );
        publish_fixtures(&writer).await;
        Db {
            name,
            admin,
            writer,
        }
    }

    /// A store on this database for the server, through `url`.
    /// A reader through `url` over TCP only (never the server's Unix socket, so that cutting a
    /// proxy in front of the server cuts every connection).
    async fn reader_via(&self, url: &str) -> OnlineStore {
        let opts = fstore_online::mysql::MysqlOptions {
            tcp_only: true,
            ..Default::default()
        };
        OnlineStore::Mysql(
            MysqlStore::connect_url(url, &self.name, opts)
                .await
                .unwrap_or_else(|e| unreachable(e)),
        )
    }

    async fn reader(&self) -> OnlineStore {
        self.reader_via(&url()).await
    }

    async fn finish(mut self) {
        self.admin
            .query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name))
            .await
            .unwrap();
        let _ = self.admin.disconnect().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_single_and_batch_lookups() {
    let db = Db::new("single_and_batch_lookups").await;
    let s = Server::default(db.reader().await).await;
    scenarios::single_and_batch_lookups(&s).await;
    s.stop().await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_vector_lookups() {
    let db = Db::new("vector_lookups").await;
    let s = Server::default(db.reader().await).await;
    scenarios::vector_lookups(&s).await;
    s.stop().await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_bad_inputs() {
    let db = Db::new("bad_inputs").await;
    let s = Server::default(db.reader().await).await;
    scenarios::bad_inputs(&s).await;
    s.stop().await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_health_and_metrics() {
    let db = Db::new("health_and_metrics").await;
    let s = Server::default(db.reader().await).await;
    scenarios::health_and_metrics(&s).await;
    s.stop().await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_bearer_token() {
    let db = Db::new("bearer_token").await;
    scenarios::bearer_token(db.reader().await).await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mysql_serves_through_merge_and_overwrite() {
    let db = Db::new("serves_through_publishes").await;
    let s = Server::default(db.reader().await).await;
    scenarios::serves_through_publishes(&s, &db.writer, 20_000).await;
    s.stop().await;
    db.finish().await;
}

/// A TCP proxy to the database that the test can take down and bring back on the same port.
struct Proxy {
    port: u16,
    upstream: SocketAddr,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start() -> Proxy {
        let opts = mysql_async::Opts::from_url(&url()).unwrap_or_else(|e| unreachable(e));
        let upstream = tokio::net::lookup_host((opts.ip_or_hostname(), opts.tcp_port()))
            .await
            .unwrap_or_else(|e| unreachable(e))
            .next()
            .unwrap_or_else(|| unreachable("no address"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let p = Proxy {
            port,
            upstream,
            tasks: Arc::default(),
        };
        p.up();
        p
    }

    fn url(&self) -> String {
        let mut u = url::Url::parse(&url()).unwrap();
        u.set_host(Some("127.0.0.1")).unwrap();
        u.set_port(Some(self.port)).unwrap();
        u.to_string()
    }

    fn up(&self) {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], self.port)))
            .unwrap();
        let listener = socket.listen(64).unwrap();
        let (upstream, tasks) = (self.upstream, self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let conn = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(conn);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Closes the listener and every proxied connection.
    fn down(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_down_gives_503_and_recovers() {
    let db = Db::new("down_gives_503_and_recovers").await;
    let proxy = Proxy::start().await;
    let s = Server::default(db.reader_via(&proxy.url()).await).await;
    let body = r#"{"keys":[{"user_id":1}],"features":["age"]}"#;
    let path = "/v1/feature-tables/default.users/lookup";
    assert_eq!(s.post(path, body).await.0, 200);
    assert_eq!(s.get("/readyz").await.0, 200);

    proxy.down();
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..3 {
        let (status, j) = s.post(path, body).await;
        assert_eq!(status, 503, "{j}");
        assert_eq!(
            j,
            json!({"error": "the online store is unavailable; retry later"})
        );
    }
    let (status, j) = s.get("/readyz").await;
    assert_eq!(
        (status, message(&j)),
        (503, "the online store is unavailable; retry later")
    );
    assert_eq!(s.get("/healthz").await.0, 200, "the process is still up");

    proxy.up();
    let mut ready = false;
    for _ in 0..100 {
        if s.get("/readyz").await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "/readyz never recovered");
    let (status, j) = s.post(path, body).await;
    assert_eq!(status, 200, "{j}");
    assert_eq!(j["results"], json!([{"user_id": 1, "age": 21}]));
    let (_, metrics) = s.get("/metrics").await;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("fstore_serve_errors_total{kind=\"unavailable\"} 4\n"),
        "{metrics}"
    );
    s.stop().await;
    proxy.down();
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_slow_requests_time_out_and_shutdown_is_graceful() {
    let mut db = Db::new("slow_requests_time_out").await;
    let s = Server::start(
        db.reader().await,
        test_lookup_options(),
        ServerOptions {
            request_timeout: Duration::from_millis(400),
            ..Default::default()
        },
    )
    .await;
    let body = r#"{"keys":[{"user_id":1}],"features":["age"]}"#;
    let path = "/v1/feature-tables/default.users/lookup";
    assert_eq!(s.post(path, body).await.0, 200, "warms the layout cache");

    // A write lock makes the lookup wait: past the timeout it is a 504.
    db.admin
        .query_drop("LOCK TABLES users WRITE")
        .await
        .unwrap();
    let (status, j) = s.post(path, body).await;
    assert_eq!(status, 504, "{j}");
    assert_eq!(
        message(&j),
        "the request took longer than 400 ms; retry, or send fewer keys"
    );
    db.admin.query_drop("UNLOCK TABLES").await.unwrap();
    assert_eq!(s.post(path, body).await.0, 200);
    s.stop().await;

    // Graceful shutdown: a request in flight when the signal comes still gets its answer.
    let s = Server::start(
        db.reader().await,
        test_lookup_options(),
        ServerOptions::default(),
    )
    .await;
    assert_eq!(s.post(path, body).await.0, 200);
    db.admin
        .query_drop("LOCK TABLES users WRITE")
        .await
        .unwrap();
    let (http, base) = (s.http.clone(), s.base.clone());
    let in_flight = tokio::spawn(async move {
        let resp = http
            .post(format!("{base}{path}"))
            .body(body)
            .send()
            .await
            .unwrap();
        crate::common::decode(resp).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let base = s.base.clone();
    let stopping = tokio::spawn(s.stop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !stopping.is_finished(),
        "the server stopped with a request in flight"
    );
    db.admin.query_drop("UNLOCK TABLES").await.unwrap();
    let (status, j) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{j}");
    assert_eq!(j["results"], json!([{"user_id": 1, "age": 21}]));
    stopping.await.unwrap();
    let refused = reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .send()
        .await;
    assert!(refused.is_err(), "the server still answers after shutdown");
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_concurrent_lookups_are_coalesced() {
    let db = Db::new("concurrent_lookups_are_coalesced").await;
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
async fn mysql_shared_lookups_recover_from_a_dropped_column() {
    let db = Db::new("shared_lookups_recover_from_a_dropped_column").await;
    let s =
        Server::one_query_per_table(db.reader().await, std::time::Duration::from_secs(600)).await;
    scenarios::shared_lookups_recover_from_a_dropped_column(&s, &db.writer).await;
    s.stop().await;
    db.finish().await;
}

/// `/readyz` checks what serving needs with the reader's own identity: a reader that loses its
/// SELECT on one served table makes the server not ready, with a message naming that table and
/// the missing privilege; granting it back makes it ready again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_readyz_checks_the_readers_grants_on_served_tables() {
    let mut db = Db::new("readyz_checks_grants").await;
    let user = format!("fstore_r_{:08x}", fnv(&db.name));
    let password = "ready-pw-0123456789";
    db.admin
        .query_drop(format!("DROP USER IF EXISTS '{user}'@'%'"))
        .await
        .unwrap();
    db.admin
        .query_drop(format!(
            "CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"
        ))
        .await
        .unwrap();
    // Table-level grants, so one table's can be revoked.
    for table in ["_fstore_published", "users", "trips"] {
        db.admin
            .query_drop(format!(
                "GRANT SELECT ON `{}`.`{table}` TO '{user}'@'%'",
                db.name
            ))
            .await
            .unwrap();
    }
    let mut u = url::Url::parse(&url()).unwrap();
    u.set_username(&user).unwrap();
    u.set_password(Some(password)).unwrap();
    let s = Server::default(db.reader_via(u.as_str()).await).await;
    assert_eq!(s.get("/readyz").await, (200, json!({"status": "ready"})));

    db.admin
        .query_drop(format!(
            "REVOKE SELECT ON `{}`.`trips` FROM '{user}'@'%'",
            db.name
        ))
        .await
        .unwrap();
    let (status, j) = s.get("/readyz").await;
    assert_eq!(status, 503, "{j}");
    let msg = message(&j);
    assert!(msg.starts_with("not ready: "), "{msg}");
    assert!(msg.contains("`trips`") && msg.contains("SELECT"), "{msg}");
    assert!(!msg.contains("`users`") && !msg.contains(password), "{msg}");
    // Lookups of the other table still work: only readiness reports the lost table.
    let (status, j) = s
        .post(
            "/v1/feature-tables/default.users/lookup",
            r#"{"keys":[{"user_id":1}],"features":["age"]}"#,
        )
        .await;
    assert_eq!(status, 200, "{j}");

    db.admin
        .query_drop(format!(
            "GRANT SELECT ON `{}`.`trips` TO '{user}'@'%'",
            db.name
        ))
        .await
        .unwrap();
    assert_eq!(s.get("/readyz").await, (200, json!({"status": "ready"})));

    // The bookkeeping table is checked too.
    db.admin
        .query_drop(format!(
            "REVOKE SELECT ON `{}`.`_fstore_published` FROM '{user}'@'%'",
            db.name
        ))
        .await
        .unwrap();
    let (status, j) = s.get("/readyz").await;
    assert_eq!(status, 503, "{j}");
    assert!(message(&j).contains("_fstore_published"), "{j}");

    s.stop().await;
    db.admin
        .query_drop(format!("DROP USER IF EXISTS '{user}'@'%'"))
        .await
        .unwrap();
    db.finish().await;
}
