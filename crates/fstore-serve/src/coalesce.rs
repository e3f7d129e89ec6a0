//! Request coalescing: concurrent lookups of the same table (and the same features) share one
//! backend call when the table already has [`Coalescer::max_in_flight`] calls running.
//!
//! Why: each lookup is one query, and at high concurrency the database spends most of its time
//! on per-query work (parsing, a round trip, a wake-up), not on the key itself. A query for 8
//! keys costs little more than a query for 1. So while a table has its quota of queries in
//! flight, further requests wait in a queue, and the next free slot serves every queued request
//! with one `WHERE pk IN (...)` query, splitting the rows back to their requests.
//!
//! No timer is involved: a request never waits unless the table's quota of queries is busy, so a
//! lone request (concurrency 1) goes straight to the database, and under load a request waits at
//! most about one query's time. A request that takes a free slot first yields once to the
//! runtime, so requests that have already arrived join its query instead of queueing behind it. A request only joins a batch with requests that name the same
//! online table, the same features and the same cached layout. When a batch fails, each of its
//! requests runs again on its own, so one request's bad key can never fail another's lookup.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use fstore_core::Value;
use fstore_online::{LookupResult, OnlineReader, PublishedTable, StoreError};
use tokio::sync::oneshot;

use crate::lookups::Lookups;
use crate::metrics::DbOp;

/// Most coalescing groups (distinct table and feature lists); beyond, lookups run uncoalesced.
const MAX_GROUPS: usize = 4096;

/// Which lookups may share a query: same online table, same requested features.
#[derive(Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    online: String,
    features: Option<Vec<String>>,
}

/// A queued request: its layout, keys, and where its share of the batch's result goes (`None`:
/// the batch failed, run alone).
struct Waiter {
    published: Arc<PublishedTable>,
    keys: Vec<Vec<Value>>,
    tx: oneshot::Sender<Option<LookupResult>>,
}

#[derive(Default)]
struct GroupState {
    in_flight: usize,
    queue: VecDeque<Waiter>,
}

#[derive(Default)]
struct Group {
    state: Mutex<GroupState>,
}

impl Group {
    fn lock(&self) -> MutexGuard<'_, GroupState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Coalesces lookups into shared backend calls (see the module docs).
pub(crate) struct Coalescer {
    /// Backend calls per group running at once before requests queue; 0 turns coalescing off.
    max_in_flight: usize,
    /// Most keys in one coalesced call.
    max_keys: usize,
    groups: Mutex<HashMap<GroupKey, Arc<Group>>>,
}

/// Releases a group's slot when the call that holds it ends, even when the request is dropped
/// (a client gone or a timeout) in the middle: queued work then starts in a task of its own.
struct Slot<'a> {
    lookups: &'a Lookups,
    group: Arc<Group>,
    features: Option<&'a [String]>,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let max_keys = self.lookups.coalescer().max_keys;
        let Some(batch) = take_batch(&mut self.group.lock(), max_keys) else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            // No runtime (shutting down): the waiters see their senders dropped and run alone.
            return;
        };
        let (lookups, group) = (self.lookups.clone(), self.group.clone());
        let features = self.features.map(<[String]>::to_vec);
        rt.spawn(async move {
            drain(&lookups, &group, features.as_deref(), batch).await;
        });
    }
}

/// The next batch of `state`'s queue (requests with the first one's layout, up to `max_keys`
/// keys; at least one request), keeping the slot; or, with nothing queued, frees the slot.
fn take_batch(state: &mut GroupState, max_keys: usize) -> Option<Vec<Waiter>> {
    let Some(first) = state.queue.pop_front() else {
        state.in_flight = state.in_flight.saturating_sub(1);
        return None;
    };
    let published = first.published.clone();
    let room = max_keys.saturating_sub(first.keys.len());
    let mut batch = vec![first];
    batch.extend(take_queued(state, &published, room));
    Some(batch)
}

/// Takes from `state`'s queue, in order, the requests made with `published` whose keys fit in
/// `room` keys; the others stay queued.
fn take_queued(
    state: &mut GroupState,
    published: &Arc<PublishedTable>,
    room: usize,
) -> Vec<Waiter> {
    let mut taken = Vec::new();
    if state.queue.is_empty() {
        return taken;
    }
    let mut keys = 0;
    let mut rest = VecDeque::with_capacity(state.queue.len());
    while let Some(w) = state.queue.pop_front() {
        if Arc::ptr_eq(&w.published, published) && keys + w.keys.len() <= room {
            keys += w.keys.len();
            taken.push(w);
        } else {
            rest.push_back(w);
        }
    }
    state.queue = rest;
    taken
}

/// Runs `batch`, then every batch queued meanwhile, in this task; frees the slot when the queue
/// is empty.
async fn drain(
    lookups: &Lookups,
    group: &Group,
    features: Option<&[String]>,
    mut batch: Vec<Waiter>,
) {
    loop {
        run_batch(lookups, features, batch).await;
        match take_batch(&mut group.lock(), lookups.coalescer().max_keys) {
            Some(next) => batch = next,
            None => return,
        }
    }
}

/// One backend call for every request of `batch`; each gets its rows, or `None` to run alone.
async fn run_batch(lookups: &Lookups, features: Option<&[String]>, batch: Vec<Waiter>) {
    let Some(published) = batch.first().map(|w| w.published.clone()) else {
        return;
    };
    let _ = run_shared(lookups, &published, features, &[], batch).await;
}

