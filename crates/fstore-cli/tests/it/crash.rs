//! Crash safety of `fstore publish`: the built binary is killed with SIGKILL at random instants
//! while it publishes (first publish, incremental, `--full`, `--mode overwrite`) to SQLite and to
//! the MariaDB at `FSTORE_TEST_MYSQL_URL` (a database and user of its own, credentials through the
//! `env` secrets backend), then run again to completion; every time the online table must equal
//! the offline view cell by cell, and the bookkeeping row must name the table's latest version.
//!
//! The helpers here (a scratch project with an `fstore.toml` for either store, reading the online
//! table, the offline view) are shared with the `--watch` tests.

use std::collections::BTreeMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int64Type};
use fstore_core::TableName;
use mysql_async::prelude::Queryable;

use crate::util::Scratch;

/// The feature table every test here publishes.
pub const TABLE: &str = "default.crash";
pub const ONLINE: &str = "crash";

fn server_url() -> String {
    std::env::var("FSTORE_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Mysql,
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
        let mut h = DefaultHasher::new();
        test.hash(&mut h);
        let hash = format!("{:08x}", h.finish() as u32);
        let database = format!("fstore_t_{hash}");
        let user = format!("fstore_u_{hash}");
        let password = format!("pw-{hash}-0123456789");
        let store_config = match store {
            Store::Sqlite => {
                "[stores.local]\nkind = \"sqlite\"\npath = \"online.db\"\n".to_string()
            }
            Store::Mysql => {
                let url = url::Url::parse(&server_url()).expect("FSTORE_TEST_MYSQL_URL is a URL");
                let rt = tokio::runtime::Runtime::new().expect("runtime");
                rt.block_on(async {
                    let mut c = admin().await;
                    for stmt in [
                        format!("DROP DATABASE IF EXISTS `{database}`"),
                        format!(
                            "CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                        ),
                        format!("DROP USER IF EXISTS '{user}'@'%'"),
                        format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"),
                        format!("GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'%'"),
                    ] {
                        c.query_drop(stmt)
                            .await
                            .expect("setting up the test database");
                    }
                    let _ = c.disconnect().await;
                });
                format!(
                    "[stores.aurora]\nkind = \"mysql\"\nhost = \"{}\"\nport = {}\ndatabase = \"{database}\"\nwrite_secret_prefix = \"aurora_writer/aurora\"\ntls = \"preferred\"\n",
                    url.host_str().unwrap_or("127.0.0.1"),
                    url.port().unwrap_or(3306)
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
        c.env("FSTORE_SECRET_AURORA_WRITER_AURORA_USER", &self.user)
            .env(
                "FSTORE_SECRET_AURORA_WRITER_AURORA_PASSWORD",
                &self.password,
            )
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
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
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
    /// records, read with plain SQL.
    pub fn online_rows(&self) -> (Option<i64>, Option<BTreeMap<i64, Row>>) {
        match self.store {
            Store::Sqlite => {
                let path = self.scratch.path().join("online.db");
                if !path.exists() {
                    return (None, None);
                }
                let c = rusqlite::Connection::open(path).expect("open sqlite");
                let version: Option<i64> = c
                    .query_row(
                        "SELECT delta_version FROM _fstore_published WHERE online_table = ?1",
                        [ONLINE],
                        |r| r.get(0),
                    )
                    .ok();
                let Ok(mut st) = c.prepare("SELECT id, name, score, n FROM crash") else {
                    return (version, None);
                };
                let rows = st
                    .query_map([], |r| {
                        Ok((r.get::<_, i64>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
                    })
                    .expect("query")
                    .collect::<Result<BTreeMap<_, _>, _>>()
                    .expect("rows");
                (version, Some(rows))
            }
            Store::Mysql => {
                let rt = tokio::runtime::Runtime::new().expect("runtime");
                rt.block_on(async {
                    let mut c = admin().await;
                    c.query_drop(format!("USE `{}`", self.database))
                        .await
                        .expect("use");
                    let version: Option<i64> = c
                        .query_first(format!(
                            "SELECT delta_version FROM _fstore_published WHERE online_table = '{ONLINE}'"
                        ))
                        .await
                        .ok()
                        .flatten();
                    // The text protocol: every cell as text, parsed back.
                    let rows: Result<Vec<mysql_async::Row>, _> = c
                        .query("SELECT id, name, score, n FROM crash")
                        .await;
                    let _ = c.disconnect().await;
                    let Ok(rows) = rows else {
                        return (version, None);
                    };
                    let text = |v: mysql_async::Value| match v {
                        mysql_async::Value::NULL => None,
                        mysql_async::Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                        other => Some(other.as_sql(true)),
                    };
                    let mut out = BTreeMap::new();
                    for r in rows {
                        let mut cells = r.unwrap().into_iter().map(text);
                        let id: i64 = cells.next().flatten().expect("id").parse().expect("int");
                        let name = cells.next().flatten();
                        let score = cells.next().flatten().map(|s| s.parse::<f64>().expect("double"));
                        let n = cells.next().flatten().map(|s| s.parse::<i64>().expect("bigint"));
                        out.insert(id, (name, score, n));
                    }
                    (version, Some(out))
                })
            }
        }
    }

    /// Asserts that the online table equals the offline view, cell by cell, and that the
    /// bookkeeping row records the offline version.
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
    }

    fn cleanup(&self) {
        if self.store == Store::Mysql {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async {
                let mut c = admin().await;
                let _ = c
                    .query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.database))
                    .await;
                let _ = c
                    .query_drop(format!("DROP USER IF EXISTS '{}'@'%'", self.user))
                    .await;
                let _ = c.disconnect().await;
            });
        }
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        self.cleanup();
    }
}

async fn admin() -> mysql_async::Conn {
    mysql_async::Conn::from_url(server_url()).await.unwrap_or_else(|e| {
        panic!(
            "MariaDB is unreachable at {} ({e}); start it with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` or set FSTORE_TEST_MYSQL_URL",
            server_url()
        )
    })
}

/// A small deterministic pseudo-random generator (xorshift), seeded per test run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn seeded() -> Self {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Self::new(t)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A row for `id` at change `round` (scores never integral, so every writer prints them alike).
pub fn row(id: i64, round: u64) -> Row {
    (
        (id % 13 != 0).then(|| format!("name-{id}-{round}")),
        (id % 17 != 0).then_some((id as f64) * 0.5 + round as f64 + 0.25),
        (id % 19 != 0).then_some(id * 3 + round as i64),
    )
}

/// Changes the model and the offline table: updates and inserts by merge, or (every third round)
/// deletes by overwriting with fewer rows.
pub fn change(p: &Project, model: &mut BTreeMap<i64, Row>, rng: &mut Rng, round: u64) {
    let next_id = model.keys().next_back().map_or(1, |k| k + 1);
    if round % 3 == 2 {
        let ids: Vec<i64> = model.keys().copied().collect();
        for _ in 0..(ids.len() / 50).max(1) {
            let id = ids[rng.below(ids.len() as u64) as usize];
            model.remove(&id);
        }
        p.write_rows(model, false, "overwrite");
    } else {
        let ids: Vec<i64> = model.keys().copied().collect();
        let mut changed = BTreeMap::new();
        for _ in 0..(ids.len() / 20).max(1) {
            let id = ids[rng.below(ids.len() as u64) as usize];
            changed.insert(id, row(id, round));
        }
        for id in next_id..next_id + 50 {
            changed.insert(id, row(id, round));
        }
        model.extend(changed.clone());
        p.write_rows(&changed, false, "merge");
    }
}

/// Starts `fstore publish ARGS`, kills it with SIGKILL after `delay`, and waits for it.
/// Returns whether it had already finished.
fn kill_after(p: &Project, args: &[&str], delay: Duration) -> bool {
    let mut child = p
        .cmd(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn fstore");
    std::thread::sleep(delay);
    let finished = child.try_wait().expect("try_wait").is_some();
    if !finished {
        child.kill().expect("SIGKILL");
    }
    child.wait().expect("wait");
    finished
}

/// Kills publishes at random instants and checks the rerun every time.
fn crash_and_rerun(store: Store) {
    const ROWS: i64 = 20_000;
    const ROUNDS: u64 = 8;
    let p = Project::new(store, &format!("crash_and_rerun_{store:?}"));
    let mut rng = Rng::seeded();
    let seed = rng.0;
    let mut model: BTreeMap<i64, Row> = (1..=ROWS).map(|id| (id, row(id, 0))).collect();
    p.write_rows(&model, true, "merge");

    // How long an uninterrupted publish takes, to spread the kills over it.
    let probe = Project::new(store, &format!("crash_and_rerun_probe_{store:?}"));
    probe.write_rows(&model, true, "merge");
    let t = Instant::now();
    probe.run_ok(&["publish", TABLE]);
    let full_time = t.elapsed();
    drop(probe);

    let mut finished_before_kill = 0;
    let mut kills = 0;
    // The first publish (creates the table), killed.
    let delay = Duration::from_millis(rng.below(full_time.as_millis() as u64 + 1));
    finished_before_kill += kill_after(&p, &["publish", TABLE], delay) as u32;
    kills += 1;
    p.run_ok(&["publish", TABLE]);
    p.assert_in_sync(&format!(
        "first publish killed after {delay:?} (seed {seed})"
    ));

    let modes: [(&str, &[&str]); 3] = [
        ("incremental", &["publish", TABLE]),
        ("full", &["publish", TABLE, "--full"]),
        ("overwrite", &["publish", TABLE, "--mode", "overwrite"]),
    ];
    let mut round = 1;
    for (mode, args) in modes {
        // Kills spread over 1.3× the last uninterrupted run of the same kind, so some land
        // before the write, some during it, and some after the publish ended.
        let mut span = full_time;
        for _ in 0..ROUNDS {
            change(&p, &mut model, &mut rng, round);
            let limit = (span.as_millis() as u64 * 13 / 10).max(1);
            let delay = Duration::from_millis(rng.below(limit + 1));
            finished_before_kill += kill_after(&p, args, delay) as u32;
            kills += 1;
            let t = Instant::now();
            p.run_ok(args);
            span = t.elapsed();
            p.assert_in_sync(&format!(
                "{mode} publish of round {round} killed after {delay:?} (seed {seed})"
            ));
            round += 1;
        }
        // And the other modes converge from whatever this one left.
        p.run_ok(&["publish", TABLE]);
        p.assert_in_sync(&format!(
            "incremental publish after the {mode} rounds (seed {seed})"
        ));
    }
    eprintln!(
        "{store:?}: {kills} publishes killed at random instants ({finished_before_kill} had already finished); a full publish took {full_time:?}"
    );
    assert!(
        finished_before_kill < kills,
        "every publish finished before its kill; the test did not interrupt anything"
    );
}

#[test]
fn killing_publishes_at_random_instants_leaves_sqlite_in_sync() {
    crash_and_rerun(Store::Sqlite);
}

#[test]
fn killing_publishes_at_random_instants_leaves_mariadb_in_sync() {
    crash_and_rerun(Store::Mysql);
}
