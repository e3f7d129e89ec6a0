//! Secret values never leave the secrets file: not in argv (there is no flag for them), not in
//! logs at any level, not in error messages, not in the file as plaintext.

use std::io::Write;
use std::process::Stdio;

use crate::util::Scratch;

const VALUE: &str = "s3cr3t-Value-that-must-never-print";

fn put(s: &Scratch, scope: &str, key: &str, value: &str, extra: &[&str]) -> (i32, String) {
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(["secrets", "put", "--scope", scope, "--key", key]);
    let mut child = s
        .cmd(&args)
        .env("FSTORE_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{value}\n").as_bytes())
        .expect("write value");
    let out = child.wait_with_output().expect("wait");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn secret_values_never_reach_output_logs_errors_or_the_file() {
    let s = Scratch::new();
    s.run(&["secrets", "create-scope", "aurora_writer"]).ok();
    for level in ["-q", "-v", "-vv"] {
        let (code, text) = put(&s, "aurora_writer", "aurora-password", VALUE, &[level]);
        assert_eq!(code, 0, "{text}");
        assert!(!text.contains(VALUE), "value printed at {level}: {text}");
    }
    // A value is never an argument: an extra positional is refused, and says nothing of it.
    let r = s.run(&[
        "secrets",
        "put",
        "--scope",
        "aurora_writer",
        "--key",
        "k",
        VALUE,
    ]);
    assert_ne!(r.code, 0);
    // Listing shows keys only, at every log level.
    for level in ["-v", "-vv"] {
        let r = s
            .cmd(&[level, "secrets", "list", "--scope", "aurora_writer"])
            .env("FSTORE_LOG", "trace")
            .output()
            .expect("run");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&r.stdout),
            String::from_utf8_lossy(&r.stderr)
        );
        assert!(
            text.contains("aurora-password") && !text.contains(VALUE),
            "{text}"
        );
    }
    // A publish that fails on these credentials does not echo them either.
    s.file(
        "fstore.toml",
        "[stores.aurora]\nkind = \"mysql\"\nhost = \"127.0.0.1\"\nport = 1\nread_secret_prefix = \"aurora_reader/aurora\"\nwrite_secret_prefix = \"aurora_writer/aurora\"\nconnect_timeout_secs = 2\n",
    );
    let (code, _) = put(&s, "aurora_writer", "aurora-user", "writer", &[]);
    assert_eq!(code, 0);
    s.run(&["secrets", "create-scope", "aurora_reader"]).ok();
    put(&s, "aurora_reader", "aurora-user", "reader", &[]);
    put(&s, "aurora_reader", "aurora-password", VALUE, &[]);
    let f = s.file("p.csv", "id,x\n1,2\n");
    s.run(&[
        "tables",
        "create",
        "default.t",
        "-k",
        "id",
        "--from",
        f.to_str().unwrap(),
    ])
    .ok();
    let r = s
        .cmd(&["-vv", "publish", "default.t", "--store", "aurora"])
        .env("FSTORE_LOG", "trace")
        .output()
        .expect("run");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
    assert_ne!(r.status.code(), Some(0), "port 1 cannot accept connections");
    assert!(
        text.contains("127.0.0.1:1"),
        "the error names the server: {text}"
    );
    assert!(!text.contains(VALUE), "{text}");

    // The file holds no plaintext value or key name.
    let file = std::fs::read(s.path().join("fstore-data/secrets.enc")).expect("secrets file");
    let hay = String::from_utf8_lossy(&file);
    assert!(!hay.contains(VALUE) && !hay.contains("aurora-password"));
}
