//! No secret value (nor the master key) ever appears in `Debug`, `Display` or an error message:
//! every error this crate can return is produced here with values in play and checked.

use std::fs;
use std::path::Path;

use fstore_core::secret_prefix::SecretPrefix;
use fstore_secrets::{
    Credentials, EnvStore, Error, LocalStore, MasterKey, Secret, SecretStore, Secrets, credentials,
};

const VALUE: &str = "pw-Zq8!never-print-me";
const MASTER: &str = "master-Kx3-never-print-me";

fn assert_clean(what: &str, text: &str) {
    for needle in [VALUE, MASTER] {
        assert!(!text.contains(needle), "{what} leaks a secret: {text}");
    }
}

fn assert_error_clean(err: &Error) {
    assert_clean("Display", &err.to_string());
    assert_clean("Debug", &format!("{err:?}"));
    assert_clean("Debug (alternate)", &format!("{err:#?}"));
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        assert_clean("source", &s.to_string());
        source = s.source();
    }
}

fn local(dir: &Path, master: &str) -> LocalStore {
    LocalStore::new(
        dir.join("secrets.enc"),
        MasterKey::Passphrase(master.into()),
    )
}

#[test]
fn secret_and_credentials_are_redacted() {
    let s = Secret::from(VALUE);
    for text in [format!("{s}"), format!("{s:?}"), format!("{s:#?}")] {
        assert_eq!(text, "Secret(***)");
    }
    let c = Credentials {
        user: "writer".into(),
        password: VALUE.into(),
    };
    assert_clean("Credentials", &format!("{c:?}"));
    assert_clean("Credentials", &format!("{c:#?}"));
    assert!(
        format!("{c:?}").contains("writer"),
        "the user name is not secret"
    );
}

#[test]
fn stores_are_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Secrets::Local(local(dir.path(), MASTER));
    store.create_scope("s").unwrap();
    store.put("s", "k", VALUE.into()).unwrap();
    store.get("s", "k").unwrap();
    assert_clean("Secrets", &format!("{store:#?}"));
    assert_clean("describe", &store.describe());
    let env = Secrets::Env(EnvStore::with_vars([("FSTORE_SECRET_S_K", VALUE)]));
    assert_clean("EnvStore", &format!("{env:#?}"));
    assert_clean(
        "MasterKey",
        &format!("{:?}", MasterKey::Passphrase(MASTER.into())),
    );
}

#[test]
fn every_error_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.enc");
    let store = local(dir.path(), MASTER);
    let mut errors: Vec<Error> = Vec::new();

    store.create_scope("aurora_writer").unwrap();
    store
        .put("aurora_writer", "aurora-password", VALUE.into())
        .unwrap();
    let prefix = SecretPrefix::parse("aurora_writer/aurora").unwrap();

    errors.push(store.put("bad scope", "k", VALUE.into()).unwrap_err()); // InvalidName
    errors.push(store.put("nope", "k", VALUE.into()).unwrap_err()); // MissingScope
    errors.push(credentials(&store, &prefix).unwrap_err()); // MissingKey
    errors.push(
        store
            .put("aurora_writer", "k", Secret::new(""))
            .unwrap_err(),
    ); // EmptyValue
    errors.push(
        local(dir.path(), VALUE)
            .get("aurora_writer", "aurora-password")
            .unwrap_err(),
    ); // Decrypt

    let good = fs::read(&path).unwrap();
    let mut bad = good.clone();
    bad[0] ^= 1;
    fs::write(&path, &bad).unwrap();
    errors.push(store.get("aurora_writer", "aurora-password").unwrap_err()); // Corrupt
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    fs::write(&path, &bad).unwrap();
    errors.push(store.get("aurora_writer", "aurora-password").unwrap_err()); // Decrypt (tampered)
    fs::write(&path, &good).unwrap();

    let kf = LocalStore::new(&path, MasterKey::KeyFile(dir.path().join("secrets.key")));
    errors.push(kf.get("aurora_writer", "aurora-password").unwrap_err()); // KeyFile
    fs::write(dir.path().join("dir-not-file"), "x").unwrap();
    let io = LocalStore::new(
        dir.path().join("dir-not-file").join("secrets.enc"),
        MasterKey::Passphrase(MASTER.into()),
    );
    errors.push(io.create_scope("s").unwrap_err()); // Io

    let env = EnvStore::with_vars([("FSTORE_SECRET_AURORA_WRITER_AURORA_USER", VALUE)]);
    errors.push(env.get("aurora_writer", "aurora-password").unwrap_err()); // EnvMissing
    errors.push(
        env.put("aurora_writer", "aurora-user", VALUE.into())
            .unwrap_err(),
    ); // EnvReadOnly
    errors.push(env.delete("aurora_writer", "aurora-user").unwrap_err());
    errors.push(env.list_scopes().unwrap_err()); // EnvCannotList
    errors.push(credentials(&env, &prefix).unwrap_err());

    // Variants that need a hostile environment are built directly: their messages are static.
    errors.push(Error::EnvNotUnicode {
        var: "FSTORE_SECRET_S_K".into(),
    });
    errors.push(Error::MasterKey {
        reason: "is not valid UTF-8",
    });
    errors.push(Error::Crypto("no randomness from the OS".into()));

    let kinds: std::collections::BTreeSet<_> = errors
        .iter()
        .map(|e| {
            format!("{e:?}")
                .split([' ', '(', '{'])
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(kinds.len(), 14, "every variant covered: {kinds:?}");
    for e in &errors {
        assert_error_clean(e);
    }
}
