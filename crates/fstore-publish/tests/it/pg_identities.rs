//! `online init` against the real PostgreSQL: the reader can only `SELECT` (tables the writer
//! creates later included), the writer can only create and replace tables in its schema, an
//! administrator that is not a superuser (the RDS/Aurora master user) can provision, passwords
//! are stored before the server changes, and bad plans are refused with nothing left behind.

use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use fstore_core::{NoProgress, TableName, TableSpec, Value};
use fstore_offline::OfflineStore;
use fstore_online::{OnlineReader, WriteMode};
use fstore_publish::init::{InitOptions, init_online_store};
use fstore_publish::stores::{open_reader, open_writer};
use fstore_publish::{PublishOptions, publish};
use fstore_secrets::Secret;

use crate::pg_util::*;

fn people() -> RecordBatch {
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("PassengerId", DataType::Int64, false),
            Field::new("Sex", DataType::Utf8, true),
            Field::new("Age", DataType::Float64, true),
        ])),
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3])),
            Arc::new(StringArray::from(vec![Some("male"), Some("female"), None])),
            Arc::new(Float64Array::from(vec![Some(22.0), None, Some(35.5)])),
        ],
    )
    .expect("batch")
}

#[tokio::test(flavor = "multi_thread")]
async fn pg_online_init_gives_the_reader_select_only_and_confines_the_writer() {
    let t = tag("pg_online_init_gives_the_reader_select_only_and_confines_the_writer");
    let (db, other_db) = (format!("fstore_t_{t}"), format!("fstore_t_{t}_other"));
    let (w, r) = (format!("w_{t}"), format!("r_{t}"));
    drop_all(&[&db, &other_db], &[&w, &r]).await;
    let su = admin("postgres").await;
    su.batch_execute(&format!("CREATE DATABASE \"{other_db}\""))
        .await
        .expect("other db");
    admin(&other_db)
        .await
        .batch_execute("CREATE TABLE theirs (id int PRIMARY KEY); INSERT INTO theirs VALUES (1)")
        .await
        .expect("other table");
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = config(dir.path(), &[("pg", &db, Some("features"))]);

    let report = init_online_store(&cfg, Some("pg"), init_opts(&w, &r, false))
        .await
        .expect("online init");
    let p = &report.provision;
    assert!(p.database_created && report.schema_created, "{report:?}");
    assert_eq!(report.schema.as_deref(), Some("features"));
    assert_eq!(p.users_created, vec![w.clone(), r.clone()]);
    assert_eq!(p.passwords_set, vec![w.clone(), r.clone()]);
    assert_eq!(report.secrets_written.len(), 4);
    assert!(
        p.grants
            .iter()
            .any(|g| g.contains("GRANT USAGE ON SCHEMA \"features\"") && g.contains(&r)),
        "{:?}",
        p.grants
    );
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    let (wpass, rpass) = (
        stored(&cfg, dir.path(), "pg", "writer").expect("writer").1,
        stored(&cfg, dir.path(), "pg", "reader").expect("reader").1,
    );
    for g in &p.grants {
        assert!(
            !g.contains(&wpass) && !g.contains(&rpass) && !g.contains("SCRAM"),
            "{g}"
        );
    }
    assert_password_is(&w, &wpass).await;
    assert_password_is(&r, &rpass).await;
    let file = std::fs::read(dir.path().join("secrets.enc")).expect("secrets file");
    assert!(!file.windows(16).any(|x| x == &wpass.as_bytes()[..16]));

    // A table the writer creates after init is readable by the reader, and only readable.
    let wc = connect_as(&w, &wpass, &db).await.expect("writer connects");
    wc.batch_execute(
        "CREATE TABLE features.later (id int PRIMARY KEY, v text); INSERT INTO features.later VALUES (1, 'a'), (2, 'b')",
    )
    .await
    .expect("writer creates a table in its schema");
    let rc = connect_as(&r, &rpass, &db).await.expect("reader connects");
    let ro: String = rc
        .query_one("SHOW default_transaction_read_only", &[])
        .await
        .expect("show")
        .get(0);
    assert_eq!(ro, "on");
    // The read-only default is not the boundary (a session may turn it off): privileges are.
    rc.batch_execute("SET default_transaction_read_only = off")
        .await
        .expect("set");
    let n: i64 = rc
        .query_one("SELECT count(*) FROM features.later", &[])
        .await
        .expect("reader reads a table created after init")
        .get(0);
    assert_eq!(n, 2);
    let reader_denied = |table: &str, key: &str| {
        vec![
            format!("INSERT INTO features.{table} ({key}) VALUES (9)"),
            format!("UPDATE features.{table} SET {key} = 7"),
            format!("DELETE FROM features.{table}"),
            format!("TRUNCATE features.{table}"),
            format!("DROP TABLE features.{table}"),
            format!("ALTER TABLE features.{table} ADD COLUMN x int"),
        ]
    };
    assert_denied(&rc, "reader", &reader_denied("later", "id")).await;
    assert_denied(
        &rc,
        "reader",
        &[
            "CREATE TABLE features.mine (id int)".into(),
            "CREATE TABLE public.mine (id int)".into(),
            "CREATE TEMP TABLE mine (id int)".into(),
            "CREATE SCHEMA mine".into(),
        ],
    )
    .await;

    // Publish through fstore as the writer; the reader serves it and cannot change it.
    let offline = OfflineStore::new(&cfg.offline.root, Default::default()).expect("offline");
    let name = TableName::parse("default.people").expect("name");
    offline
        .create(
            &name,
            TableSpec::new(vec!["PassengerId".into()], None).expect("spec"),
            people().schema(),
            vec![people()],
            vec![],
        )
        .await
        .expect("create");
    let (_, store) = open_writer(&cfg, Some("pg")).await.expect("writer store");
    let rep = publish(
        &offline,
        &store,
        &name,
        &PublishOptions::default(),
        &NoProgress,
    )
    .await
    .expect("publish as the writer");
    assert_eq!(rep.write.inserted, 3);
    // Replacing the table (shadow table + rename) is the writer's too.
    let overwrite = PublishOptions {
        mode: WriteMode::Overwrite,
        ..Default::default()
    };
    publish(&offline, &store, &name, &overwrite, &NoProgress)
        .await
        .expect("overwrite as the writer");
    let (_, reader_store) = open_reader(&cfg, Some("pg")).await.expect("reader store");
    let got = reader_store
        .lookup("people", &[vec![Value::Int(2)], vec![Value::Int(7)]], None)
        .await
        .expect("lookup as the reader");
    assert_eq!(
        got.rows[0].as_ref().expect("key 2")[0],
        Value::String("female".into())
    );
    assert!(got.rows[1].is_none());
    let n: i64 = rc
        .query_one("SELECT count(*) FROM features.people", &[])
        .await
        .expect("reader reads the published table")
        .get(0);
    assert_eq!(n, 3);
    assert_denied(&rc, "reader", &reader_denied("people", "\"PassengerId\"")).await;

    // The writer replaces its own tables, and is confined to its schema and database.
    wc.batch_execute(
        "BEGIN; CREATE TABLE features.later_new (LIKE features.later); DROP TABLE features.later; \
         ALTER TABLE features.later_new RENAME TO later; COMMIT",
    )
    .await
    .expect("writer replaces its table");
    let su_db = admin(&db).await;
    su_db
        .batch_execute(
            "CREATE SCHEMA other; CREATE TABLE other.t (id int); CREATE TABLE public.t (id int)",
        )
        .await
        .expect("other schema");
    assert_denied(
        &wc,
        "writer",
        &[
            "CREATE TABLE public.mine (id int)".into(),
            "CREATE TABLE other.mine (id int)".into(),
            "SELECT * FROM other.t".into(),
            "INSERT INTO other.t VALUES (1)".into(),
            "SELECT * FROM public.t".into(),
            "DROP TABLE public.t".into(),
            "CREATE SCHEMA mine".into(),
            format!("CREATE ROLE x_{t}"),
            format!("CREATE DATABASE x_{t}"),
            format!("ALTER ROLE {r} PASSWORD 'x'"),
        ],
    )
    .await;
    // Another database: PostgreSQL lets PUBLIC connect there by default, but its tables are
    // closed to fstore's roles.
    let wo = connect_as(&w, &wpass, &other_db)
        .await
        .expect("PUBLIC may connect to a database nobody restricted");
    assert_denied(
        &wo,
        "writer",
        &[
            "SELECT * FROM theirs".into(),
            "INSERT INTO theirs VALUES (2)".into(),
            "DROP TABLE theirs".into(),
        ],
    )
    .await;

    // Again: nothing changes. With --rotate: new passwords, the grants stay.
    let again = init_online_store(&cfg, Some("pg"), init_opts(&w, &r, false))
        .await
        .expect("second init");
    assert!(!again.provision.database_created && !again.schema_created);
    assert!(again.provision.users_created.is_empty() && again.provision.passwords_set.is_empty());
    assert!(again.secrets_written.is_empty());
    let before = verifier(&r).await;
    init_online_store(&cfg, Some("pg"), init_opts(&w, &r, true))
        .await
        .expect("rotate");
    let new_rpass = stored(&cfg, dir.path(), "pg", "reader").expect("reader").1;
    assert_ne!(new_rpass, rpass);
    assert_ne!(verifier(&r).await, before);
    assert_password_is(&r, &new_rpass).await;
    let rc2 = connect_as(&r, &new_rpass, &db).await.expect("reader");
    rc2.query_one("SELECT count(*) FROM features.later", &[])
        .await
        .expect("reader still reads the replaced table");

    drop((wc, rc, rc2, wo, su_db));
    drop_all(&[&db, &other_db], &[&w, &r]).await;
}

