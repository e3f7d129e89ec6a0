//! Renders library progress: an indicatif bar on a terminal, periodic log lines otherwise.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use fstore_core::Progress;
use indicatif::{ProgressBar, ProgressStyle};

/// A [`Progress`] for the command line.
pub enum CliProgress {
    Bar(ProgressBar),
    Log(Mutex<LogState>),
    Silent,
}

pub struct LogState {
    done: u64,
    total: u64,
    stage: String,
    last: Instant,
}

impl CliProgress {
    /// A bar on a terminal, log lines otherwise, nothing with `--quiet`.
    pub fn new(interactive: bool, quiet: bool) -> Self {
        if quiet {
            Self::Silent
        } else if interactive {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg:32} [{bar:30}] {human_pos}/{human_len} rows {per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            Self::Bar(bar)
        } else {
            Self::Log(Mutex::new(LogState {
                done: 0,
                total: 0,
                stage: String::new(),
                last: Instant::now(),
            }))
        }
    }

    pub fn finish(&self) {
        if let Self::Bar(b) = self {
            b.finish_and_clear();
        }
    }
}

impl Progress for CliProgress {
    fn set_total(&self, total: u64) {
        match self {
            Self::Bar(b) => b.set_length(total),
            Self::Log(s) => {
                if let Ok(mut s) = s.lock() {
                    s.total = total;
                }
            }
            Self::Silent => {}
        }
    }

    fn set_stage(&self, stage: &str) {
        match self {
            Self::Bar(b) => b.set_message(stage.to_string()),
            Self::Log(s) => {
                if let Ok(mut s) = s.lock() {
                    s.stage = stage.to_string();
                }
                tracing::info!(stage, "progress");
            }
            Self::Silent => {}
        }
    }

    fn inc(&self, n: u64) {
        match self {
            Self::Bar(b) => b.inc(n),
            Self::Log(s) => {
                if let Ok(mut s) = s.lock() {
                    s.done += n;
                    if s.last.elapsed() >= Duration::from_secs(5) {
                        s.last = Instant::now();
                        tracing::info!(stage = %s.stage, done = s.done, total = s.total, "progress");
                    }
                }
            }
            Self::Silent => {}
        }
    }
}
