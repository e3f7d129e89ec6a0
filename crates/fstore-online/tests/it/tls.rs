//! TLS to MySQL for real: the test makes its own CA and a server certificate for `localhost`
//! with the `openssl` CLI, starts a second MariaDB server (`mariadbd`) on a free port with that
//! certificate, and checks that `verify-identity` connects with the right CA file and host name
//! and refuses a wrong host name, an unknown CA and a server without TLS (never falling back to
//! plaintext). Fails, never skips, when `mariadbd`, `mariadb-install-db` or `openssl` is missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fstore_core::config::{MysqlConfig, TlsMode};
use fstore_online::mysql::{MysqlOptions, MysqlStore};
use fstore_online::{OnlineReader, StoreErrorKind};
use mysql_async::prelude::Queryable;

const MARIADBD: &str = "/usr/sbin/mariadbd";

fn run(what: &str, cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {what} ({e}); install it (Debian: openssl, mariadb-server)")
    });
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`<name>.pem`, `<name>.key`) in `dir`.
fn make_ca(dir: &Path, name: &str) -> PathBuf {
    let (pem, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    run(
        "openssl req (CA)",
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-sha256",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&pem)
            .args(["-subj", &format!("/CN={name}")])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]),
    );
    pem
}

/// A server key and certificate for DNS name `localhost` only, signed by CA `ca`.
fn make_server_cert(dir: &Path, ca: &str) -> (PathBuf, PathBuf) {
    let (key, csr, pem, ext) = (
        dir.join("server.key"),
        dir.join("server.csr"),
        dir.join("server.pem"),
        dir.join("server.ext"),
    );
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(
        "openssl req (server)",
        Command::new("openssl")
            .args([
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr),
    );
    run(
        "openssl x509 (sign)",
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-sha256", "-set_serial", "2"])
            .arg("-in")
            .arg(&csr)
            .arg("-CA")
            .arg(dir.join(format!("{ca}.pem")))
            .arg("-CAkey")
            .arg(dir.join(format!("{ca}.key")))
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(&pem),
    );
    (pem, key)
}

/// A MariaDB server of the test's own, killed on drop.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Initialises `datadir` once (`mariadb-install-db`).
fn install_db(datadir: &Path) {
    if datadir.join("mysql").exists() {
        return;
    }
    run(
        "mariadb-install-db",
        Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", datadir.display()))
            .args([
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ]),
    );
}

/// Starts `mariadbd` on `datadir` (grant tables skipped: any user gets in), with TLS from
/// `tls` = (certificate, key, CA) or without TLS.
async fn start(dir: &Path, datadir: &Path, tls: Option<(&Path, &Path, &Path)>) -> Server {
    assert!(
        Path::new(MARIADBD).exists(),
        "{MARIADBD} is missing: this test starts its own MariaDB server; install mariadb-server"
    );
    let port = free_port();
    let log = dir.join(format!("mariadbd-{port}.log"));
    let mut cmd = Command::new(MARIADBD);
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", datadir.display()))
        .arg(format!(
            "--socket={}",
            dir.join(format!("s{port}.sock")).display()
        ))
        .arg(format!(
            "--pid-file={}",
            dir.join(format!("{port}.pid")).display()
        ))
        .arg(format!("--log-error={}", log.display()))
        .arg(format!("--port={port}"))
        .args([
            "--bind-address=127.0.0.1",
            "--skip-grant-tables",
            "--user=root",
            "--innodb-buffer-pool-size=16M",
            "--skip-log-bin",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match tls {
        Some((cert, key, ca)) => {
            cmd.arg(format!("--ssl-cert={}", cert.display()))
                .arg(format!("--ssl-key={}", key.display()))
                .arg(format!("--ssl-ca={}", ca.display()));
        }
        None => {
            cmd.arg("--skip-ssl");
        }
    }
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {MARIADBD} ({e})"));
    let mut server = Server { child, port, log };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let url = format!("mysql://root@127.0.0.1:{port}");
        if let Ok(Ok(conn)) =
            tokio::time::timeout(Duration::from_secs(5), mysql_async::Conn::from_url(url)).await
        {
            let _ = conn.disconnect().await;
            return server;
        }
        let exited = server.child.try_wait().ok().flatten();
        if exited.is_some() || Instant::now() > deadline {
            panic!(
                "mariadbd did not start on port {port} ({exited:?}):\n{}",
                std::fs::read_to_string(&server.log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn cfg(host: &str, port: u16, tls: TlsMode, ca: Option<&Path>) -> MysqlConfig {
    MysqlConfig {
        host: host.into(),
        port,
        database: "fstore_tls".into(),
        read_secret_prefix: None,
        write_secret_prefix: None,
        tls,
        tls_ca_file: ca.map(Path::to_path_buf),
        connect_timeout_secs: 10,
        pool_max: 2,
    }
}

/// TCP only, so that every connection is the TLS one (not the server's Unix socket).
fn tcp() -> MysqlOptions {
    MysqlOptions {
        tcp_only: true,
        ..MysqlOptions::default()
    }
}

async fn refused(cfg: &MysqlConfig) -> String {
    match MysqlStore::connect_with(cfg, "root", "", tcp()).await {
        Ok(s) => {
            let _ = s.close().await;
            panic!("tls = {:?} to {} was accepted", cfg.tls.as_str(), cfg.host)
        }
        Err(e) => {
            assert_eq!(e.kind, StoreErrorKind::Connection, "{}", e.message);
            e.message
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_identity_checks_the_ca_and_the_host_name_and_never_falls_back_to_plaintext() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let ca = make_ca(d, "test_ca");
    let other_ca = make_ca(d, "other_ca");
    let (cert, key) = make_server_cert(d, "test_ca");
    let datadir = d.join("data");
    install_db(&datadir);
    let server = start(d, &datadir, Some((&cert, &key, &ca))).await;
    let port = server.port;

    // The right CA file and the host name the certificate holds: connected, over TLS.
    let good = cfg("localhost", port, TlsMode::VerifyIdentity, Some(&ca));
    MysqlStore::create_database(&good, "root", "")
        .await
        .unwrap();
    let store = MysqlStore::connect_with(&good, "root", "", tcp())
        .await
        .unwrap_or_else(|e| panic!("verify-identity with the right CA: {}", e.message));
    assert!(store.server().tls);
    let mut conn = store.pool().get_conn().await.unwrap();
    let cipher: Option<(String, String)> = conn
        .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .await
        .unwrap();
    assert!(cipher.is_some_and(|(_, c)| !c.is_empty()), "no TLS cipher");
    drop(conn);
    store.health().await.unwrap();
    let _ = store.close().await;

    // The same server by a name its certificate does not hold.
    let e = refused(&cfg("127.0.0.1", port, TlsMode::VerifyIdentity, Some(&ca))).await;
    assert!(e.contains("not valid for name"), "{e}");
    // A CA file of another CA, and no CA file (the built-in web roots only).
    for ca_file in [Some(other_ca.as_path()), None] {
        let e = refused(&cfg("localhost", port, TlsMode::VerifyIdentity, ca_file)).await;
        assert!(e.contains("TLS") && e.contains("UnknownIssuer"), "{e}");
    }
    // A CA this machine trusts (its certificate store; here `SSL_CERT_FILE`) is trusted without
    // a tls_ca_file. The environment is the child process's own (see `trusts_the_os_store`).
    let child = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "tls::trusts_the_os_store",
            "--ignored",
            "--nocapture",
        ])
        .env("SSL_CERT_FILE", &ca)
        .env("FSTORE_TEST_TLS_PORT", port.to_string())
        .output()
        .expect("running the test binary again");
    let printed = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success() && printed.contains("1 passed"),
        "verify-identity with the CA in the machine's store:\n{printed}{}",
        String::from_utf8_lossy(&child.stderr)
    );
    // `required` encrypts without checking the certificate.
    let store = MysqlStore::connect_with(
        &cfg("127.0.0.1", port, TlsMode::Required, None),
        "root",
        "",
        tcp(),
    )
    .await
    .unwrap();
    assert!(store.server().tls);
    let _ = store.close().await;
    // The administrator connection of `online init` verifies the same way.
    let Err(e) = fstore_online::mysql::admin::admin_connect(
        &cfg("127.0.0.1", port, TlsMode::VerifyIdentity, Some(&ca)),
        "root",
        "",
    )
    .await
    else {
        panic!("admin connection by a wrong name is refused");
    };
    assert!(e.message.contains("not valid for name"), "{}", e.message);
    drop(server);

    // The same server without TLS: refused by verify-identity and required, never plaintext.
    let plain = start(d, &datadir, None).await;
    for tls in [TlsMode::VerifyIdentity, TlsMode::Required] {
        let ca_file = (tls == TlsMode::VerifyIdentity).then_some(ca.as_path());
        let e = refused(&cfg("localhost", plain.port, tls, ca_file)).await;
        assert!(e.contains("does not offer TLS"), "{e}");
    }
    let moved = MysqlConfig {
        port: plain.port,
        ..good.clone()
    };
    let Err(e) = MysqlStore::create_database(&moved, "root", "").await else {
        panic!("create_database without TLS is refused");
    };
    assert!(e.message.contains("does not offer TLS"), "{}", e.message);
    drop(plain);
}

/// Run only by `verify_identity_checks_the_ca_and_the_host_name_and_never_falls_back_to_plaintext`,
/// in a process of its own whose `SSL_CERT_FILE` names the test CA: `verify-identity` without a
/// tls_ca_file connects to the test server through the machine's CA store alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the verify-identity test, in a child process with SSL_CERT_FILE set"]
async fn trusts_the_os_store() {
    let port: u16 = std::env::var("FSTORE_TEST_TLS_PORT")
        .expect("FSTORE_TEST_TLS_PORT: this test is run by the verify-identity test")
        .parse()
        .expect("a port");
    let store = MysqlStore::connect_with(
        &cfg("localhost", port, TlsMode::VerifyIdentity, None),
        "root",
        "",
        tcp(),
    )
    .await
    .unwrap_or_else(|e| panic!("verify-identity through the OS store: {}", e.message));
    assert!(store.server().tls);
    let _ = store.close().await;
}

/// A `preferred` store off the machine is refused before any
/// connection (it would fall back to plaintext), whatever the config parser let through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferred_is_refused_for_a_host_that_is_not_loopback() {
    let e = MysqlStore::connect_with(
        &cfg("192.0.2.1", 3306, TlsMode::Preferred, None),
        "root",
        "",
        MysqlOptions::default(),
    )
    .await
    .err()
    .expect("refused");
    assert_eq!(e.kind, StoreErrorKind::BadRequest, "{}", e.message);
    assert!(e.message.contains("loopback"), "{}", e.message);
}

/// A CA file that is missing or holds no certificate is named before any connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_ca_file_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    for path in [dir.path().join("absent.pem"), junk] {
        let e = MysqlStore::connect_with(
            &cfg("192.0.2.1", 3306, TlsMode::VerifyIdentity, Some(&path)),
            "root",
            "",
            MysqlOptions::default(),
        )
        .await
        .err()
        .expect("refused");
        assert_eq!(e.kind, StoreErrorKind::BadRequest, "{}", e.message);
        assert!(
            e.message.contains(&path.display().to_string()),
            "{}",
            e.message
        );
    }
}
