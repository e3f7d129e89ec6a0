//! docs/postgres.md, step by step, with the built binary against the PostgreSQL at
//! `FSTORE_TEST_PG_URL`: a `kind = "postgres"` store, `online init` as the URL's administrator
//! (password on stdin), `tables create` from a file, `publish --mode merge`, the table read back
//! with plain SQL as the reader role, `lookup`, `online list`/`status`, and `online verify`
//! finding rows changed, deleted and added behind fstore's back. The database and both roles
//! are the test's own (named from a hash of it) and dropped at the end.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;

use fstore_test_support::pg;

use crate::util::{Run, Scratch};

const TABLE: &str = "default.online_feature_table";
const ONLINE: &str = "online_feature_table";

/// One row: `PassengerId → (Name, Fare, Survived)`.
type Row = (Option<String>, Option<f64>, Option<bool>);

fn rows() -> BTreeMap<i64, Row> {
    (1..=300)
        .map(|id| {
            let name = match id % 7 {
                0 => None,
                // Non-ASCII and a comma-free quote, so text round-trips byte for byte.
                1 => Some(format!("Zoë \"{id}\"")),
                _ => Some(format!("passenger-{id}")),
            };
            let fare = (id % 11 != 0).then_some(id as f64 * 1.5 + 0.25);
            let survived = (id % 13 != 0).then_some(id % 2 == 0);
            (id, (name, fare, survived))
        })
        .collect()
}

fn csv(rows: &BTreeMap<i64, Row>) -> String {
    let mut out = String::from("PassengerId,Name,Fare,Survived\n");
    for (id, (name, fare, survived)) in rows {
        let name = name
            .as_ref()
            .map(|n| format!("\"{}\"", n.replace('"', "\"\"")))
            .unwrap_or_default();
        let fare = fare.map(|f| f.to_string()).unwrap_or_default();
        let survived = survived.map(|s| s.to_string()).unwrap_or_default();
        out.push_str(&format!("{id},{name},{fare},{survived}\n"));
    }
    out
}

/// The test's database and roles, dropped when it ends (passing or not).
struct Server {
    database: String,
    roles: [String; 2],
}

impl Server {
    fn clean(&self) {
        rt().block_on(async {
            let c = pg::client("postgres").await;
            let _ = c
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                    self.database
                ))
                .await;
            for r in &self.roles {
                let _ = c
                    .batch_execute(&format!("DROP ROLE IF EXISTS \"{r}\""))
                    .await;
            }
        });
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.clean();
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A connection to `database` as `user` (the development server trusts loopback, so no password).
async fn connect_as(user: &str, database: &str) -> tokio_postgres::Client {
    let s = pg::server();
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&s.host).port(s.port).user(user).dbname(database);
    let (c, conn) = cfg
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting as {user}: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    c
}

