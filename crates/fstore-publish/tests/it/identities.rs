//! `online init` against the real MariaDB: the reader can only read, the writer can only touch
//! its database, credentials live in secret scopes, and a store without write credentials is
//! refused before any connection.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use fstore_core::config::Config;
use fstore_core::{NoProgress, TableName, TableSpec, Value};
use fstore_offline::OfflineStore;
use fstore_online::OnlineReader;
use fstore_publish::init::{InitOptions, init_online_store};
use fstore_publish::stores::{open_reader, open_writer};
use fstore_publish::{PublishOptions, publish};
use fstore_secrets::{Secret, SecretStore, Secrets};
use mysql_async::prelude::Queryable;

use fstore_test_support::mysql::{admin as root, connect_as, url as server_url};

fn short_hash(s: &str) -> String {
    format!(
        "{:08x}",
        fstore_test_support::fnv(&format!("fstore-publish::{s}"))
    )
}

/// A config whose `aurora` store points at the test server, database `db`, secrets in `dir`.
fn config(dir: &Path, db: &str, with_write: bool) -> Config {
    let url = url::Url::parse(&server_url()).expect("FSTORE_TEST_MYSQL_URL is a URL");
    let host = url.host_str().unwrap_or("127.0.0.1");
    let port = url.port().unwrap_or(3306);
    let write = if with_write {
        "write_secret_prefix = \"aurora_writer/aurora\"\n"
    } else {
        ""
    };
    let text = format!(
        "[offline]\nroot = \"offline\"\n[secrets]\nbackend = \"local\"\npath = \"secrets.enc\"\n[stores.aurora]\nkind = \"mysql\"\nhost = \"{host}\"\nport = {port}\ndatabase = \"{db}\"\nread_secret_prefix = \"aurora_reader/aurora\"\n{write}tls = \"preferred\"\n"
    );
    Config::parse(&text, &dir.join("fstore.toml")).expect("test config parses")
}

fn init_opts(writer: &str, reader: &str, rotate: bool) -> InitOptions {
    let url = url::Url::parse(&server_url()).expect("url");
    InitOptions {
        admin_user: if url.username().is_empty() {
            "root".into()
        } else {
            url.username().into()
        },
        admin_password: Secret::new(url.password().unwrap_or("").to_string()),
        writer_user: writer.into(),
        reader_user: reader.into(),
        user_host: None,
        rotate,
    }
}

