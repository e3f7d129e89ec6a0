//! A progress sink that long operations report into. The CLI renders it as a bar on a terminal and
//! as log lines otherwise; libraries only count.

/// Receives progress of a long operation. Implementations must be cheap: `inc` is called per batch.
pub trait Progress: Send + Sync {
    /// Announces the total amount of work (rows), when known.
    fn set_total(&self, _total: u64) {}
    /// Sets what is happening now, e.g. "writing shadow table".
    fn set_stage(&self, _stage: &str) {}
    /// Reports `n` more rows done.
    fn inc(&self, _n: u64) {}
}

/// Discards progress.
pub struct NoProgress;

impl Progress for NoProgress {}
