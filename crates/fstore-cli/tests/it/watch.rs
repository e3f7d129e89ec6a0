//! `fstore publish --watch`: a watcher follows a table while `tables write` commits new versions
//! (updates, inserts, and deletes by overwrite); the online table converges to the last version
//! within a bounded time; SIGTERM stops the watcher cleanly (exit 0, record consistent).

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::project::{Project, Rng, Row, Store, TABLE, change, row};

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

#[test]
fn watch_follows_writes_and_stops_on_sigterm_postgres() {
    watch_follows_writes(Store::Postgres, "TERM");
}

/// `GET /metrics` on `addr` with a bare HTTP/1.1 request; the body.
fn scrape(addr: &str) -> String {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the metrics listener");
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out
}

/// The value of the sample `line` (a metric with its labels) in `text`.
fn sample(text: &str, line: &str) -> Option<f64> {
    let prefix = format!("{line} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn watch_serves_prometheus_metrics_on_metrics_listen() {
    use std::io::BufRead;
    let p = Project::new(Store::Sqlite, "watch_metrics");
    let model: BTreeMap<i64, Row> = (1..=50).map(|id| (id, row(id, 0))).collect();
    p.write_rows(&model, true, "merge");
    let mut watcher = p
        .cmd(&[
            "publish",
            TABLE,
            "--watch",
            "--interval",
            "200ms",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the watcher");
    // The address (port 0: the system's choice) is announced first.
    let mut err = std::io::BufReader::new(watcher.stderr.take().expect("stderr"));
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(
            err.read_line(&mut line).expect("read stderr") > 0,
            "no metrics address announced"
        );
        if let Some(rest) = line.trim().strip_prefix("metrics on http://") {
            break rest.trim_end_matches("/metrics").to_string();
        }
    };
    // Keep draining stderr so the watcher never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
    });
    let table = format!("table=\"{TABLE}\"");
    let ok = format!("fstore_publish_publishes_total{{{table},outcome=\"ok\"}}");
    let wait_for = |want: f64| {
        let deadline = Instant::now() + MAX_LAG;
        loop {
            let text = scrape(&addr);
            if sample(&text, &ok) == Some(want) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "never {want} ok publishes:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let text = wait_for(1.0);
    assert_eq!(
        sample(
            &text,
            &format!("fstore_publish_last_published_version{{{table}}}")
        ),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!("fstore_publish_rows_written_total{{{table}}}")
        ),
        Some(50.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!("fstore_publish_publishes_total{{{table},outcome=\"failed\"}}")
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!("fstore_publish_duration_seconds_count{{{table}}}")
        ),
        Some(1.0)
    );
    assert!(
        sample(
            &text,
            &format!("fstore_publish_last_success_timestamp_seconds{{{table}}}")
        )
        .is_some_and(|t| t > 1.7e9),
        "{text}"
    );

    // A new version: one more publish, its rows counted, the version moves on.
    let changed: BTreeMap<i64, Row> = (1..=3).map(|id| (id, row(id, 1))).collect();
    p.write_rows(&changed, false, "merge");
    let text = wait_for(2.0);
    assert_eq!(
        sample(
            &text,
            &format!("fstore_publish_last_published_version{{{table}}}")
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!("fstore_publish_rows_written_total{{{table}}}")
        ),
        Some(53.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, &format!("fstore_publish_versions_behind{{{table}}}")),
        Some(0.0),
        "{text}"
    );
    let (code, _) = stop(&mut watcher, "TERM");
    assert_eq!(code, 0);
}
