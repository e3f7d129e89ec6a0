//! Runs the built `fstore` binary in a scratch directory and checks its output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A scratch directory with nothing configured: fstore uses its embedded defaults there.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

/// What one run printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn fails_with(self, needle: &str) -> Self {
        assert_ne!(self.code, 0, "expected failure\nstdout:\n{}", self.stdout);
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, contents).expect("write file");
        p
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_fstore"));
        c.args(args)
            .current_dir(self.path())
            .env_remove("FSTORE_CONFIG")
            .env_remove("FSTORE_OFFLINE_ROOT")
            .env_remove("FSTORE_LOG")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        to_run(self.cmd(args).output().expect("run fstore"))
    }

    /// Number of versions `tables history` lists for `table`.
    pub fn versions(&self, table: &str) -> usize {
        self.run(&["tables", "history", table])
            .ok()
            .stdout
            .lines()
            .count()
    }

    /// Runs Python with `code`; panics with its output if it fails.
    pub fn python(&self, code: &str) -> String {
        let py = std::env::var("FSTORE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let out = Command::new(&py)
            .arg("-c")
            .arg(python_script(code))
            .current_dir(self.path())
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {py}: {e}; scripts/test installs what it needs")
            });
        let run = to_run(out);
        assert_eq!(
            run.code, 0,
            "python failed (needs `pip install deltalake pyarrow`; scripts/test does it):\n{}",
            run.stderr
        );
        run.stdout
    }
}

fn to_run(o: Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// The repository's `testdata/` folder.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Wraps a test's Python code so the interpreter leaves with `os._exit` once the output is flushed:
/// the `deltalake` wheel sometimes aborts in its runtime's shutdown ("terminate called without an
/// active exception") after the work is done, which would fail a correct test at random.
fn python_script(code: &str) -> String {
    format!("{code}\nimport os, sys\nsys.stdout.flush()\nsys.stderr.flush()\nos._exit(0)\n")
}