/// One backend call for `own` keys (of the calling request, possibly none) followed by every
/// request of `waiters` (all made with `published`); each waiter gets its rows, or `None` to run
/// alone. Returns the rows of `own` (`Err` when the call failed: the caller's own error is
/// then found by running alone, like the waiters').
async fn run_shared(
    lookups: &Lookups,
    published: &PublishedTable,
    features: Option<&[String]>,
    own: &[Vec<Value>],
    waiters: Vec<Waiter>,
) -> Result<LookupResult, StoreError> {
    // A request whose client is gone needs no rows.
    let waiters: Vec<Waiter> = waiters.into_iter().filter(|w| !w.tx.is_closed()).collect();
    if waiters.is_empty() {
        return timed(lookups, published, own, features).await;
    }
    let total = own.len() + waiters.iter().map(|w| w.keys.len()).sum::<usize>();
    let mut keys = Vec::with_capacity(total);
    keys.extend(own.iter().cloned());
    for w in &waiters {
        keys.extend(w.keys.iter().cloned());
    }
    let r = timed(lookups, published, &keys, features).await;
    let requests = waiters.len() + usize::from(!own.is_empty());
    if requests > 1 {
        lookups.metrics().count_coalesced(requests);
    }
    match r {
        Ok(result) if result.rows.len() == total => {
            let mut rows = result.rows.into_iter();
            let mine = LookupResult {
                columns: result.columns.clone(),
                rows: rows.by_ref().take(own.len()).collect(),
            };
            for w in waiters {
                let part = LookupResult {
                    columns: result.columns.clone(),
                    rows: rows.by_ref().take(w.keys.len()).collect(),
                };
                let _ = w.tx.send(Some(part));
            }
            Ok(mine)
        }
        // Each request runs again alone: its own error (or success) is its own.
        other => {
            for w in waiters {
                let _ = w.tx.send(None);
            }
            match other {
                Err(e) => Err(e),
                Ok(_) => Err(StoreError::new(
                    fstore_online::StoreErrorKind::Database,
                    "a shared lookup returned a row count that does not match its keys",
                )),
            }
        }
    }
}

/// One backend call, timed into the metrics.
async fn timed(
    lookups: &Lookups,
    published: &PublishedTable,
    keys: &[Vec<Value>],
    features: Option<&[String]>,
) -> Result<LookupResult, StoreError> {
    let start = Instant::now();
    let r = lookups
        .store()
        .lookup_in(&published.layout, keys, features)
        .await;
    lookups.metrics().observe_db(DbOp::Lookup, start.elapsed());
    r
}

impl Coalescer {
    pub(crate) fn new(max_in_flight: usize, max_keys: usize) -> Self {
        Self {
            max_in_flight,
            max_keys: max_keys.max(1),
            groups: Mutex::new(HashMap::new()),
        }
    }

    /// Looks `keys` up in `published` (one backend call, shared with concurrent requests when
    /// the table's quota of calls is busy): the store's answer, rows in `keys` order.
    pub(crate) async fn lookup(
        &self,
        lookups: &Lookups,
        published: &Arc<PublishedTable>,
        keys: &[Vec<Value>],
        features: Option<&[String]>,
    ) -> Result<LookupResult, StoreError> {
        // Batches larger than one call could hold gain nothing.
        if self.max_in_flight == 0 || keys.len() >= self.max_keys {
            return timed(lookups, published, keys, features).await;
        }
        let Some(group) = self.group(&published.layout.table, features) else {
            return timed(lookups, published, keys, features).await;
        };
        let rx = {
            let mut state = group.lock();
            if state.in_flight < self.max_in_flight {
                state.in_flight += 1;
                None
            } else {
                let (tx, rx) = oneshot::channel();
                state.queue.push_back(Waiter {
                    published: published.clone(),
                    keys: keys.to_vec(),
                    tx,
                });
                Some(rx)
            }
        };
        match rx {
            None => {
                let slot = Slot {
                    lookups,
                    group,
                    features,
                };
                // Requests that have already arrived (their tasks are ready to run) get to queue
                // first, and share this call: no timer, so a lone request does not wait.
                tokio::task::yield_now().await;
                let room = self.max_keys.saturating_sub(keys.len());
                let queued = take_queued(&mut slot.group.lock(), published, room);
                if queued.is_empty() {
                    return timed(lookups, published, keys, features).await;
                }
                match run_shared(lookups, published, features, keys, queued).await {
                    Ok(mine) => Ok(mine),
                    Err(_) => timed(lookups, published, keys, features).await,
                }
            }
            Some(rx) => match rx.await {
                Ok(Some(result)) => Ok(result),
                // The batch failed (or its task was dropped): this request's own answer.
                _ => timed(lookups, published, keys, features).await,
            },
        }
    }

    fn group(&self, online: &str, features: Option<&[String]>) -> Option<Arc<Group>> {
        let key = GroupKey {
            online: online.to_string(),
            features: features.map(<[String]>::to_vec),
        };
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(g) = groups.get(&key) {
            return Some(g.clone());
        }
        if groups.len() >= MAX_GROUPS {
            return None;
        }
        let g = Arc::new(Group::default());
        groups.insert(key, g.clone());
        Some(g)
    }
}
