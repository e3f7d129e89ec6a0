//! Helpers of the PostgreSQL `online init` tests: the server (`FSTORE_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432`), per-test names, raw connections as any role, a config
//! with a `pg` store, and the check that a role's SCRAM verifier on the server belongs to a
//! password. An unreachable server fails the test with instructions; it never skips.
//!
//! The local server trusts every connection from 127.0.0.1, so logging in as a role does not
//! check its password there: the privileges are checked for real, the passwords through the
//! verifiers the server stores.

use std::path::Path;

use base64::Engine;
use fstore_core::config::Config;
use fstore_publish::init::InitOptions;
use fstore_secrets::{Secret, SecretStore, Secrets};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

pub use fstore_test_support::pg::connect_as;

fn host_port() -> (String, u16) {
    let s = fstore_test_support::pg::server();
    (s.host, s.port)
}

/// The server URL's user (a superuser: it sets up and cleans up).
pub fn superuser() -> (String, String) {
    let s = fstore_test_support::pg::server();
    (s.user, s.password)
}

/// A tag naming the databases and roles of one test (roles are cluster-wide: they must differ
/// between tests that run at the same time).
pub fn tag(test: &str) -> String {
    format!(
        "{:08x}",
        fstore_test_support::fnv(&format!("fstore-publish::{test}"))
    )
}

/// The superuser on `database`; fails the test with instructions when the server is unreachable.
pub async fn admin(database: &str) -> Client {
    fstore_test_support::pg::client(database).await
}

/// Drops `databases` (disconnecting their sessions) and then `roles`.
pub async fn drop_all(databases: &[&str], roles: &[&str]) {
    let su = admin("postgres").await;
    for db in databases {
        su.batch_execute(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
            .await
            .expect("drop database");
    }
    for role in roles {
        su.batch_execute(&format!("DROP ROLE IF EXISTS \"{role}\""))
            .await
            .unwrap_or_else(|e| panic!("drop role {role}: {e}"));
    }
}

/// The SQLSTATE of a failed statement, or a panic naming what unexpectedly succeeded.
pub fn sqlstate<T>(r: Result<T, tokio_postgres::Error>, what: &str) -> String {
    match r {
        Ok(_) => panic!("{what}: succeeded but must be refused"),
        Err(e) => e
            .code()
            .map(|c| c.code().to_string())
            .unwrap_or_else(|| panic!("{what}: failed without a server error: {e}")),
    }
}

/// `42501` insufficient_privilege.
pub const DENIED: &str = "42501";

/// Asserts that every statement is refused for lack of a privilege.
pub async fn assert_denied(c: &Client, who: &str, statements: &[String]) {
    for sql in statements {
        let code = sqlstate(c.batch_execute(sql).await, &format!("{who}: {sql}"));
        assert_eq!(code, DENIED, "{who}: {sql}");
    }
}

/// A config whose stores `pg`, `pg2`, … point at the test server: (name, database, schema).
pub fn config(dir: &Path, stores: &[(&str, &str, Option<&str>)]) -> Config {
    let (host, port) = host_port();
    let mut text =
        "[offline]\nroot = \"offline\"\n[secrets]\nbackend = \"local\"\npath = \"secrets.enc\"\n"
            .to_string();
    for (name, db, schema) in stores {
        text.push_str(&format!(
            "[stores.{name}]\nkind = \"postgres\"\nhost = \"{host}\"\nport = {port}\ndatabase = \"{db}\"\nread_secret_prefix = \"{name}_reader/{name}\"\nwrite_secret_prefix = \"{name}_writer/{name}\"\ntls = \"preferred\"\n"
        ));
        if let Some(s) = schema {
            text.push_str(&format!("schema = \"{s}\"\n"));
        }
    }
    Config::parse(&text, &dir.join("fstore.toml")).expect("test config parses")
}

/// Init options with the superuser as administrator.
pub fn init_opts(writer: &str, reader: &str, rotate: bool) -> InitOptions {
    let (user, password) = superuser();
    InitOptions {
        admin_user: user,
        admin_password: Secret::new(password),
        writer_user: writer.into(),
        reader_user: reader.into(),
        user_host: None,
        rotate,
    }
}

/// The stored (user, password) of store `store`'s `identity` ("writer" or "reader").
pub fn stored(cfg: &Config, dir: &Path, store: &str, identity: &str) -> Option<(String, String)> {
    let secrets = Secrets::from_config(&cfg.secrets, dir).expect("secrets");
    let scope = format!("{store}_{identity}");
    let user = secrets.get(&scope, &format!("{store}-user")).ok()?;
    let password = secrets.get(&scope, &format!("{store}-password")).ok()?;
    Some((
        user.expose_secret().to_string(),
        password.expose_secret().to_string(),
    ))
}

/// The password verifier the server keeps for `role`.
pub async fn verifier(role: &str) -> Option<String> {
    admin("postgres")
        .await
        .query_one(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
            &[&role],
        )
        .await
        .expect("read pg_authid")
        .get(0)
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key size");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// Does the SCRAM-SHA-256 verifier `v` (`SCRAM-SHA-256$iter:salt$StoredKey:ServerKey`, RFC
/// 5802/7677) belong to `password` (letters and digits: SASLprep leaves it as it is)?
pub fn verifier_matches(v: &str, password: &str) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some(rest) = v.strip_prefix("SCRAM-SHA-256$") else {
        return false;
    };
    let Some((params, keys)) = rest.split_once('$') else {
        return false;
    };
    let (Some((iter, salt)), Some((stored_key, server_key))) =
        (params.split_once(':'), keys.split_once(':'))
    else {
        return false;
    };
    let (Ok(iter), Ok(salt)) = (iter.parse::<u32>(), b64.decode(salt)) else {
        return false;
    };
    // PBKDF2-HMAC-SHA-256, one block.
    let mut u = hmac(
        password.as_bytes(),
        &[salt.as_slice(), &[0, 0, 0, 1]].concat(),
    );
    let mut salted = u.clone();
    for _ in 1..iter {
        u = hmac(password.as_bytes(), &u);
        for (s, x) in salted.iter_mut().zip(&u) {
            *s ^= x;
        }
    }
    let client_key = hmac(&salted, b"Client Key");
    let want_stored = Sha256::digest(&client_key).to_vec();
    let want_server = hmac(&salted, b"Server Key");
    b64.decode(stored_key).ok() == Some(want_stored)
        && b64.decode(server_key).ok() == Some(want_server)
}

/// Asserts that the server's verifier for `role` belongs to `password`: the password in the
/// scope is the one that logs in wherever passwords are checked.
pub async fn assert_password_is(role: &str, password: &str) {
    let v = verifier(role)
        .await
        .unwrap_or_else(|| panic!("role {role} has no password"));
    assert!(
        verifier_matches(&v, password),
        "the server's verifier of {role} does not belong to the stored password"
    );
}
