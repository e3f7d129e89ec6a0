//! fstore's log lines into Python's `logging`. The libraries log with `tracing`; [`install`]
//! sets a minimal tracing subscriber ([`ToLog`]) that turns each event into a `log` record, and
//! puts a `pyo3-log` logger behind `log` that renames the targets: `fstore_publish::watch` → the
//! Python logger `fstore.publish.watch`, so `logging.getLogger("fstore")` configures all of
//! them. Other crates' records (deltalake, DataFusion, the database drivers, which log through
//! `log` or `tracing`) keep their own names and pass from WARNING up.
//!
//! Why a subscriber, when tracing's `log` feature (on in the workspace) already emits `log`
//! records: it does so only while no tracing dispatcher was ever set, and delta-kernel sets a
//! thread-local one in its scan threads, which silences it for the whole process. Turning on
//! `log-always` instead would change tracing's features and rebuild the dependency tree.
//!
//! Levels are checked against Python's on every record (pyo3-log's `Caching::Loggers`), so a
//! `logging.basicConfig(level=...)` or `setLevel` after import takes effect. That costs the
//! GIL per record, which is why the Rust side lets through INFO and above only: DEBUG/TRACE
//! events (per-chunk, per-request) never reach Python.

use std::borrow::Cow;

use std::fmt::Write as _;

use log::{LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;
use pyo3_log::{Caching, Logger};
use tracing::field::{Field, Visit};
use tracing::span;
use tracing::subscriber::Interest;

/// The Python logger name (in `::` form) for a Rust log target.
fn target(t: &str) -> Cow<'_, str> {
    match t.strip_prefix("fstore_") {
        Some(rest) => Cow::Owned(format!("fstore::{rest}")),
        None => Cow::Borrowed(t),
    }
}

struct Bridge(Logger);

impl Log for Bridge {
    fn enabled(&self, m: &Metadata) -> bool {
        let t = target(m.target());
        self.0
            .enabled(&Metadata::builder().level(m.level()).target(&t).build())
    }

    fn log(&self, r: &Record) {
        let t = target(r.target());
        self.0.log(
            &Record::builder()
                .args(*r.args())
                .level(r.level())
                .target(&t)
                .module_path(r.module_path())
                .file(r.file())
                .line(r.line())
                .build(),
        );
    }

    fn flush(&self) {}
}

fn log_level(l: &tracing::Level) -> log::Level {
    match *l {
        tracing::Level::ERROR => log::Level::Error,
        tracing::Level::WARN => log::Level::Warn,
        tracing::Level::INFO => log::Level::Info,
        tracing::Level::DEBUG => log::Level::Debug,
        tracing::Level::TRACE => log::Level::Trace,
    }
}

/// The event's text as tracing's own `log` bridge writes it: the message, then `name=value`
/// for each field.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        let _ = if field.name() == "message" {
            write!(self.0, "{value:?}")
        } else {
            write!(self.0, "{}={value:?}", field.name())
        };
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }
}

/// A tracing subscriber that hands every enabled event to `log` (spans are not tracked).
struct ToLog;

impl ToLog {
    fn log_enabled(m: &tracing::Metadata<'_>) -> bool {
        let level = log_level(m.level());
        level <= log::max_level()
            && log::logger().enabled(&Metadata::builder().level(level).target(m.target()).build())
    }
}

impl tracing::Subscriber for ToLog {
    fn register_callsite(&self, m: &'static tracing::Metadata<'static>) -> Interest {
        // The filters are fixed at install, so the answer can be cached per call site.
        if Self::log_enabled(m) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
        Self::log_enabled(m)
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::INFO)
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, e: &tracing::Event<'_>) {
        let m = e.metadata();
        let mut text = Text::default();
        e.record(&mut text);
        log::logger().log(
            &Record::builder()
                .args(format_args!("{}", text.0))
                .level(log_level(m.level()))
                .target(m.target())
                .module_path(m.module_path())
                .file(m.file())
                .line(m.line())
                .build(),
        );
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// Routes tracing events and `log` records to Python. Harmless when called again (the first
/// logger stays).
pub fn install(py: Python<'_>) -> PyResult<()> {
    let logger = Logger::new(py, Caching::Loggers)?
        .filter(LevelFilter::Warn)
        .filter_target("fstore".to_string(), LevelFilter::Info);
    if log::set_boxed_logger(Box::new(Bridge(logger))).is_ok() {
        log::set_max_level(LevelFilter::Info);
        let _ = tracing::subscriber::set_global_default(ToLog);
    }
    Ok(())
}
