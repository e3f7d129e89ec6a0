//! `fstore publish --watch`: a watcher follows a table while `tables write` commits new versions
//! (updates, inserts, and deletes by overwrite); the online table converges to the last version
//! within a bounded time; SIGTERM stops the watcher cleanly (exit 0, record consistent).

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::crash::{Project, Rng, Row, Store, TABLE, change, row};

/// How long the online table may take to catch up with the last write.
const MAX_LAG: Duration = Duration::from_secs(60);

fn stop(child: &mut Child, signal: &str) -> (i32, String) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} failed");
    let deadline = Instant::now() + Duration::from_secs(30);
    let code = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s.code().unwrap_or(-1);
        }
        assert!(
            Instant::now() < deadline,
            "the watcher did not stop within 30 s of SIG{signal}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    (code, err)
}

fn watch_follows_writes(store: Store, signal: &str) {
    let p = Project::new(store, &format!("watch_follows_writes_{store:?}"));
    let mut rng = Rng::seeded();
    let mut model: BTreeMap<i64, Row> = (1..=2_000).map(|id| (id, row(id, 0))).collect();
    p.write_rows(&model, true, "merge");
    let mut watcher = p
        .cmd(&["publish", TABLE, "--watch", "--interval", "200ms"])
        .env("FSTORE_LOG", "fstore_publish=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the watcher");

    for round in 1..=6 {
        change(&p, &mut model, &mut rng, round);
        std::thread::sleep(Duration::from_millis(rng.below(300)));
    }
    let (last_version, _) = p.offline_rows();
    let written = Instant::now();
    loop {
        let (recorded, online) = p.online_rows();
        if recorded == Some(last_version) {
            p.assert_in_sync("watcher caught up");
            assert!(online.is_some());
            break;
        }
        if let Ok(Some(status)) = watcher.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = watcher.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("the watcher exited early ({status}):\n{err}");
        }
        assert!(
            written.elapsed() < MAX_LAG,
            "the online table did not reach version {last_version} within {MAX_LAG:?} (it records {recorded:?})"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let lag = written.elapsed();

    let (code, err) = stop(&mut watcher, signal);
    assert_eq!(code, 0, "the watcher's exit code after SIG{signal}:\n{err}");
    assert!(err.contains("stopped watching"), "{err}");
    assert!(
        err.contains("lag:") && err.contains("version(s) behind"),
        "the watcher reports its lag:\n{err}"
    );
    assert!(
        err.contains("incremental"),
        "later versions go incrementally:\n{err}"
    );
    p.assert_in_sync("after the watcher stopped");
    eprintln!("{store:?}: converged {lag:?} after the last write");
}

#[test]
fn watch_follows_writes_and_stops_on_sigterm_sqlite() {
    watch_follows_writes(Store::Sqlite, "TERM");
}

#[test]
fn watch_follows_writes_and_stops_on_sigint_mariadb() {
    watch_follows_writes(Store::Mysql, "INT");
}
