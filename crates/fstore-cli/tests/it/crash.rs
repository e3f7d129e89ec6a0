//! Crash safety of `fstore publish`: the built binary is killed with SIGKILL at random instants
//! while it publishes (first publish, incremental, `--full`, `--mode overwrite`) to SQLite, to
//! the MariaDB at `FSTORE_TEST_MYSQL_URL` and to the PostgreSQL at `FSTORE_TEST_PG_URL` (a
//! database and user of its own, credentials through the `env` secrets backend: see
//! `project.rs`), then run again to completion; every time the online table must equal the
//! offline view cell by cell, and the bookkeeping row must name the table's latest version.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::project::{Project, Rng, Row, Store, TABLE, change, row};

/// Starts `fstore publish ARGS`, kills it with SIGKILL after `delay`, and waits for it.
/// Returns whether it had already finished.
fn kill_after(p: &Project, args: &[&str], delay: Duration) -> bool {
    let mut child = p
        .cmd(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn fstore");
    std::thread::sleep(delay);
    let finished = child.try_wait().expect("try_wait").is_some();
    if !finished {
        child.kill().expect("SIGKILL");
    }
    child.wait().expect("wait");
    finished
}

/// Kills publishes at random instants and checks the rerun every time.
fn crash_and_rerun(store: Store) {
    const ROWS: i64 = 20_000;
    const ROUNDS: u64 = 8;
    let p = Project::new(store, &format!("crash_and_rerun_{store:?}"));
    let mut rng = Rng::seeded();
    let seed = rng.0;
    let mut model: BTreeMap<i64, Row> = (1..=ROWS).map(|id| (id, row(id, 0))).collect();
    p.write_rows(&model, true, "merge");

    // How long an uninterrupted publish takes, to spread the kills over it.
    let probe = Project::new(store, &format!("crash_and_rerun_probe_{store:?}"));
    probe.write_rows(&model, true, "merge");
    let t = Instant::now();
    probe.run_ok(&["publish", TABLE]);
    let full_time = t.elapsed();
    drop(probe);

    let mut finished_before_kill = 0;
    let mut kills = 0;
    // The first publish (creates the table), killed.
    let delay = Duration::from_millis(rng.below(full_time.as_millis() as u64 + 1));
    finished_before_kill += kill_after(&p, &["publish", TABLE], delay) as u32;
    kills += 1;
    p.run_ok(&["publish", TABLE]);
    p.assert_in_sync(&format!(
        "first publish killed after {delay:?} (seed {seed})"
    ));

    let modes: [(&str, &[&str]); 3] = [
        ("incremental", &["publish", TABLE]),
        ("full", &["publish", TABLE, "--full"]),
        ("overwrite", &["publish", TABLE, "--mode", "overwrite"]),
    ];
    let mut round = 1;
    for (mode, args) in modes {
        // Kills spread over 1.3× the last uninterrupted run of the same kind, so some land
        // before the write, some during it, and some after the publish ended.
        let mut span = full_time;
        for _ in 0..ROUNDS {
            change(&p, &mut model, &mut rng, round);
            let limit = (span.as_millis() as u64 * 13 / 10).max(1);
            let delay = Duration::from_millis(rng.below(limit + 1));
            finished_before_kill += kill_after(&p, args, delay) as u32;
            kills += 1;
            let t = Instant::now();
            p.run_ok(args);
            span = t.elapsed();
            p.assert_in_sync(&format!(
                "{mode} publish of round {round} killed after {delay:?} (seed {seed})"
            ));
            round += 1;
        }
        // And the other modes converge from whatever this one left.
        p.run_ok(&["publish", TABLE]);
        p.assert_in_sync(&format!(
            "incremental publish after the {mode} rounds (seed {seed})"
        ));
    }
    eprintln!(
        "{store:?}: {kills} publishes killed at random instants ({finished_before_kill} had already finished); a full publish took {full_time:?}"
    );
    assert!(
        finished_before_kill < kills,
        "every publish finished before its kill; the test did not interrupt anything"
    );
}

#[test]
fn killing_publishes_at_random_instants_leaves_sqlite_in_sync() {
    crash_and_rerun(Store::Sqlite);
}

#[test]
fn killing_publishes_at_random_instants_leaves_mariadb_in_sync() {
    crash_and_rerun(Store::Mysql);
}

#[test]
fn killing_publishes_at_random_instants_leaves_postgres_in_sync() {
    crash_and_rerun(Store::Postgres);
}
