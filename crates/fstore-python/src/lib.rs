//! `fstore._fstore`: the compiled half of the `fstore` Python package (distribution
//! `fstore-sdk`). It exposes one class, [`client::Client`], over the same configuration,
//! secret scopes and stores as the `fstore` CLI; the Pythonic API (`fstore.Client`, Frames,
//! the Databricks-compatible `fstore.databricks`) is the pure-Python layer in `python/fstore/`.
//!
//! Modules: `runtime` (the tokio runtime; GIL released and Ctrl-C honoured while Rust works),
//! `errors` (Rust errors → `fstore.errors` exceptions), `convert` (Arrow PyCapsule in and out),
//! `reports` (results → dicts), `logging` (fstore's log lines → Python's `logging`), and one
//! module per library area — `offline`, `online`, `training` — holding the library calls, plus
//! the other classes: `secrets` (secret scopes), `serve` (a client for `fstore serve`) and
//! `stream` (streaming publishes).

mod client;
mod convert;
mod errors;
mod logging;
mod offline;
mod online;
mod reports;
mod runtime;
mod secrets;
mod serve;
mod stream;
mod training;

use pyo3::prelude::*;

#[pymodule(gil_used = true)]
fn _fstore(m: &Bound<'_, PyModule>) -> PyResult<()> {
    logging::install(m.py())?;
    m.add_class::<client::Client>()?;
    m.add_class::<secrets::Secrets>()?;
    m.add_class::<serve::ServeClient>()?;
    m.add_class::<stream::PublishStream>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
