//! The `local` backend end to end: round trips, key handling, wrong keys, tampering, missing
//! scopes and keys, and that the file never holds a plaintext name or value.

use std::fs;
use std::path::Path;

use fstore_core::config::{SecretsBackend, SecretsConfig};
use fstore_core::secret_prefix::SecretPrefix;
use fstore_secrets::{Error, LocalStore, MasterKey, Secret, SecretStore, Secrets, credentials};

const VALUE: &str = "s3cr3t-Value-that-must-never-leak";

fn key_file_store(dir: &Path) -> LocalStore {
    LocalStore::new(
        dir.join("secrets.enc"),
        MasterKey::KeyFile(dir.join("secrets.key")),
    )
}

fn walkthrough(store: &impl SecretStore) {
    assert!(store.create_scope("aurora_writer").unwrap());
    store
        .put("aurora_writer", "aurora-user", "writer".into())
        .unwrap();
    store
        .put("aurora_writer", "aurora-password", VALUE.into())
        .unwrap();
}

#[test]
fn round_trip_with_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = key_file_store(dir.path());
    assert!(
        store.list_scopes().unwrap().is_empty(),
        "a missing file is an empty store"
    );
    walkthrough(&store);
    assert!(
        !store.create_scope("aurora_writer").unwrap(),
        "creating twice is a no-op"
    );
    store.create_scope("aurora_reader").unwrap();

    // A fresh instance (as another process would) reads what the first wrote.
    let again = key_file_store(dir.path());
    assert_eq!(
        again.list_scopes().unwrap(),
        ["aurora_reader", "aurora_writer"]
    );
    assert_eq!(
        again.list("aurora_writer").unwrap(),
        ["aurora-password", "aurora-user"]
    );
    assert_eq!(
        again
            .get("aurora_writer", "aurora-password")
            .unwrap()
            .expose_secret(),
        VALUE
    );

    again
        .put("aurora_writer", "aurora-password", "rotated".into())
        .unwrap();
    assert_eq!(
        store
            .get("aurora_writer", "aurora-password")
            .unwrap()
            .expose_secret(),
        "rotated"
    );

    store.delete("aurora_writer", "aurora-user").unwrap();
    assert_eq!(store.list("aurora_writer").unwrap(), ["aurora-password"]);
    store.delete_scope("aurora_writer").unwrap();
    assert_eq!(store.list_scopes().unwrap(), ["aurora_reader"]);
    assert!(matches!(
        store.delete_scope("aurora_writer"),
        Err(Error::MissingScope { .. })
    ));
    assert!(matches!(
        store.delete("aurora_reader", "nope"),
        Err(Error::MissingKey { .. })
    ));
}

#[cfg(unix)]
#[test]
fn key_file_is_private_and_random() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    walkthrough(&key_file_store(dir.path()));
    let key = dir.path().join("secrets.key");
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(fs::read(&key).unwrap().len(), 32);
    let file = dir.path().join("secrets.enc");
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A key file others can read is refused, like ssh does.
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let msg = key_file_store(dir.path())
        .get("aurora_writer", "aurora-user")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("chmod 600"), "{msg}");
}

#[test]
fn missing_key_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    walkthrough(&key_file_store(dir.path()));
    fs::remove_file(dir.path().join("secrets.key")).unwrap();
    let msg = key_file_store(dir.path())
        .get("aurora_writer", "aurora-user")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("secrets.key") && msg.contains("is missing"),
        "{msg}"
    );
}

#[test]
fn the_file_holds_no_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let store = key_file_store(dir.path());
    walkthrough(&store);
    let bytes = fs::read(dir.path().join("secrets.enc")).unwrap();
    for needle in [
        VALUE,
        "writer",
        "aurora_writer",
        "aurora-password",
        "aurora-user",
    ] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "`{needle}` appears in the secrets file"
        );
    }
    // A fresh nonce per save: the same content encrypts differently.
    store
        .put("aurora_writer", "aurora-user", "writer".into())
        .unwrap();
    assert_ne!(fs::read(dir.path().join("secrets.enc")).unwrap(), bytes);
}

#[test]
fn master_key_round_trip_and_wrong_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.enc");
    let store = LocalStore::new(
        &path,
        MasterKey::Passphrase("correct horse battery staple".into()),
    );
    walkthrough(&store);
    assert!(
        !dir.path().join("secrets.key").exists(),
        "no key file with a master key"
    );
    assert_eq!(
        store
            .get("aurora_writer", "aurora-password")
            .unwrap()
            .expose_secret(),
        VALUE
    );

    let wrong = LocalStore::new(
        &path,
        MasterKey::Passphrase("Correct horse battery staple".into()),
    );
    let err = wrong.get("aurora_writer", "aurora-password").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot decrypt {}: wrong FSTORE_MASTER_KEY or the file was modified",
            path.display()
        )
    );
    // A failed decrypt never turns into a write: the file is unchanged and still readable.
    assert!(
        wrong
            .put("aurora_writer", "aurora-user", "x".into())
            .is_err()
    );
    assert_eq!(
        store
            .get("aurora_writer", "aurora-user")
            .unwrap()
            .expose_secret(),
        "writer"
    );

    // The key file cannot open a file made with a master key either.
    let msg = key_file_store(dir.path())
        .list_scopes()
        .unwrap_err()
        .to_string();
    assert!(msg.contains("is missing"), "{msg}");
}

