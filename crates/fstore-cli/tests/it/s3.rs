//! The offline store on S3: every test runs `fstore` against a real S3 API on loopback (moto's
//! server mode, started by `scripts/test`, which exports `FSTORE_TEST_S3_ENDPOINT`), in a bucket
//! of its own. Nothing is mocked: deltalake and object_store talk HTTP to the server.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use crate::project::{Project, Row, Store, TABLE};
use crate::util::{Run, Scratch};

const ACCESS_KEY_ID: &str = "AKIAFSTORETEST000001";
const SECRET_ACCESS_KEY: &str = "fstore-test-secret-9f8e7d6c5b4a";

fn endpoint_var(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: run the tests with scripts/test, which starts a local S3 server (moto) and exports it"
        )
    })
}

fn endpoint() -> String {
    endpoint_var("FSTORE_TEST_S3_ENDPOINT")
}

/// A bucket name unique to this test and run.
fn bucket_for(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .subsec_nanos();
    let mut name: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(40);
    format!("fst-{name}-{nanos:x}")
}

/// One plain HTTP/1.1 request to the S3 server (unsigned: moto accepts that without IAM checks);
/// returns the status code and body.
fn http(endpoint: &str, method: &str, path: &str) -> (u16, String) {
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| {
        panic!(
            "the S3 test server at {endpoint} is unreachable ({e}); run the tests with scripts/test"
        )
    });
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

fn create_bucket(endpoint: &str, bucket: &str) {
    let (status, body) = http(endpoint, "PUT", &format!("/{bucket}"));
    assert_eq!(status, 200, "creating bucket {bucket}: {body}");
}

/// Every object key in `bucket` (under `prefix`).
fn keys(endpoint: &str, bucket: &str, prefix: &str) -> Vec<String> {
    let (status, body) = http(
        endpoint,
        "GET",
        &format!("/{bucket}?list-type=2&max-keys=1000&prefix={prefix}"),
    );
    assert_eq!(status, 200, "listing {bucket}: {body}");
    body.split("<Key>")
        .skip(1)
        .filter_map(|p| p.split_once("</Key>").map(|(k, _)| k.to_string()))
        .collect()
}

/// The `[offline]` section for `root` on the test server.
fn offline_toml(endpoint: &str, root: &str, extra: &str) -> String {
    format!(
        "[offline]\nroot = \"{root}\"\nendpoint = \"{endpoint}\"\nallow_http = true\nregion = \"us-east-1\"\n{extra}"
    )
}

fn aws_env() -> Vec<(String, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID".into(), ACCESS_KEY_ID.into()),
        ("AWS_SECRET_ACCESS_KEY".into(), SECRET_ACCESS_KEY.into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ]
}

/// A scratch project whose offline root is `s3://<own bucket>/features`, with a SQLite store.
struct S3Scratch {
    s: Scratch,
    endpoint: String,
    bucket: String,
    env: Vec<(String, String)>,
}

impl S3Scratch {
    fn new(test: &str) -> Self {
        Self::with(test, "", aws_env())
    }