/// The RDS/Aurora case: the administrator has CREATEROLE and CREATEDB, not superuser. Two stores
/// provisioned by it keep their roles apart: neither may even connect to the other's database.
#[tokio::test(flavor = "multi_thread")]
async fn pg_online_init_works_for_a_non_superuser_admin_and_keeps_stores_apart() {
    let t = tag("pg_online_init_works_for_a_non_superuser_admin_and_keeps_stores_apart");
    let (db1, db2) = (format!("fstore_t_{t}_1"), format!("fstore_t_{t}_2"));
    let (a, w1, r1, w2, r2) = (
        format!("a_{t}"),
        format!("w1_{t}"),
        format!("r1_{t}"),
        format!("w2_{t}"),
        format!("r2_{t}"),
    );
    drop_all(&[&db1, &db2], &[&w1, &r1, &w2, &r2, &a]).await;
    let admin_password = "AdminPassword0123456789";
    admin("postgres")
        .await
        .batch_execute(&format!(
            "CREATE ROLE \"{a}\" LOGIN CREATEROLE CREATEDB PASSWORD '{admin_password}'"
        ))
        .await
        .expect("admin role");
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = config(dir.path(), &[("pg", &db1, None), ("pg2", &db2, None)]);
    for (store, w, r) in [("pg", &w1, &r1), ("pg2", &w2, &r2)] {
        let mut opts = init_opts(w, r, false);
        opts.admin_user = a.clone();
        opts.admin_password = Secret::new(admin_password);
        let report = init_online_store(&cfg, Some(store), opts)
            .await
            .unwrap_or_else(|e| panic!("init {store} as a non-superuser: {e}"));
        assert!(report.provision.database_created && !report.schema_created);
        assert_eq!(report.schema.as_deref(), Some("public"));
    }
    let owner: String = admin("postgres")
        .await
        .query_one(
            "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1",
            &[&db1],
        )
        .await
        .expect("owner")
        .get(0);
    assert_eq!(owner, a);
    let (wpass, rpass) = (
        stored(&cfg, dir.path(), "pg", "writer").expect("w").1,
        stored(&cfg, dir.path(), "pg", "reader").expect("r").1,
    );

    // The writer owns the bookkeeping table; a table it creates later is the reader's to read.
    let wc = connect_as(&w1, &wpass, &db1).await.expect("writer");
    let owner: String = wc
        .query_one(
            "SELECT tableowner::text FROM pg_tables WHERE schemaname = 'public' AND tablename = '_fstore_published'",
            &[],
        )
        .await
        .expect("bookkeeping exists")
        .get(0);
    assert_eq!(owner, w1);
    wc.batch_execute("CREATE TABLE later (id int PRIMARY KEY); INSERT INTO later VALUES (1)")
        .await
        .expect("writer creates in public");
    let rc = connect_as(&r1, &rpass, &db1).await.expect("reader");
    rc.query_one("SELECT count(*) FROM later", &[])
        .await
        .expect("reader reads it");
    rc.query("SELECT * FROM _fstore_published", &[])
        .await
        .expect("reader reads the bookkeeping");
    rc.batch_execute("SET default_transaction_read_only = off")
        .await
        .expect("set");
    assert_denied(
        &rc,
        "reader",
        &[
            "INSERT INTO later VALUES (2)".into(),
            "CREATE TABLE mine (id int)".into(),
            "CREATE TEMP TABLE mine (id int)".into(),
        ],
    )
    .await;
    assert_denied(&wc, "writer", &[format!("CREATE ROLE x_{t}")]).await;

    // CONNECT on the other store's database is refused to both.
    for (role, pass) in [(&w1, &wpass), (&r1, &rpass)] {
        let code = sqlstate(connect_as(role, pass, &db2).await, "connecting to db2");
        assert_eq!(code, DENIED, "{role}");
    }

    drop((wc, rc));
    drop_all(&[&db1, &db2], &[&w1, &r1, &w2, &r2, &a]).await;
}