#[test]
fn wrong_key_file() {
    let dir = tempfile::tempdir().unwrap();
    walkthrough(&key_file_store(dir.path()));
    let other = tempfile::tempdir().unwrap();
    walkthrough(&key_file_store(other.path()));
    fs::copy(
        other.path().join("secrets.key"),
        dir.path().join("secrets.key"),
    )
    .unwrap();
    let msg = key_file_store(dir.path())
        .get("aurora_writer", "aurora-user")
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("cannot decrypt ")
            && msg.contains("wrong key file")
            && msg.ends_with("or the file was modified"),
        "{msg}"
    );
}

#[test]
fn every_tampered_byte_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = key_file_store(dir.path());
    walkthrough(&store);
    let path = dir.path().join("secrets.enc");
    let good = fs::read(&path).unwrap();
    // Header fields (KDF parameters aside, which are range-checked first), nonce, ciphertext, tag.
    for i in [20, 35, 36, 59, 60, good.len() / 2, good.len() - 1] {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        fs::write(&path, &bad).unwrap();
        let err = store.get("aurora_writer", "aurora-password").unwrap_err();
        assert!(matches!(err, Error::Decrypt { .. }), "byte {i}: {err}");
        assert_eq!(
            err.to_string(),
            format!(
                "cannot decrypt {}: wrong key file {} (FSTORE_MASTER_KEY is not set) or the file was modified",
                path.display(),
                dir.path().join("secrets.key").display()
            )
        );
    }
    for (what, bad) in [
        ("magic", {
            let mut b = good.clone();
            b[0] ^= 1;
            b
        }),
        ("truncated", good[..40].to_vec()),
        ("kdf cost", {
            let mut b = good.clone();
            b[11] = 0xff;
            b
        }),
    ] {
        fs::write(&path, &bad).unwrap();
        let msg = store.list_scopes().unwrap_err().to_string();
        assert!(
            msg.contains("the file was modified or is not an fstore secrets file"),
            "{what}: {msg}"
        );
    }
    fs::write(&path, &good).unwrap();
    assert_eq!(
        store
            .get("aurora_writer", "aurora-password")
            .unwrap()
            .expose_secret(),
        VALUE
    );
}

#[test]
fn missing_scope_and_key_name_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let store = key_file_store(dir.path());
    let msg = store
        .get("aurora_writer", "aurora-password")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("secret scope `aurora_writer` does not exist")
            && msg.contains("`fstore secrets create-scope aurora_writer`")
            && msg.contains("`fstore secrets put --scope aurora_writer --key aurora-password`"),
        "{msg}"
    );
    let msg = store
        .put("aurora_writer", "aurora-user", "x".into())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("fstore secrets create-scope aurora_writer"),
        "{msg}"
    );

    store.create_scope("aurora_writer").unwrap();
    let msg = store
        .get("aurora_writer", "aurora-password")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("no secret `aurora-password` in scope `aurora_writer`")
            && msg.contains("`fstore secrets put --scope aurora_writer --key aurora-password`"),
        "{msg}"
    );
    let msg = store
        .put("aurora_writer", "aurora-user", Secret::new(""))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("empty value"), "{msg}");
    let msg = store.get("aurora writer", "k").unwrap_err().to_string();
    assert!(
        msg.contains("invalid secret scope name `aurora writer`"),
        "{msg}"
    );
}

#[test]
fn credentials_follow_the_prefix_convention() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SecretsConfig {
        backend: SecretsBackend::Local,
        path: None,
    };
    // The default file lives in the data directory.
    let secrets = Secrets::from_config(&cfg, dir.path()).unwrap();
    let Secrets::Local(local) = &secrets else {
        panic!("local backend expected")
    };
    assert_eq!(local.path(), dir.path().join("secrets.enc"));
    walkthrough(&secrets);

    let prefix = SecretPrefix::parse("aurora_writer/aurora").unwrap();
    let creds = credentials(&secrets, &prefix).unwrap();
    assert_eq!(creds.user, "writer");
    assert_eq!(creds.password.expose_secret(), VALUE);
    assert!(!format!("{creds:?}").contains(VALUE));

    let reader = SecretPrefix::parse("aurora_reader/aurora").unwrap();
    let msg = credentials(&secrets, &reader).unwrap_err().to_string();
    assert!(
        msg.contains("fstore secrets create-scope aurora_reader")
            && msg.contains("fstore secrets put --scope aurora_reader --key aurora-user"),
        "{msg}"
    );
    secrets.create_scope("aurora_reader").unwrap();
    secrets
        .put("aurora_reader", "aurora-user", "reader".into())
        .unwrap();
    let msg = credentials(&secrets, &reader).unwrap_err().to_string();
    assert!(
        msg.contains("fstore secrets put --scope aurora_reader --key aurora-password"),
        "{msg}"
    );

    // An explicit path wins.
    let cfg = SecretsConfig {
        backend: SecretsBackend::Local,
        path: Some(dir.path().join("elsewhere.enc")),
    };
    let Secrets::Local(local) = Secrets::from_config(&cfg, dir.path()).unwrap() else {
        panic!("local backend expected")
    };
    assert_eq!(local.path(), dir.path().join("elsewhere.enc"));
}

#[test]
fn check_put_refuses_before_a_value_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = Secrets::Local(key_file_store(dir.path()));
    let msg = secrets
        .check_put("aurora_writer", "aurora-password")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("fstore secrets create-scope aurora_writer")
            && msg.contains("--key aurora-password"),
        "{msg}"
    );
    assert!(secrets.check_put("aurora_writer", "bad key").is_err());
    secrets.create_scope("aurora_writer").unwrap();
    secrets
        .check_put("aurora_writer", "aurora-password")
        .unwrap();
}
