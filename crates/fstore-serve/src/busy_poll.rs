//! Busy polling: while requests are in flight, and for a short window after the last one ends,
//! the serving thread keeps polling its sockets instead of sleeping in the kernel.
//!
//! Why: a lookup is mostly hand-offs. The client's request wakes the server, the server's query
//! wakes the database, the database's answer wakes the server again. Each time a thread has gone
//! to sleep in between, waking it is a trip through the kernel's scheduler, and on a virtual
//! machine an idle CPU is woken by the hypervisor: tens of microseconds, several times per
//! lookup, against a database that answers in about a hundred. A task that yields in a loop
//! keeps the runtime checking for I/O without blocking (tokio polls its driver with a zero
//! timeout whenever a yielded task is waiting), so answers are picked up as they land.
//!
//! The price is CPU: one serving thread stays busy while there is traffic and for
//! [`BusyPoll`]'s window after it. The spinning task is started by the first request of a busy
//! period and ends by itself once the server has been idle for the window, so an idle server
//! costs nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Keeps a runtime thread polling while requests run (see the module docs).
#[derive(Debug)]
pub struct BusyPoll {
    /// How long to keep polling after the last request ended.
    window: Duration,
    /// Requests running now.
    active: AtomicUsize,
    /// Whether the polling task is running.
    spinning: AtomicBool,
}

/// A request in flight; ends with the guard.
pub struct Busy<'a>(&'a BusyPoll);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Release);
    }
}

impl BusyPoll {
    /// Polls while requests run and for `window` after the last one.
    pub fn new(window: Duration) -> Arc<Self> {
        Arc::new(Self {
            window,
            active: AtomicUsize::new(0),
            spinning: AtomicBool::new(false),
        })
    }

    /// Marks a request in flight, starting the polling task if it is not running. Must be called
    /// inside a tokio runtime.
    pub fn enter(self: &Arc<Self>) -> Busy<'_> {
        self.active.fetch_add(1, Ordering::AcqRel);
        if !self.spinning.swap(true, Ordering::AcqRel) {
            let me = self.clone();
            tokio::spawn(async move { me.spin().await });
        }
        Busy(self)
    }

    async fn spin(&self) {
        let mut last_busy = Instant::now();
        loop {
            if self.active.load(Ordering::Acquire) > 0 {
                last_busy = Instant::now();
            } else if last_busy.elapsed() >= self.window {
                self.spinning.store(false, Ordering::Release);
                // A request that started after the check above saw `spinning` still set and
                // started nothing: take over again unless another task already has.
                if self.active.load(Ordering::Acquire) == 0
                    || self.spinning.swap(true, Ordering::AcqRel)
                {
                    return;
                }
                last_busy = Instant::now();
            }
            // Back to the scheduler: other tasks run, and with nothing else to run the runtime
            // polls for I/O without blocking, then runs this task again.
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn polls_while_busy_and_stops_when_idle() {
        let bp = BusyPoll::new(Duration::from_millis(5));
        {
            let _a = bp.enter();
            let _b = bp.enter();
            assert!(bp.spinning.load(Ordering::Acquire));
            // Other tasks still run while the poller spins on the same thread.
            let t = tokio::spawn(async { 7 });
            assert_eq!(t.await.unwrap(), 7);
        }
        assert_eq!(bp.active.load(Ordering::Acquire), 0);
        let deadline = Instant::now() + Duration::from_secs(5);
        while bp.spinning.load(Ordering::Acquire) {
            assert!(
                Instant::now() < deadline,
                "the poller did not stop when idle"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // A new busy period starts a new poller.
        let _c = bp.enter();
        assert!(bp.spinning.load(Ordering::Acquire));
    }
}