/// Passwords are stored before the server changes, and put back when the server refuses.
#[tokio::test(flavor = "multi_thread")]
async fn pg_online_init_stores_passwords_first_and_puts_them_back_on_failure() {
    let t = tag("pg_online_init_stores_passwords_first_and_puts_them_back_on_failure");
    let db = format!("fstore_t_{t}");
    let (w, r, weak) = (format!("w_{t}"), format!("r_{t}"), format!("a_{t}"));
    drop_all(&[&db], &[&w, &r, &weak]).await;
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = config(dir.path(), &[("pg", &db, None)]);
    init_online_store(&cfg, Some("pg"), init_opts(&w, &r, false))
        .await
        .expect("first init");
    let (wpass, rpass) = (
        stored(&cfg, dir.path(), "pg", "writer").expect("w").1,
        stored(&cfg, dir.path(), "pg", "reader").expect("r").1,
    );
    let (wv, rv) = (verifier(&w).await, verifier(&r).await);

    // The secrets file cannot be written (its lock is a directory): nothing changes anywhere.
    let lock = dir.path().join("secrets.enc.lock");
    let _ = std::fs::remove_file(&lock);
    std::fs::create_dir(&lock).expect("lock dir");
    let e = init_online_store(&cfg, Some("pg"), init_opts(&w, &r, true))
        .await
        .expect_err("rotation without writable secrets")
        .to_string();
    assert!(e.contains("nothing was changed on the server"), "{e}");
    assert_eq!((verifier(&w).await, verifier(&r).await), (wv.clone(), rv));
    std::fs::remove_dir(&lock).expect("unlock");

    // An administrator that may not alter roles: the server refuses, the old secrets come back.
    admin("postgres")
        .await
        .batch_execute(&format!(
            "CREATE ROLE \"{weak}\" LOGIN; GRANT CONNECT ON DATABASE \"{db}\" TO \"{weak}\""
        ))
        .await
        .expect("weak admin");
    let mut opts = init_opts(&w, &r, true);
    opts.admin_user = weak.clone();
    opts.admin_password = Secret::new("");
    let e = init_online_store(&cfg, Some("pg"), opts)
        .await
        .expect_err("a weak administrator cannot rotate")
        .to_string();
    assert!(e.contains("secret scopes were put back"), "{e}");
    assert_eq!(
        stored(&cfg, dir.path(), "pg", "writer").expect("w").1,
        wpass
    );
    assert_eq!(
        stored(&cfg, dir.path(), "pg", "reader").expect("r").1,
        rpass
    );
    assert_eq!(verifier(&w).await, wv);
    assert_password_is(&w, &wpass).await;

    drop_all(&[&db], &[&w, &r, &weak]).await;
}

