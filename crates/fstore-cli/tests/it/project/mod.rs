//! A scratch project for the crash, `--watch` and S3 tests: an `fstore.toml` naming the offline
//! root and one online store — SQLite, the MariaDB at `FSTORE_TEST_MYSQL_URL` or the PostgreSQL
//! at `FSTORE_TEST_PG_URL` (a database and a user/role of the project's own, dropped when it is
//! dropped, the credentials passed through the `env` secrets backend) — plus readers of the
//! online table (plain SQL, `online.rs`) and of the offline view, and the random model of the
//! test table's rows (`model.rs`).

mod model;
mod online;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int64Type};
use fstore_core::TableName;
use fstore_test_support::{mysql, pg};
use mysql_async::prelude::Queryable;

use crate::util::Scratch;
pub use model::{Rng, change, row};

/// The feature table every project test publishes.
pub const TABLE: &str = "default.crash";
pub const ONLINE: &str = "crash";

/// The write identity's secret prefix of the server stores: scope `writer`, keys `db-user` and
/// `db-password`, i.e. `FSTORE_SECRET_WRITER_DB_USER` / `..._PASSWORD` in the `env` backend.
const WRITE_PREFIX: &str = "writer/db";
const USER_VAR: &str = "FSTORE_SECRET_WRITER_DB_USER";
const PASSWORD_VAR: &str = "FSTORE_SECRET_WRITER_DB_PASSWORD";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Mysql,
    Postgres,
}

/// One row of the test table: `id → (name, score, n)`.
pub type Row = (Option<String>, Option<f64>, Option<i64>);

/// A scratch project: `fstore.toml`, the offline root, and one online store.
pub struct Project {
    pub scratch: Scratch,
    pub store: Store,
    database: String,
    user: String,
    password: String,
    /// More environment for every command (object-storage credentials).
    env: Vec<(String, String)>,
}

impl Project {
    pub fn new(store: Store, test: &str) -> Self {
        Self::with_offline(store, test, "[offline]\nroot = \"offline\"\n", Vec::new())
    }

    /// A project whose `[offline]` section is `offline` (e.g. an `s3://` root), running every
    /// command with `env` added.
    pub fn with_offline(
        store: Store,
        test: &str,
        offline: &str,
        env: Vec<(String, String)>,
    ) -> Self {
        let scratch = Scratch::new();
        let database = fstore_test_support::db_name("fstore-cli", test);
        let hash = database.trim_start_matches("fstore_t_").to_string();
        let user = format!("fstore_u_{hash}");
        let password = format!("pw-{hash}-0123456789");
        let store_config = match store {
            Store::Sqlite => {
                "[stores.local]\nkind = \"sqlite\"\npath = \"online.db\"\n".to_string()
            }
            Store::Mysql => {
                runtime().block_on(mysql_setup(&database, &user, &password));
                let s = mysql::server();
                format!(
                    "[stores.aurora]\nkind = \"mysql\"\nhost = \"{}\"\nport = {}\ndatabase = \"{database}\"\nwrite_secret_prefix = \"{WRITE_PREFIX}\"\ntls = \"preferred\"\n",
                    s.host, s.port
                )
            }
            Store::Postgres => {
                runtime().block_on(pg_setup(&database, &user, &password));
                let s = pg::server();
                format!(
                    "[stores.pg]\nkind = \"postgres\"\nhost = \"{}\"\nport = {}\ndatabase = \"{database}\"\nwrite_secret_prefix = \"{WRITE_PREFIX}\"\ntls = \"preferred\"\n",
                    s.host, s.port
                )
            }
        };
        scratch.file(
            "fstore.toml",
            &format!("{offline}[secrets]\nbackend = \"env\"\n{store_config}"),
        );
        Self {
            scratch,
            store,
            database,
            user,
            password,
            env,
        }
    }