    fn with(test: &str, extra_offline: &str, env: Vec<(String, String)>) -> Self {
        let endpoint = endpoint();
        let bucket = bucket_for(test);
        create_bucket(&endpoint, &bucket);
        let s = Scratch::new();
        s.file(
            "fstore.toml",
            &format!(
                "{}[secrets]\nbackend = \"env\"\n[stores.local]\nkind = \"sqlite\"\npath = \"online.db\"\n",
                offline_toml(
                    &endpoint,
                    &format!("s3://{bucket}/features"),
                    extra_offline
                )
            ),
        );
        Self {
            s,
            endpoint,
            bucket,
            env,
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.s.cmd(args);
        for k in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_ENDPOINT_URL",
            "AWS_REGION",
            "AWS_S3_ALLOW_UNSAFE_RENAME",
            "AWS_CONDITIONAL_PUT",
        ] {
            c.env_remove(k);
        }
        // No ~/.aws files of whoever runs the tests.
        c.env("HOME", self.s.path());
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        let o = self.cmd(args).output().expect("run fstore");
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    fn keys(&self, prefix: &str) -> Vec<String> {
        keys(&self.endpoint, &self.bucket, prefix)
    }

    fn csv(&self, name: &str, text: &str) -> String {
        self.s.file(name, text).to_str().expect("utf-8").to_string()
    }
}

const FEATURES: &str =
    "PassengerId,Age,Sex,Fare\n1,22,male,7.25\n2,38,female,71.28\n3,26,female,7.92\n";
const CHANGES: &str = "PassengerId,Age,Fare\n2,39,72.5\n4,35,53.1\n";

/// The README walk-through on an `s3://` root: create, write, describe, history, time travel,
/// publish (merge and overwrite) to SQLite, look a key up, list, drop.
#[test]
fn readme_walkthrough_on_an_s3_root() {
    let p = S3Scratch::new("walkthrough");
    let t = "default.online_feature_table";
    let f = p.csv("features.csv", FEATURES);
    let out = p
        .run(&[
            "tables",
            "create",
            t,
            "--primary-key",
            "PassengerId",
            "--from",
            &f,
        ])
        .ok();
    assert!(
        out.stderr.contains(&format!(
            "s3://{}/features/default/online_feature_table/",
            p.bucket
        )),
        "{}",
        out.stderr
    );
    let c = p.csv("changes.csv", CHANGES);
    p.run(&["tables", "write", t, "--from", &c, "--mode", "merge"])
        .ok();
    let d = p.run(&["tables", "describe", t]).ok().stdout;
    assert!(
        d.contains("version:       1") && d.contains("primary keys:  PassengerId"),
        "{d}"
    );
    assert_eq!(
        p.run(&["tables", "history", t]).ok().stdout.lines().count(),
        2
    );
    assert_eq!(p.run(&["tables", "list"]).ok().stdout.trim(), t);

    // Time travel: version 0 still has the original row 2 and no row 4.
    let v0 = p
        .run(&[
            "tables",
            "read",
            t,
            "--version",
            "0",
            "--format",
            "csv",
            "--columns",
            "PassengerId,Age",
        ])
        .ok()
        .stdout;
    let mut v0: Vec<&str> = v0.lines().skip(1).collect();
    v0.sort();
    assert_eq!(v0, ["1,22", "2,38", "3,26"]);

    p.run(&["publish", t, "--store", "local", "--mode", "merge"])
        .ok();
    let l = p
        .run(&[
            "lookup",
            t,
            "--store",
            "local",
            "--key",
            "PassengerId=2",
            "--key",
            "PassengerId=4",
            "--format",
            "json",
        ])
        .ok()
        .stdout;
    assert!(
        l.contains("39") && l.contains("72.5") && l.contains("53.1") && l.contains("female"),
        "{l}"
    );
    p.run(&["publish", t, "--store", "local", "--mode", "overwrite"])
        .ok();
    let c = rusqlite::Connection::open(p.s.path().join("online.db")).expect("sqlite");
    let n: i64 = c
        .query_row("SELECT COUNT(*) FROM online_feature_table", [], |r| {
            r.get(0)
        })
        .expect("count");
    assert_eq!(n, 4);

    p.run(&["tables", "drop", t, "--yes"]).ok();
    assert_eq!(p.run(&["tables", "list"]).ok().stdout.trim(), "");
    assert!(
        p.keys("features/default/").is_empty(),
        "{:?}",
        p.keys("features/")
    );
}

/// Credentials from a secret scope (env backend), none in the AWS environment: the walk-through
/// works, and the secret never shows in any output, even at the most verbose log level.
#[test]
fn credentials_from_a_secret_scope_never_show() {
    let env = vec![
        (
            "FSTORE_SECRET_S3_WRITER_S3_ACCESS_KEY_ID".into(),
            ACCESS_KEY_ID.into(),
        ),
        (
            "FSTORE_SECRET_S3_WRITER_S3_SECRET_ACCESS_KEY".into(),
            SECRET_ACCESS_KEY.into(),
        ),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ];
    let p = S3Scratch::with(
        "secret-scope",
        "credentials_secret_prefix = \"s3_writer/s3\"\n",
        env,
    );
    let f = p.csv("f.csv", FEATURES);
    let t = "default.secret_scope";
    let mut outputs = Vec::new();
    for args in [
        vec![
            "-vv",
            "tables",
            "create",
            t,
            "-k",
            "PassengerId",
            "--from",
            &f,
        ],
        vec!["-vv", "tables", "read", t],
        vec!["-vv", "publish", t, "--store", "local"],
        vec!["-vv", "--log-format", "json", "tables", "describe", t],
    ] {
        let r = p.run(&args).ok();
        outputs.push(r.stdout);
        outputs.push(r.stderr);
    }
    for o in &outputs {
        assert!(!o.contains(SECRET_ACCESS_KEY), "secret in output:\n{o}");
    }
    // Without the scope's secrets: the error names the secret to set, not a value.
    let bare = S3Scratch::with(
        "secret-scope-missing",
        "credentials_secret_prefix = \"s3_writer/s3\"\n",
        vec![],
    );
    bare.run(&["tables", "list"]).fails_with("s3-access-key-id");
}

/// A table written to the S3 server by Python `deltalake` is registered by its `s3://` path and
/// published; a table fstore created there is read back by Python `deltalake`.
#[test]
fn python_deltalake_interoperates_on_s3() {
    let p = S3Scratch::new("python-interop");
    let py_opts = format!(
        "{{'AWS_ENDPOINT_URL': '{}', 'AWS_ALLOW_HTTP': 'true', 'AWS_REGION': 'us-east-1', 'AWS_ACCESS_KEY_ID': '{ACCESS_KEY_ID}', 'AWS_SECRET_ACCESS_KEY': '{SECRET_ACCESS_KEY}'}}",
        p.endpoint
    );
    let bucket = &p.bucket;
    p.s.python(&format!(
        r#"
import pyarrow as pa
from deltalake import write_deltalake
opts = {py_opts}
uri = "s3://{bucket}/python/rides"
write_deltalake(uri, pa.table({{"ride_id": [1, 2, 3], "city": ["paris", "lyon", "nice"], "fare": [10.5, 12.0, 13.5]}}), storage_options=opts)
write_deltalake(uri, pa.table({{"ride_id": [4], "city": ["lille"], "fare": [9.0]}}), mode="append", storage_options=opts)
"#
    ));
    p.run(&[
        "tables",
        "register",
        "mobility.rides",
        "-k",
        "ride_id",
        "--path",
        &format!("s3://{bucket}/python/rides"),
    ])
    .ok();
    let csv = p
        .run(&[
            "tables",
            "read",
            "mobility.rides",
            "--version",
            "0",
            "--format",
            "csv",
        ])
        .ok()
        .stdout;
    assert_eq!(csv.lines().count(), 4, "{csv}");
    p.run(&["publish", "mobility.rides", "--store", "local"])
        .ok();
    let l = p
        .run(&[
            "lookup",
            "mobility.rides",
            "--key",
            "ride_id=4",
            "--format",
            "json",
        ])
        .ok()
        .stdout;
    assert!(l.contains("lille"), "{l}");

    let f = p.csv("f.csv", FEATURES);
    p.run(&[
        "tables",
        "create",
        "default.people",
        "-k",
        "PassengerId",
        "--from",
        &f,
    ])
    .ok();
    let c = p.csv("c.csv", CHANGES);
    p.run(&["tables", "write", "default.people", "--from", &c])
        .ok();
    let out = p.s.python(&format!(
        r#"
from deltalake import DeltaTable
dt = DeltaTable("s3://{bucket}/features/default/people", storage_options={py_opts})
t = dt.to_pyarrow_table().sort_by("PassengerId")
print(dt.version())
print(t.column("PassengerId").to_pylist(), t.column("Age").to_pylist())
print(dt.metadata().configuration.get("fstore.primaryKeys"))
"#
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        ["1", "[1, 2, 3, 4] [22, 39, 26, 35]", "[\"PassengerId\"]"]
    );
}

fn model(n: i64, round: u64) -> BTreeMap<i64, Row> {
    (1..=n)
        .map(|id| (id, crate::project::row(id, round)))
        .collect()
}

fn publish_from_s3(store: Store, test: &str) {
    let endpoint = endpoint();
    let bucket = bucket_for(test);
    create_bucket(&endpoint, &bucket);
    let p = Project::with_offline(
        store,
        test,
        &offline_toml(&endpoint, &format!("s3://{bucket}/features"), ""),
        aws_env(),
    );
    let mut rows = model(50, 1);
    p.write_rows(&rows, true, "merge");
    p.run_ok(&["publish", TABLE]);
    assert_eq!(p.online_rows().1.as_ref(), Some(&rows));
    // An incremental publish after a merge, then an overwrite.
    let changed: BTreeMap<i64, Row> = (40..=60)
        .map(|id| (id, crate::project::row(id, 2)))
        .collect();
    p.write_rows(&changed, false, "merge");
    rows.extend(changed);
    p.run_ok(&["publish", TABLE]);
    assert_eq!(p.online_rows().1.as_ref(), Some(&rows));
    p.run_ok(&["publish", TABLE, "--mode", "overwrite"]);
    assert_eq!(p.online_rows().1.as_ref(), Some(&rows));
}

#[test]
fn publish_from_s3_to_sqlite() {
    publish_from_s3(Store::Sqlite, "s3-publish-sqlite");
}

#[test]
fn publish_from_s3_to_mariadb() {
    publish_from_s3(Store::Mysql, "s3-publish-mariadb");
}

/// Two processes merge into one S3 table at the same time, several times each: every write
/// that reported success is in the table, and the log has exactly one version per success.
#[test]
fn concurrent_writers_lose_no_commit() {
    let p = S3Scratch::new("concurrent");
    let t = "default.concurrent";
    let f = p.csv("seed.csv", "id,writer,n\n0,seed,0\n");
    p.run(&["tables", "create", t, "-k", "id", "--from", &f])
        .ok();
    const ROUNDS: i64 = 6;
    let mut files = Vec::new();
    for w in 0..2 {
        for r in 0..ROUNDS {
            let id = 1 + w * ROUNDS + r;
            files.push((
                w,
                p.csv(
                    &format!("w{w}r{r}.csv"),
                    &format!("id,writer,n\n{id},w{w},{r}\n"),
                ),
            ));
        }
    }
    let mut children = Vec::new();
    for w in 0..2 {
        let mine: Vec<String> = files
            .iter()
            .filter(|(fw, _)| *fw == w)
            .map(|(_, f)| f.clone())
            .collect();
        // One shell per writer runs its writes back to back and prints one line per write.
        let script: String = mine
            .iter()
            .map(|f| {
                format!(
                    "\"$FSTORE\" tables write {t} --from {f} --mode merge >/dev/null 2>>err.log && echo ok {f} || echo failed {f}\n"
                )
            })
            .collect();
        let mut c = Command::new("sh");
        c.arg("-c").arg(script).current_dir(p.s.path());
        let probe = p.cmd(&[]);
        for (k, v) in probe.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        c.env("FSTORE", env!("CARGO_BIN_EXE_fstore"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        children.push(c.spawn().expect("spawn writer"));
    }
    let mut succeeded = Vec::new();
    for c in children {
        let out = c.wait_with_output().expect("writer");
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(f) = line.strip_prefix("ok ") {
                succeeded.push(f.to_string());
            }
        }
    }
    let errors = std::fs::read_to_string(p.s.path().join("err.log")).unwrap_or_default();
    // A write may lose a race and fail with a conflict, never silently.
    for line in errors.lines().filter(|l| l.starts_with("error")) {
        assert!(
            line.to_lowercase().contains("concurrent") || line.to_lowercase().contains("conflict"),
            "unexpected failure: {line}"
        );
    }
    assert!(!succeeded.is_empty(), "no write succeeded: {errors}");
    let history = p.run(&["tables", "history", t]).ok().stdout;
    assert_eq!(
        history.lines().count(),
        1 + succeeded.len(),
        "one version per successful write\n{history}\n{errors}"
    );
    let csv = p
        .run(&["tables", "read", t, "--format", "csv", "--columns", "id"])
        .ok()
        .stdout;
    let ids: Vec<i64> = csv
        .lines()
        .skip(1)
        .map(|l| l.parse().expect("id"))
        .collect();
    for f in &succeeded {
        let text = std::fs::read_to_string(f).expect("input");
        let id: i64 = text
            .lines()
            .nth(1)
            .and_then(|l| l.split(',').next())
            .and_then(|s| s.parse().ok())
            .expect("id");
        assert!(
            ids.contains(&id),
            "the write of id {id} succeeded but is not in the table: {ids:?}"
        );
    }
}

// ------------------------------------------------------------------ bad input

/// `tables create default.t -k PassengerId --from <f>`: the write every bad-input case tries.
fn create_t(f: &str) -> Vec<&str> {
    vec![
        "tables",
        "create",
        "default.t",
        "-k",
        "PassengerId",
        "--from",
        f,
    ]
}

#[test]
fn a_missing_bucket_is_named() {
    let endpoint = endpoint();
    let bucket = bucket_for("no-such-bucket");
    let s = S3Scratch::new("missing-bucket-host");
    let f = s.csv("f.csv", FEATURES);
    let root = format!("s3://{bucket}/team/features");
    for args in [
        vec!["--offline-root", &root, "tables", "list"],
        [vec!["--offline-root", &root], create_t(&f)].concat(),
    ] {
        s.run(&args).fails_with(&format!(
            "the bucket `{bucket}` of s3://{bucket}/team/features does not exist"
        ));
    }
    let (status, _) = http(&endpoint, "GET", &format!("/{bucket}?list-type=2"));
    assert_eq!(status, 404, "the bucket was created");
}

#[test]
fn no_credentials_are_refused_before_any_request() {
    let s = S3Scratch::with("no-credentials", "", vec![]);
    let f = s.csv("f.csv", FEATURES);
    let r = s.run(&create_t(&f));
    let r = r.fails_with(&format!("no S3 credentials for s3://{}/features", s.bucket));
    assert!(
        r.stderr.contains("AWS_ACCESS_KEY_ID") && r.stderr.contains("credentials_secret_prefix"),
        "{}",
        r.stderr
    );
    assert!(s.keys("").is_empty(), "{:?}", s.keys(""));
}

#[test]
fn an_unreachable_endpoint_is_named() {
    // A port that nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let dead = format!("http://127.0.0.1:{port}");
    let s = Scratch::new();
    s.file(
        "fstore.toml",
        &offline_toml(&dead, "s3://somewhere/features", ""),
    );
    let f = s.file("f.csv", FEATURES);
    let started = std::time::Instant::now();
    for args in [vec!["tables", "list"], create_t(f.to_str().expect("utf-8"))] {
        let mut c = s.cmd(&args);
        c.envs(aws_env());
        let o = c.output().expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success());
        assert!(
            err.contains(&format!(
                "cannot reach the S3 endpoint {dead} for s3://somewhere/features"
            )),
            "{err}"
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_prefix_without_a_delta_table_is_refused() {
    let s = S3Scratch::new("no-delta-table");
    let path = format!("s3://{}/elsewhere/not_a_table", s.bucket);
    s.run(&[
        "tables",
        "register",
        "default.t",
        "-k",
        "id",
        "--path",
        &path,
    ])
    .fails_with(&format!("there is no Delta table at {path}/"));
    s.run(&["tables", "read", "default.nothing"])
        .fails_with(&format!(
            "no feature table `default.nothing` under s3://{}/features/",
            s.bucket
        ));
    assert!(s.keys("").is_empty(), "{:?}", s.keys(""));
}

#[test]
fn disabled_conditional_writes_are_refused() {
    let mut env = aws_env();
    env.push(("AWS_CONDITIONAL_PUT".into(), "disabled".into()));
    let s = S3Scratch::with("conditional-put-off", "", env);
    let f = s.csv("f.csv", FEATURES);
    let r = s.run(&create_t(&f)).fails_with("refusing to commit");
    assert!(
        r.stderr.contains("conditional writes are disabled"),
        "{}",
        r.stderr
    );
    assert!(s.keys("").is_empty(), "{:?}", s.keys(""));
}

/// On a server that checks IAM (its own moto, `FSTORE_TEST_S3_AUTH_ENDPOINT`), a user without
/// any policy is denied; the message names the location and the credentials' source, never the
/// secret.
#[test]
fn access_denied_is_named() {
    let endpoint = endpoint_var("FSTORE_TEST_S3_AUTH_ENDPOINT");
    let bucket = bucket_for("access-denied");
    let s = Scratch::new();
    // With the server's checks off: a bucket, and a user with an access key but no policy; then
    // the checks on (moto counts from the reset).
    let keys = s.python(&format!(
        r#"
import boto3, urllib.request
def auth(n):
    urllib.request.urlopen(urllib.request.Request("{endpoint}/moto-api/reset-auth", data=n, method="POST", headers={{"Content-Type": "text/plain"}})).read()
auth(b"inf")
kw = dict(endpoint_url="{endpoint}", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
boto3.client("s3", **kw).create_bucket(Bucket="{bucket}")
iam = boto3.client("iam", **kw)
iam.create_user(UserName="{bucket}")
k = iam.create_access_key(UserName="{bucket}")["AccessKey"]
auth(b"0")
print(k["AccessKeyId"])
print(k["SecretAccessKey"])
"#
    ));
    let mut lines = keys.lines();
    let (id, secret) = (lines.next().expect("id"), lines.next().expect("secret"));
    s.file(
        "fstore.toml",
        &offline_toml(&endpoint, &format!("s3://{bucket}/features"), ""),
    );
    let f = s.file("f.csv", FEATURES);
    for args in [vec!["tables", "list"], create_t(f.to_str().expect("utf-8"))] {
        let o = s
            .cmd(&args)
            .env("AWS_ACCESS_KEY_ID", id)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success());
        assert!(
            // moto cannot verify object_store's signatures once its checks are on and answers
            // SignatureDoesNotMatch instead of AccessDenied: both are S3's 403, one message.
            err.contains(&format!("access to s3://{bucket}/features was denied (")),
            "{err}"
        );
        assert!(!err.contains(secret), "{err}");
    }
}

/// A training set whose feature table lives on the S3 root: the lookup join reads it there, at
/// its latest version and, with `--as-of-version`, at an earlier one.
#[test]
fn training_sets_read_feature_tables_on_s3() {
    let p = S3Scratch::new("training");
    let users = p.csv("users.csv", "user_id,age,country\n1,30,fr\n2,40,de\n");
    p.run(&[
        "tables",
        "create",
        "default.users",
        "--primary-key",
        "user_id",
        "--from",
        &users,
    ])
    .ok();
    let older = p.csv("older.csv", "user_id,age\n1,31\n");
    p.run(&[
        "tables",
        "write",
        "default.users",
        "--from",
        &older,
        "--mode",
        "merge",
    ])
    .ok();
    let spine = p.csv("spine.csv", "user_id,churned\n2,0\n1,1\n3,0\n");
    let rows = |extra: &[&str]| -> Vec<String> {
        let out = p.s.path().join("train.csv");
        let mut args = vec![
            "training-set",
            "--spine",
            &spine,
            "--lookup",
            "default.users:lookup_key=user_id:features=age,country",
            "--label",
            "churned",
            "--out",
            out.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(extra);
        p.run(&args).ok();
        let text = std::fs::read_to_string(&out).expect("training set written");
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines[1..].sort();
        lines
    };
    assert_eq!(
        rows(&[]),
        [
            "user_id,age,country,churned",
            "1,31,fr,1",
            "2,40,de,0",
            "3,,,0"
        ]
    );
    assert_eq!(
        rows(&["--as-of-version", "default.users=0"]),
        [
            "user_id,age,country,churned",
            "1,30,fr,1",
            "2,40,de,0",
            "3,,,0"
        ]
    );
}
