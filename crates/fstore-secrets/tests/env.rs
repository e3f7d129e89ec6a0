//! The `env` backend: variable naming, read-only errors, and the real process environment (checked
//! in a child process, since the test cannot set variables in its own).

use std::process::Command;

use fstore_core::config::{SecretsBackend, SecretsConfig};
use fstore_core::secret_prefix::SecretPrefix;
use fstore_secrets::{EnvStore, Error, SecretStore, Secrets, credentials};

#[test]
fn reads_fstore_secret_scope_key() {
    let store = EnvStore::with_vars([
        ("FSTORE_SECRET_AURORA_READER_AURORA_USER", "reader"),
        (
            "FSTORE_SECRET_AURORA_READER_AURORA_PASSWORD",
            "env-value-42",
        ),
        ("FSTORE_SECRET_AURORA_WRITER_AURORA_USER", ""),
    ]);
    assert_eq!(
        store
            .get("aurora_reader", "aurora-user")
            .unwrap()
            .expose_secret(),
        "reader"
    );
    let creds = credentials(
        &store,
        &SecretPrefix::parse("aurora_reader/aurora").unwrap(),
    )
    .unwrap();
    assert_eq!(creds.user, "reader");
    assert_eq!(creds.password.expose_secret(), "env-value-42");

    // Missing and empty variables name the variable to set.
    for key in ["aurora-user", "aurora-password"] {
        let err = store.get("aurora_writer", key).unwrap_err();
        assert!(matches!(err, Error::EnvMissing { .. }));
        let var = EnvStore::var_name("aurora_writer", key);
        assert!(err.to_string().contains(&var), "{err}");
    }
    assert_eq!(
        store
            .get("aurora_writer", "aurora-password")
            .unwrap_err()
            .to_string(),
        "secret `aurora-password` in scope `aurora_writer` is not set: the env secrets backend reads it \
         from the environment variable FSTORE_SECRET_AURORA_WRITER_AURORA_PASSWORD, which is unset or empty"
    );
}

#[test]
fn is_read_only_with_a_hint() {
    let store = Secrets::Env(EnvStore::with_vars::<String, String>([]));
    assert!(store.is_read_only());
    let msg = store
        .put("aurora_writer", "aurora-user", "x".into())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("read-only")
            && msg.contains("set the environment variable FSTORE_SECRET_AURORA_WRITER_AURORA_USER"),
        "{msg}"
    );
    let msg = store
        .delete("aurora_writer", "aurora-user")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("unset the environment variable FSTORE_SECRET_AURORA_WRITER_AURORA_USER"),
        "{msg}"
    );
    let msg = store.create_scope("aurora_writer").unwrap_err().to_string();
    assert!(msg.contains("FSTORE_SECRET_AURORA_WRITER_<KEY>"), "{msg}");
    let msg = store.delete_scope("aurora_writer").unwrap_err().to_string();
    assert!(msg.contains("FSTORE_SECRET_AURORA_WRITER_*"), "{msg}");
    assert!(matches!(
        store.list_scopes(),
        Err(Error::EnvCannotList { .. })
    ));
    assert!(matches!(
        store.list("aurora_writer"),
        Err(Error::EnvCannotList { .. })
    ));
}

/// Run by [`process_environment`] in a child with the variables set.
#[test]
#[ignore = "run as a child process by process_environment"]
fn process_environment_child() {
    if std::env::var_os("FSTORE_SECRETS_TEST_CHILD").is_none() {
        return;
    }
    let cfg = SecretsConfig {
        backend: SecretsBackend::Env,
        path: None,
    };
    let store = Secrets::from_config(&cfg, std::path::Path::new("unused")).unwrap();
    let creds = credentials(
        &store,
        &SecretPrefix::parse("aurora_writer/aurora").unwrap(),
    )
    .unwrap();
    assert_eq!(creds.user, "writer");
    assert_eq!(creds.password.expose_secret(), "from-the-process-env");
    assert!(store.get("aurora_writer", "other").is_err());
}

#[test]
fn process_environment() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "process_environment_child",
            "--ignored",
            "--test-threads=1",
        ])
        .env("FSTORE_SECRETS_TEST_CHILD", "1")
        .env("FSTORE_SECRET_AURORA_WRITER_AURORA_USER", "writer")
        .env(
            "FSTORE_SECRET_AURORA_WRITER_AURORA_PASSWORD",
            "from-the-process-env",
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[test]
fn check_put_reports_read_only() {
    let store = Secrets::Env(EnvStore::with_vars::<String, String>([]));
    let msg = store.check_put("s", "k").unwrap_err().to_string();
    assert!(
        msg.contains("read-only") && msg.contains("FSTORE_SECRET_S_K"),
        "{msg}"
    );
}
