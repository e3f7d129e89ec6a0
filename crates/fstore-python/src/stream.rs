//! `fstore._fstore.PublishStream`: `publish_table(..., streaming=True)` — Databricks'
//! `StreamingQuery` for a publish. A background thread runs `fstore_publish::watch` (the loop
//! behind `fstore publish --watch`) on the extension's runtime: it publishes now, then every
//! version committed after, each cycle `interval` apart, until [`PublishStream::stop`].
//!
//! The online bookkeeping row is the checkpoint (each publish commits with it), so there is no
//! checkpoint location, and a restarted stream resumes from what is online. A thread (not a
//! spawned task) because the watch future borrows its stores and need not be `Send`; stopping
//! wakes it at once when it sleeps between cycles and after the cycle in flight otherwise.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fstore_core::{NoProgress, TableName};
use fstore_offline::OfflineStore;
use fstore_publish::{PublishOptions, WatchOptions, WatchUpdate};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tokio::sync::{oneshot, watch};

use crate::client::Opened;
use crate::errors::Error;
use crate::reports::report_dict;
use crate::runtime::{runtime, wait};

#[derive(Default)]
struct State {
    last: Option<WatchUpdate>,
    cycles: u64,
    /// Why the stream ended, when it ended on an error.
    error: Option<Error>,
}

fn state(s: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // Only plain data behind the lock: a panic elsewhere leaves it usable.
    s.lock().unwrap_or_else(|e| e.into_inner())
}

#[pyclass(frozen, module = "fstore._fstore")]
pub struct PublishStream {
    name: String,
    store: String,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    done: watch::Receiver<bool>,
    state: Arc<Mutex<State>>,
}

impl PublishStream {
    /// Starts watching `name`; `store` is the writer store, already opened.
    pub fn start(
        offline: OfflineStore,
        store: Opened,
        name: TableName,
        opts: PublishOptions,
        interval: Duration,
    ) -> Result<Self, Error> {
        let rt = runtime().map_err(|e| Error::invalid(e.to_string()))?;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (done_tx, done_rx) = watch::channel(false);
        let shared = Arc::new(Mutex::new(State::default()));
        let st = shared.clone();
        let table = name.to_string();
        let store_name = store.0.clone();
        std::thread::Builder::new()
            .name("fstore-publish-stream".into())
            .spawn(move || {
                let out = rt.block_on(async {
                    let writer = store.1.writer()?;
                    let stopped = async {
                        // A dropped sender (the stream object is gone) stops too.
                        let _ = stop_rx.await;
                    };
                    fstore_publish::watch(
                        &offline,
                        writer,
                        &name,
                        &opts,
                        &WatchOptions { interval },
                        &NoProgress,
                        stopped,
                        |u: Result<&WatchUpdate, &fstore_publish::Error>| {
                            // A failed cycle is logged by `watch` and retried; count successes.
                            if let Ok(u) = u {
                                let mut s = state(&st);
                                s.last = Some(u.clone());
                                s.cycles += 1;
                            }
                        },
                    )
                    .await
                    .map_err(Error::from)
                });
                if let Err(e) = out {
                    log::error!(target: "fstore_python::stream", "publish stream of {name} stopped: {}", e.message);
                    state(&st).error = Some(e);
                }
                let _ = done_tx.send(true);
            })
            .map_err(|e| Error::invalid(format!("cannot start the publish stream: {e}")))?;
        Ok(Self {
            name: table,
            store: store_name,
            stop: Mutex::new(Some(stop_tx)),
            done: done_rx,
            state: shared,
        })
    }

    fn signal_stop(&self) {
        let tx = self.stop.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(tx) = tx {
            let _ = tx.send(());
        }
    }

    /// Waits (GIL released) until the thread ends or `timeout` passes; true when it ended.
    fn join(&self, py: Python<'_>, timeout: Option<Duration>) -> PyResult<bool> {
        let mut done = self.done.clone();
        wait(py, || async move {
            let ended = done.wait_for(|d| *d);
            Ok(match timeout {
                Some(t) => tokio::time::timeout(t, ended).await.is_ok(),
                None => ended.await.is_ok(),
            })
        })
    }

    fn error(&self) -> Option<Error> {
        state(&self.state).error.as_ref().map(|e| Error {
            class: e.class,
            message: e.message.clone(),
        })
    }
}

impl Drop for PublishStream {
    fn drop(&mut self) {
        self.signal_stop();
    }
}

#[pymethods]
impl PublishStream {
    /// The feature table being published.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The online store's name.
    #[getter]
    fn store(&self) -> &str {
        &self.store
    }

    /// False once the stream stopped (by `stop()` or an error).
    #[getter]
    fn is_active(&self) -> bool {
        !*self.done.borrow()
    }

    /// Publish cycles that ran so far (an up-to-date check counts).
    #[getter]
    fn cycles(&self) -> u64 {
        state(&self.state).cycles
    }

    /// The last cycle's report and lag, or None before the first cycle ended.
    #[getter]
    fn last_progress<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let last = state(&self.state).last.clone();
        let Some(u) = last else { return Ok(None) };
        let d = report_dict(py, &self.store, &u.report)?;
        d.set_item("latest_version", u.latest_version)?;
        d.set_item("versions_behind", u.versions_behind)?;
        d.set_item("latency_secs", u.latency.map(|d| d.as_secs_f64()))?;
        d.set_item("lag_secs", u.lag.map(|d| d.as_secs_f64()))?;
        Ok(Some(d))
    }

    /// Stops the stream: at once between cycles, after the cycle in flight otherwise. Waits
    /// until it stopped; raises what ended it if it had failed. Stopping twice is harmless.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        self.signal_stop();
        self.join(py, None)?;
        match self.error() {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Waits until the stream ends (`timeout` seconds at most; None: no limit). True when it
    /// ended; raises what ended it if it failed.
    #[pyo3(signature = (timeout=None))]
    fn await_termination(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let timeout = timeout
            .map(|t| {
                Duration::try_from_secs_f64(t)
                    .map_err(|_| Error::invalid("timeout must be a number of seconds ≥ 0"))
            })
            .transpose()?;
        let ended = self.join(py, timeout)?;
        match self.error() {
            Some(e) if ended => Err(e.into()),
            _ => Ok(ended),
        }
    }

    /// What ended the stream, as an exception object (None while running or after a clean stop).
    fn exception(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.error()
            .map(|e| PyErr::from(e).into_value(py).into_any())
    }
}