fn is_access_denied(e: &mysql_async::Error) -> bool {
    match e {
        mysql_async::Error::Server(s) => matches!(s.code, 1044 | 1045 | 1142 | 1227 | 1370),
        _ => false,
    }
}

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
async fn online_init_creates_least_privilege_users_and_publish_uses_them() {
    let tag = short_hash("online_init_creates_least_privilege_users_and_publish_uses_them");
    let db = format!("fstore_t_{tag}");
    let (writer, reader) = (format!("w_{tag}"), format!("r_{tag}"));
    let other_db = format!("fstore_t_{tag}_other");
    let mut admin = root().await;
    for stmt in [
        format!("DROP DATABASE IF EXISTS `{db}`"),
        format!("DROP DATABASE IF EXISTS `{other_db}`"),
        format!("DROP USER IF EXISTS '{writer}'@'%'"),
        format!("DROP USER IF EXISTS '{reader}'@'%'"),
        format!("CREATE DATABASE `{other_db}`"),
        format!("CREATE TABLE `{other_db}`.t (id INT PRIMARY KEY)"),
    ] {
        admin.query_drop(stmt).await.expect("setup");
    }
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = config(dir.path(), &db, true);

    let report = init_online_store(&cfg, Some("aurora"), init_opts(&writer, &reader, false))
        .await
        .expect("online init");
    assert!(report.provision.database_created);
    assert_eq!(
        report.provision.users_created,
        vec![writer.clone(), reader.clone()]
    );
    assert_eq!(report.secrets_written.len(), 4);
    assert!(
        report
            .provision
            .grants
            .iter()
            .any(|g| g.contains("GRANT SELECT ON") && g.contains(&reader))
    );
    assert!(
        !report
            .provision
            .grants
            .iter()
            .any(|g| g.contains("PASSWORD")),
        "{:?}",
        report.provision.grants
    );

    // The credentials are in the scopes named by the prefixes.
    let secrets = Secrets::from_config(&cfg.secrets, dir.path()).expect("secrets");
    let wpass = secrets
        .get("aurora_writer", "aurora-password")
        .expect("writer password");
    let rpass = secrets
        .get("aurora_reader", "aurora-password")
        .expect("reader password");
    assert_eq!(
        secrets
            .get("aurora_reader", "aurora-user")
            .expect("user")
            .expose_secret(),
        reader
    );
    assert!(wpass.expose_secret().len() >= 32);
    let file = std::fs::read(dir.path().join("secrets.enc")).expect("secrets file");
    assert!(
        !file
            .windows(16)
            .any(|w| w == &wpass.expose_secret().as_bytes()[..16])
    );

    // The reader can read and nothing else.
    let mut r = connect_as(&reader, rpass.expose_secret(), Some(&db))
        .await
        .expect("reader connects");
    r.query_drop("SELECT 1").await.expect("reader reads");
    for stmt in [
        "CREATE TABLE t (id INT PRIMARY KEY)".to_string(),
        format!("CREATE TABLE `{db}`.t2 (id INT PRIMARY KEY)"),
    ] {
        let e = r
            .query_drop(stmt.clone())
            .await
            .expect_err("reader must not create");
        assert!(is_access_denied(&e), "{stmt}: {e}");
    }

    // Publish with the writer (the store's write identity), then the reader cannot change it.
    let offline = OfflineStore::new(&cfg.offline.root, Default::default()).expect("offline");
    let name = TableName::parse("default.online_feature_table").expect("name");
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
    let (_, store) = open_writer(&cfg, Some("aurora"))
        .await
        .expect("writer store");
    let rep = publish(
        &offline,
        &store,
        &name,
        &PublishOptions::default(),
        &NoProgress,
    )
    .await
    .expect("publish");
    assert_eq!(rep.write.inserted, 3);
    for stmt in [
        "INSERT INTO online_feature_table (PassengerId) VALUES (9)",
        "UPDATE online_feature_table SET Age = 1",
        "DELETE FROM online_feature_table",
        "DROP TABLE online_feature_table",
        "ALTER TABLE online_feature_table ADD COLUMN x INT",
    ] {
        let e = r.query_drop(stmt).await.expect_err("reader must not write");
        assert!(is_access_denied(&e), "{stmt}: {e}");
    }
    let n: Option<i64> = r
        .query_first("SELECT COUNT(*) FROM online_feature_table")
        .await
        .expect("count");
    assert_eq!(n, Some(3));

    // Lookups go through the reader identity.
    let (_, reader_store) = open_reader(&cfg, Some("aurora"))
        .await
        .expect("reader store");
    let got = reader_store
        .lookup(
            "online_feature_table",
            &[vec![Value::Int(2)], vec![Value::Int(7)]],
            None,
        )
        .await
        .expect("lookup");
    assert_eq!(
        got.rows[0].as_ref().expect("key 2")[0],
        Value::String("female".into())
    );
    assert!(got.rows[1].is_none());

    // The writer cannot touch any other database.
    let mut w = connect_as(&writer, wpass.expose_secret(), Some(&db))
        .await
        .expect("writer connects");
    for stmt in [
        format!("SELECT * FROM `{other_db}`.t"),
        format!("INSERT INTO `{other_db}`.t VALUES (1)"),
        format!("DROP TABLE `{other_db}`.t"),
        format!("CREATE DATABASE `{db}_x`"),
        "SELECT * FROM mysql.user".to_string(),
    ] {
        let e = w
            .query_drop(stmt.clone())
            .await
            .expect_err("writer confined to its database");
        assert!(is_access_denied(&e), "{stmt}: {e}");
    }

    // Running init again changes nothing; --rotate changes both passwords.
    let again = init_online_store(&cfg, Some("aurora"), init_opts(&writer, &reader, false))
        .await
        .expect("second init");
    assert!(!again.provision.database_created && again.provision.users_created.is_empty());
    assert!(again.provision.passwords_set.is_empty() && again.secrets_written.is_empty());
    init_online_store(&cfg, Some("aurora"), init_opts(&writer, &reader, true))
        .await
        .expect("rotate");
    let new_rpass = secrets
        .get("aurora_reader", "aurora-password")
        .expect("rotated");
    assert_ne!(new_rpass.expose_secret(), rpass.expose_secret());
    let e = connect_as(&reader, rpass.expose_secret(), Some(&db))
        .await
        .expect_err("old password refused");
    assert!(is_access_denied(&e), "{e}");
    connect_as(&reader, new_rpass.expose_secret(), Some(&db))
        .await
        .expect("new password works");

    drop((r, w));
    for stmt in [
        format!("DROP DATABASE `{db}`"),
        format!("DROP DATABASE `{other_db}`"),
        format!("DROP USER '{writer}'@'%'"),
        format!("DROP USER '{reader}'@'%'"),
    ] {
        admin.query_drop(stmt).await.expect("cleanup");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_with_only_read_credentials_cannot_publish_and_fails_before_connecting() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = config(dir.path(), "feature_store", false);
    // An address that would hang or fail if anything tried to connect.
    if let Some(fstore_core::config::StoreConfig::Mysql(m)) = cfg.stores.get_mut("aurora") {
        m.host = "192.0.2.1".into();
        m.connect_timeout_secs = 30;
    }
    let started = std::time::Instant::now();
    let err = match open_writer(&cfg, Some("aurora")).await {
        Ok(_) => panic!("publishing identity must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("no write_secret_prefix") && err.contains("can serve but not publish"),
        "{err}"
    );
    assert!(started.elapsed().as_secs() < 5, "it tried to connect");

    // The reader identity is required for lookups and never falls back to the writer.
    let mut cfg = config(dir.path(), "feature_store", true);
    if let Some(fstore_core::config::StoreConfig::Mysql(m)) = cfg.stores.get_mut("aurora") {
        m.read_secret_prefix = None;
        m.host = "192.0.2.1".into();
    }
    let err = match open_reader(&cfg, Some("aurora")).await {
        Ok(_) => panic!("lookups need the read identity"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("no read_secret_prefix"), "{err}");

    // Missing secrets are named with the command that fixes them, before any connection.
    let cfg = config(dir.path(), "feature_store", true);
    let err = match open_writer(&cfg, Some("aurora")).await {
        Ok(_) => panic!("no secrets stored yet"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("aurora_reader") && err.contains("fstore secrets"),
        "{err}"
    );
}

/// The stored credentials of both users: (writer password, reader password).
fn stored_passwords(cfg: &Config, dir: &Path) -> (String, String) {
    let secrets = Secrets::from_config(&cfg.secrets, dir).expect("secrets");
    let get = |scope: &str| {
        secrets
            .get(scope, "aurora-password")
            .expect("stored password")
            .expose_secret()
            .to_string()
    };
    (get("aurora_writer"), get("aurora_reader"))
}

async fn assert_logs_in(user: &str, password: &str, db: &str) {
    let c = connect_as(user, password, Some(db))
        .await
        .unwrap_or_else(|e| panic!("{user} cannot log in with its stored password: {e}"));
    let _ = c.disconnect().await;
}

/// `online init --rotate` whose secrets cannot be saved changes nothing on the server: the old
/// credentials, still in the scopes, keep working; once the secrets are writable it rotates.
#[tokio::test(flavor = "multi_thread")]
async fn online_init_stores_new_passwords_before_changing_the_server() {
    let tag = short_hash("online_init_stores_new_passwords_before_changing_the_server");
    let db = format!("fstore_t_{tag}");
    let (writer, reader) = (format!("w_{tag}"), format!("r_{tag}"));
    let mut admin = root().await;
    for stmt in [
        format!("DROP DATABASE IF EXISTS `{db}`"),
        format!("DROP USER IF EXISTS '{writer}'@'%'"),
        format!("DROP USER IF EXISTS '{reader}'@'%'"),
    ] {
        admin.query_drop(stmt).await.expect("setup");
    }
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = config(dir.path(), &db, true);
    init_online_store(&cfg, Some("aurora"), init_opts(&writer, &reader, false))
        .await
        .expect("first online init");
    let (wpass, rpass) = stored_passwords(&cfg, dir.path());

    // The secrets file cannot be written (its lock file is a directory: this stops root too).
    let lock = dir.path().join("secrets.enc.lock");
    let _ = std::fs::remove_file(&lock);
    std::fs::create_dir(&lock).expect("lock dir");
    let e = init_online_store(&cfg, Some("aurora"), init_opts(&writer, &reader, true))
        .await
        .expect_err("rotating without a writable secrets file must fail")
        .to_string();
    assert!(
        e.contains("cannot store the new password") && e.contains("nothing was changed"),
        "{e}"
    );
    assert_eq!(
        stored_passwords(&cfg, dir.path()),
        (wpass.clone(), rpass.clone())
    );
    assert_logs_in(&writer, &wpass, &db).await;
    assert_logs_in(&reader, &rpass, &db).await;

    // Writable again: the rotation goes through and the stored passwords are the server's.
    std::fs::remove_dir(&lock).expect("remove lock dir");
    init_online_store(&cfg, Some("aurora"), init_opts(&writer, &reader, true))
        .await
        .expect("rotation");
    let (w2, r2) = stored_passwords(&cfg, dir.path());
    assert_ne!(w2, wpass);
    assert_logs_in(&writer, &w2, &db).await;
    assert_logs_in(&reader, &r2, &db).await;
    assert!(connect_as(&writer, &wpass, Some(&db)).await.is_err());

    for stmt in [
        format!("DROP DATABASE IF EXISTS `{db}`"),
        format!("DROP USER IF EXISTS '{writer}'@'%'"),
        format!("DROP USER IF EXISTS '{reader}'@'%'"),
    ] {
        admin.query_drop(stmt).await.expect("cleanup");
    }
}

/// A rotation the server refuses after the new passwords were stored (an administrator without
/// the privileges) puts the old secrets back: scopes and server agree, the old credentials work.
#[tokio::test(flavor = "multi_thread")]
async fn online_init_puts_the_secrets_back_when_the_server_refuses() {
    let tag = short_hash("online_init_puts_the_secrets_back_when_the_server_refuses");
    let db = format!("fstore_t_{tag}");
    let (writer, reader, weak) = (format!("w_{tag}"), format!("r_{tag}"), format!("a_{tag}"));
    let weak_password = "WeakAdmin0123456789";
    let mut admin = root().await;
    for stmt in [
        format!("DROP DATABASE IF EXISTS `{db}`"),
        format!("DROP USER IF EXISTS '{writer}'@'%'"),
        format!("DROP USER IF EXISTS '{reader}'@'%'"),
        format!("DROP USER IF EXISTS '{weak}'@'%'"),
        format!("CREATE USER '{weak}'@'%' IDENTIFIED BY '{weak_password}'"),
    ] {
        admin.query_drop(stmt).await.expect("setup");
    }
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = config(dir.path(), &db, true);
    init_online_store(&cfg, Some("aurora"), init_opts(&writer, &reader, false))
        .await
        .expect("first online init");
    let (wpass, rpass) = stored_passwords(&cfg, dir.path());

    let mut opts = init_opts(&writer, &reader, true);
    opts.admin_user = weak.clone();
    opts.admin_password = Secret::new(weak_password);
    let e = init_online_store(&cfg, Some("aurora"), opts)
        .await
        .expect_err("an administrator without privileges cannot rotate")
        .to_string();
    assert!(e.contains("secret scopes were put back"), "{e}");
    assert_eq!(
        stored_passwords(&cfg, dir.path()),
        (wpass.clone(), rpass.clone())
    );
    assert_logs_in(&writer, &wpass, &db).await;
    assert_logs_in(&reader, &rpass, &db).await;

    for stmt in [
        format!("DROP DATABASE IF EXISTS `{db}`"),
        format!("DROP USER IF EXISTS '{writer}'@'%'"),
        format!("DROP USER IF EXISTS '{reader}'@'%'"),
        format!("DROP USER IF EXISTS '{weak}'@'%'"),
    ] {
        admin.query_drop(stmt).await.expect("cleanup");
    }
}