/// Plans the server would accept but that break least privilege, or make no sense, are refused
/// with a message before anything is stored or created.
#[tokio::test(flavor = "multi_thread")]
async fn pg_online_init_refuses_bad_plans() {
    let t = tag("pg_online_init_refuses_bad_plans");
    let db = format!("fstore_t_{t}");
    let (w, r) = (format!("w_{t}"), format!("r_{t}"));
    drop_all(&[&db], &[&w, &r]).await;
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = config(dir.path(), &[("pg", &db, None)]);
    let refused = async |opts: InitOptions| {
        init_online_store(&cfg, Some("pg"), opts)
            .await
            .expect_err("refused")
            .to_string()
    };

    let mut opts = init_opts(&w, &r, false);
    opts.user_host = Some("10.%".into());
    assert!(refused(opts).await.contains("pg_hba.conf"));
    let e = refused(init_opts("pg_writer", &r, false)).await;
    assert!(e.contains("invalid writer role name `pg_writer`"), "{e}");
    let e = refused(init_opts(&w, &w, false)).await;
    assert!(e.contains("different roles"), "{e}");
    let (su, _) = superuser();
    let e = refused(init_opts(&su, &r, false)).await;
    assert!(e.contains("cannot also be the writer"), "{e}");

    // An existing role with more than it should have is not adopted.
    let su_conn = admin("postgres").await;
    su_conn
        .batch_execute(&format!("CREATE ROLE \"{w}\" LOGIN CREATEDB"))
        .await
        .expect("role");
    let e = refused(init_opts(&w, &r, false)).await;
    assert!(e.contains("already exists with CREATEDB"), "{e}");
    assert!(stored(&cfg, dir.path(), "pg", "writer").is_none());
    assert!(stored(&cfg, dir.path(), "pg", "reader").is_none());
    assert!(
        verifier(&w).await.is_none(),
        "the existing role was changed"
    );
    let created = su_conn
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&db])
        .await
        .expect("pg_database");
    assert!(created.is_none(), "the database was created");
    let r_exists = su_conn
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&r])
        .await
        .expect("pg_roles");
    assert!(r_exists.is_none(), "the reader was created");

    drop_all(&[&db], &[&w, &r]).await;
}