fn run_with_stdin(s: &Scratch, args: &[&str], stdin: &str) -> Run {
    let mut child = s
        .cmd(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fstore");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn postgres_walk_through_init_publish_read_lookup_verify() {
    let database = fstore_test_support::db_name("fstore-cli", "postgres_walk_through");
    let hash = database.trim_start_matches("fstore_t_");
    let (writer, reader) = (format!("fstore_w_{hash}"), format!("fstore_r_{hash}"));
    let server = Server {
        database: database.clone(),
        roles: [writer.clone(), reader.clone()],
    };
    // What a killed earlier run may have left.
    server.clean();
    let admin = pg::server();

    // 1. The store (secrets: the default local scopes file).
    let s = Scratch::new();
    s.file(
        "fstore.toml",
        &format!(
            "[stores.pg]\nkind = \"postgres\"\nhost = \"{}\"\nport = {}\ndatabase = \"{database}\"\n\
             schema = \"public\"\nread_secret_prefix = \"pg_reader/pg\"\nwrite_secret_prefix = \"pg_writer/pg\"\n",
            admin.host, admin.port
        ),
    );

    // 2. `online init` as the administrator, its password (maybe none) on stdin.
    let init = run_with_stdin(
        &s,
        &[
            "online",
            "init",
            "--store",
            "pg",
            "--admin-user",
            &admin.user,
            "--writer-user",
            &writer,
            "--reader-user",
            &reader,
        ],
        &format!("{}\n", admin.password),
    )
    .ok();
    assert!(
        init.stdout
            .contains(&format!("store `pg`: database `{database}` created")),
        "{}",
        init.stdout
    );
    assert!(
        init.stdout.contains("stored secret pg_writer/pg-password")
            && init.stdout.contains("stored secret pg_reader/pg-password"),
        "{}",
        init.stdout
    );

    // 3. Create the feature table from a file and publish it.
    let model = rows();
    let f = s.file("features.csv", &csv(&model));
    s.run(&[
        "tables",
        "create",
        TABLE,
        "--primary-key",
        "PassengerId",
        "--from",
        f.to_str().unwrap(),
    ])
    .ok();
    s.run(&["publish", TABLE, "--store", "pg", "--mode", "merge"])
        .ok();

    // The reader reads the table with plain SQL: the feature table's columns in its order, every
    // cell as written; it may not write.
    rt().block_on(async {
        let c = connect_as(&reader, &database).await;
        let got = c
            .query(
                &format!("SELECT * FROM public.{ONLINE} ORDER BY \"PassengerId\""),
                &[],
            )
            .await
            .expect("the reader reads the table");
        let names: Vec<&str> = got[0].columns().iter().map(|c| c.name()).collect();
        assert_eq!(names, ["PassengerId", "Name", "Fare", "Survived"]);
        let got: BTreeMap<i64, Row> = got
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
            .collect();
        assert_eq!(got, model);
        let refused = c
            .batch_execute(&format!("DELETE FROM public.{ONLINE}"))
            .await;
        assert!(refused.is_err(), "the reader deleted rows");
    });

    // Lookups (reader identity), in request order, a missing key reported.
    let out = s
        .run(&[
            "lookup",
            TABLE,
            "--store",
            "pg",
            "--key",
            "PassengerId=8",
            "--key",
            "PassengerId=1",
            "--key",
            "PassengerId=1000",
        ])
        .ok()
        .stdout;
    let at = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{out}"))
    };
    assert!(at("PassengerId=8:") < at("PassengerId=1:"), "{out}");
    assert!(out.contains("PassengerId=1000: not found"), "{out}");
    assert!(out.contains("Zoë \"1\""), "{out}");
    let json = s
        .run(&[
            "lookup",
            TABLE,
            "--store",
            "pg",
            "--key",
            "PassengerId=2",
            "--format",
            "json",
        ])
        .ok()
        .stdout;
    let v: serde_json::Value = serde_json::from_str(json.trim()).expect("one JSON line");
    assert_eq!(
        (&v["Name"], &v["Fare"], &v["Survived"]),
        (&"passenger-2".into(), &3.25.into(), &true.into()),
        "{v}"
    );

    // What is published, and that it is up to date.
    let list = s.run(&["online", "list", "--store", "pg"]).ok().stdout;
    assert!(list.contains(ONLINE) && list.contains(TABLE), "{list}");
    let status = s
        .run(&["online", "status", "--store", "pg", "--format", "json"])
        .ok()
        .stdout;
    assert!(status.contains(ONLINE), "{status}");

    verify_finds_what_changed_behind_fstores_back(&s, &database);
    drop(server);
}

/// `online verify`: identical after the publish (exit 0); rows changed, deleted and added by raw
/// SQL are found and named (exit 1); a republish repairs the table.
fn verify_finds_what_changed_behind_fstores_back(s: &Scratch, database: &str) {
    let verify = ["online", "verify", ONLINE, "--store", "pg"];
    let out = s.run(&verify).ok().stdout;
    assert!(
        out.contains(&format!(
            "{ONLINE}: identical (version 0 of {TABLE}: 300 rows offline, 300 online"
        )),
        "{out}"
    );
    rt().block_on(async {
        let c = pg::client(database).await;
        c.batch_execute(&format!(
            "UPDATE public.{ONLINE} SET \"Fare\" = 99.5 WHERE \"PassengerId\" = 2; \
             DELETE FROM public.{ONLINE} WHERE \"PassengerId\" = 3; \
             INSERT INTO public.{ONLINE} (\"PassengerId\", \"Name\") VALUES (7000, 'eve')"
        ))
        .await
        .expect("raw changes");
    });
    let out = s.run(&verify).fails_with(&format!(
        "`{ONLINE}` in pg differs from version 0 of {TABLE}: 1 missing, 1 extra, 1 different"
    ));
    assert!(
        out.stdout
            .contains("different PassengerId=2\n            Fare: offline 3.25 online 99.5"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("missing   PassengerId=3"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("extra     PassengerId=7000"),
        "{}",
        out.stdout
    );

    s.run(&["publish", TABLE, "--store", "pg", "--mode", "overwrite"])
        .ok();
    s.run(&verify).ok();
}