    /// `fstore ARGS` in the project, with the store's credentials in the environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.scratch.cmd(args);
        c.env(USER_VAR, &self.user)
            .env(PASSWORD_VAR, &self.password)
            // Keep the output quiet and deterministic.
            .env("FSTORE_LOG", "error")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// Runs `fstore ARGS` to completion; panics with its output unless it succeeds.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("run fstore");
        assert!(
            out.status.success(),
            "fstore {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Writes `rows` as CSV and runs `tables create` (first call) or `tables write --mode MODE`.
    pub fn write_rows(&self, rows: &BTreeMap<i64, Row>, create: bool, mode: &str) {
        let mut csv = String::from("id,name,score,n\n");
        for (id, (name, score, n)) in rows {
            let opt = |v: Option<String>| v.unwrap_or_default();
            csv.push_str(&format!(
                "{id},{},{},{}\n",
                opt(name.clone()),
                opt(score.map(|s| format!("{s}"))),
                opt(n.map(|n| n.to_string()))
            ));
        }
        let f = self.scratch.file("rows.csv", &csv);
        let f = f.to_str().expect("utf-8 path");
        if create {
            self.run_ok(&["tables", "create", TABLE, "-k", "id", "--from", f]);
        } else {
            self.run_ok(&["tables", "write", TABLE, "--from", f, "--mode", mode]);
        }
    }

    /// The offline view (latest version, every column), by id.
    pub fn offline_rows(&self) -> (i64, BTreeMap<i64, Row>) {
        runtime().block_on(async {
            let store = fstore_offline::OfflineStore::new(
                self.scratch.path().join("offline").to_str().expect("utf-8"),
                Default::default(),
            )
            .expect("offline store");
            let t = store
                .open(&TableName::parse(TABLE).expect("name"))
                .await
                .expect("open");
            let batches = t.scan_latest(None, None).await.expect("scan");
            let mut out = BTreeMap::new();
            for b in &batches {
                let col = |n: &str| b.column_by_name(n).expect("column").clone();
                let (id, name, score, nn) = (col("id"), col("name"), col("score"), col("n"));
                let id = id.as_primitive::<Int64Type>();
                let name = name.as_string::<i32>();
                let score = score.as_primitive::<Float64Type>();
                let nn = nn.as_primitive::<Int64Type>();
                for r in 0..b.num_rows() {
                    out.insert(
                        id.value(r),
                        (
                            name.is_valid(r).then(|| name.value(r).to_string()),
                            score.is_valid(r).then(|| score.value(r)),
                            nn.is_valid(r).then(|| nn.value(r)),
                        ),
                    );
                }
            }
            (t.version, out)
        })
    }

    /// The online table (None when it does not exist yet) and the version its bookkeeping row
    /// records, read with plain SQL as the server's administrator.
    pub fn online_rows(&self) -> (Option<i64>, Option<BTreeMap<i64, Row>>) {
        match self.store {
            Store::Sqlite => online::sqlite(&self.scratch.path().join("online.db")),
            Store::Mysql => runtime().block_on(online::mysql(&self.database)),
            Store::Postgres => runtime().block_on(online::postgres(&self.database)),
        }
    }

    /// Asserts that the online table equals the offline view, cell by cell, that the
    /// bookkeeping row records the offline version, and (PostgreSQL) that the schema holds no
    /// table but the online and bookkeeping tables.
    #[track_caller]
    pub fn assert_in_sync(&self, context: &str) {
        let (version, offline) = self.offline_rows();
        let (recorded, online) = self.online_rows();
        let online = online.unwrap_or_else(|| panic!("{context}: no online table"));
        if online != offline {
            let missing: Vec<_> = offline
                .keys()
                .filter(|k| !online.contains_key(k))
                .take(5)
                .collect();
            let extra: Vec<_> = online
                .keys()
                .filter(|k| !offline.contains_key(k))
                .take(5)
                .collect();
            let differ: Vec<_> = offline
                .iter()
                .filter(|(k, v)| online.get(k).is_some_and(|o| o != *v))
                .take(3)
                .map(|(k, v)| (k, v, online.get(k)))
                .collect();
            panic!(
                "{context}: online table differs from the offline view at version {version}: {} vs {} rows; missing {missing:?}, extra {extra:?}, differing {differ:?}",
                online.len(),
                offline.len()
            );
        }
        assert_eq!(recorded, Some(version), "{context}: recorded version");
        if self.store == Store::Postgres {
            // Staging and shadow tables live inside the publish's transaction, so a killed
            // publish must leave none behind.
            let tables = runtime().block_on(online::postgres_tables(&self.database));
            let expected = ["_fstore_publish_history", "_fstore_published", ONLINE];
            assert!(
                tables.iter().all(|t| expected.contains(&t.as_str())),
                "{context}: tables left behind: {tables:?}"
            );
        }
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        match self.store {
            Store::Sqlite => {}
            Store::Mysql => runtime().block_on(async {
                let mut c = mysql::admin().await;
                let _ = c
                    .query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.database))
                    .await;
                let _ = c
                    .query_drop(format!("DROP USER IF EXISTS '{}'@'%'", self.user))
                    .await;
                let _ = c.disconnect().await;
            }),
            Store::Postgres => runtime().block_on(async {
                let c = pg::client("postgres").await;
                let _ = c
                    .batch_execute(&format!(
                        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                        self.database
                    ))
                    .await;
                let _ = c
                    .batch_execute(&format!("DROP ROLE IF EXISTS \"{}\"", self.user))
                    .await;
            }),
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A fresh database and a user with every privilege on it (and none elsewhere).
async fn mysql_setup(database: &str, user: &str, password: &str) {
    let mut c = mysql::admin().await;
    mysql::fresh_database(&mut c, database).await;
    for stmt in [
        format!("DROP USER IF EXISTS '{user}'@'%'"),
        format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"),
        format!("GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'%'"),
    ] {
        c.query_drop(stmt)
            .await
            .expect("setting up the test database");
    }
    let _ = c.disconnect().await;
}

/// A fresh database owned by a login role of its own (which so may create in its `public`
/// schema, owned by `pg_database_owner` since PostgreSQL 15), nothing else granted.
async fn pg_setup(database: &str, user: &str, password: &str) {
    let c = pg::client("postgres").await;
    // One statement per call: DROP/CREATE DATABASE refuse to run in a transaction block.
    for stmt in [
        format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"),
        format!("DROP ROLE IF EXISTS \"{user}\""),
        format!("CREATE ROLE \"{user}\" LOGIN PASSWORD '{password}'"),
        format!("CREATE DATABASE \"{database}\" OWNER \"{user}\""),
    ] {
        c.batch_execute(&stmt)
            .await
            .unwrap_or_else(|e| panic!("setting up the test database ({stmt}): {e}"));
    }
}
