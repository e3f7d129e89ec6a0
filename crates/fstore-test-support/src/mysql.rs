//! The MariaDB/MySQL test server (`FSTORE_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306`).

use std::time::Duration;

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use crate::Server;

/// The server's URL.
pub fn url() -> String {
    std::env::var("FSTORE_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

/// The server's address and admin credentials.
pub fn server() -> Server {
    Server::parse("FSTORE_TEST_MYSQL_URL", &url(), "root", 3306)
}

/// Fails the test: the server cannot be reached, and how to fix that.
pub fn unreachable(e: impl std::fmt::Display) -> ! {
    panic!(
        "MariaDB/MySQL is not reachable at {} ({e}). Start it with \
         `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` \
         or point FSTORE_TEST_MYSQL_URL at a server (mysql://user:password@host:port)",
        url()
    )
}

/// An admin connection (no database selected).
pub async fn admin() -> Conn {
    match tokio::time::timeout(Duration::from_secs(10), Conn::from_url(url())).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => unreachable(e),
        Err(_) => unreachable("no answer within 10 s"),
    }
}

/// Connects as `user` (to database `db` when given) over TCP; the error is the caller's to judge
/// (a refused login or database may be what a test expects).
pub async fn connect_as(user: &str, password: &str, db: Option<&str>) -> mysql_async::Result<Conn> {
    let s = server();
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(s.host)
        .tcp_port(s.port)
        .user(Some(user))
        .pass(Some(password))
        .db_name(db);
    Conn::new(opts).await
}

/// Drops database `name` if it exists and creates it empty (utf8mb4, binary collation), then
/// makes it `admin`'s current database.
pub async fn fresh_database(admin: &mut Conn, name: &str) {
    admin
        .query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
        .await
        .unwrap_or_else(|e| panic!("dropping database {name}: {e}"));
    admin
        .query_drop(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        ))
        .await
        .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
    admin
        .query_drop(format!("USE `{name}`"))
        .await
        .unwrap_or_else(|e| panic!("using database {name}: {e}"));
}

/// Drops database `name` if it exists.
pub async fn drop_database(admin: &mut Conn, name: &str) {
    admin
        .query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
        .await
        .unwrap_or_else(|e| panic!("dropping database {name}: {e}"));
}
