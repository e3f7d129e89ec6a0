//! The one tokio runtime of the extension module, and [`wait`]: runs a future with the GIL
//! released and turns Ctrl-C into `KeyboardInterrupt`.
//!
//! Futures must be built inside the runtime (an eager future such as `tokio::time::sleep`, or a
//! `mysql_async::Pool`, registers with the reactor when created), so [`wait`] takes a closure
//! that makes the future and calls it under `block_on`.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// How often a waiting call looks for a pending signal (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(200);

struct Runtime {
    rt: tokio::runtime::Runtime,
    pid: u32,
}

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The process's runtime. After `fork` the parent's runtime threads do not exist in the child:
/// say so instead of hanging.
pub fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    let r = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fstore")
            .enable_all()
            .build()
            .map(|rt| Runtime {
                rt,
                pid: std::process::id(),
            })
            .map_err(|e| format!("cannot start fstore's async runtime: {e}"))
    });
    match r {
        Ok(r) if r.pid == std::process::id() => Ok(&r.rt),
        Ok(_) => Err(PyRuntimeError::new_err(
            "fstore was used before this process forked; its runtime does not survive fork. Create the fstore Client in the child process (multiprocessing: use the 'spawn' start method)",
        )),
        Err(e) => Err(PyRuntimeError::new_err(e.clone())),
    }
}

/// Runs the future `make` builds to completion with the GIL released. Every [`SIGNAL_POLL`] it
/// checks for signals; a `KeyboardInterrupt` (or any error a signal handler raises) cancels the
/// future (dropping it, which rolls back an open online transaction) and is returned.
pub fn wait<F, Fut, T>(py: Python<'_>, make: F) -> PyResult<T>
where
    F: FnOnce() -> Fut + Send,
    Fut: Future<Output = PyResult<T>>,
    T: Send,
{
    let rt = runtime()?;
    py.detach(|| {
        rt.block_on(async move {
            let fut = make();
            tokio::pin!(fut);
            loop {
                tokio::select! {
                    out = &mut fut => return out,
                    _ = tokio::time::sleep(SIGNAL_POLL) => {
                        // `check_signals` only reports signals the interpreter already recorded;
                        // running a no-op lets it record them.
                        Python::attach(|py| -> PyResult<()> {
                            py.run(c"pass", None, None)?;
                            py.check_signals()
                        })?;
                    }
                }
            }
        })
    })
}
