//! Concurrent writers to one local secrets file lose nothing: two threads and two processes each
//! put 50 keys, then all 100 are there.

use std::path::Path;
use std::process::Command;

use fstore_secrets::{LocalStore, MasterKey, SecretStore};

const PER_WRITER: usize = 50;

fn store(dir: &Path) -> LocalStore {
    LocalStore::new(
        dir.join("secrets.enc"),
        MasterKey::KeyFile(dir.join("secrets.key")),
    )
}

fn put_many(dir: &Path, writer: &str) {
    let s = store(dir);
    s.create_scope("shared").unwrap();
    for i in 0..PER_WRITER {
        s.put(
            "shared",
            &format!("{writer}-{i}"),
            format!("value-{writer}-{i}").into(),
        )
        .unwrap();
    }
}

fn check(dir: &Path, writers: &[&str]) {
    let s = store(dir);
    let keys = s.list("shared").unwrap();
    assert_eq!(
        keys.len(),
        writers.len() * PER_WRITER,
        "lost updates: {keys:?}"
    );
    for w in writers {
        for i in 0..PER_WRITER {
            let v = s.get("shared", &format!("{w}-{i}")).unwrap();
            assert_eq!(v.expose_secret(), format!("value-{w}-{i}"));
        }
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left behind: {leftovers:?}"
    );
}

#[test]
fn two_threads_each_put_50() {
    let dir = tempfile::tempdir().unwrap();
    std::thread::scope(|s| {
        for w in ["a", "b"] {
            let d = dir.path();
            s.spawn(move || put_many(d, w));
        }
    });
    check(dir.path(), &["a", "b"]);
}

/// Run by [`two_processes_each_put_50`] in child processes.
#[test]
#[ignore = "run as a child process by two_processes_each_put_50"]
fn writer_child() {
    let (Some(dir), Some(name)) = (
        std::env::var_os("FSTORE_SECRETS_TEST_DIR"),
        std::env::var_os("FSTORE_SECRETS_TEST_WRITER"),
    ) else {
        return;
    };
    put_many(Path::new(&dir), name.to_str().unwrap());
}

#[test]
fn two_processes_each_put_50() {
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<_> = ["p", "q"]
        .into_iter()
        .map(|w| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "writer_child", "--ignored", "--test-threads=1"])
                .env("FSTORE_SECRETS_TEST_DIR", dir.path())
                .env("FSTORE_SECRETS_TEST_WRITER", w)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("1 passed"), "{stdout}");
    }
    check(dir.path(), &["p", "q"]);
}
