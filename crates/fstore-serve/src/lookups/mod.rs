//! [`Lookups`]: feature lookups with JSON keys and type-faithful results, in process — what the
//! HTTP handlers call, and what a Rust program embedding fstore can call without HTTP.
//!
//! Each table named in a request costs at most one [`OnlineReader::lookup_in`] call with the cached
//! layout (the backends turn it into one query, no bookkeeping read); under load, concurrent
//! requests for the same table share one call (`coalesce.rs`). Keys are typed by the table's layout, which is cached: a cached layout older
//! than [`LookupOptions::layout_ttl`] is still used while a background task re-reads it
//! (`OnlineReader::describe`), so a publish (merge or overwrite) never stalls serving. When the store
//! rejects a lookup made with a cached layout (a publish changed the table), the layout is
//! re-read and the lookup retried once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fstore_core::{TableName, Value};
use fstore_online::{
    LookupResult, OnlineReader, PublishedTable, ReadStore, ServingCheck, StoreErrorKind,
};

use crate::coalesce::Coalescer;
use crate::error::{ErrorKind, ServeError};

use crate::metrics::{DbOp, Metrics};
use crate::request::{TableLookupRequest, VectorLookupRequest, shorten};

mod keys;
mod response;

use keys::{check_features, table_keys, vector_keys, vector_part};
pub use response::{Output, TableLookupResponse, VectorLookupResponse, VectorPart};

/// Limits and caching of [`Lookups`].
#[derive(Clone, Debug)]
pub struct LookupOptions {
    /// Most keys in one table lookup, and most rows in one vector lookup (default 1000).
    pub max_keys: usize,
    /// Most tables in one vector lookup (default 32).
    pub max_lookups: usize,
    /// How long a cached table layout is used before it is re-read in the background (default 5 s).
    pub layout_ttl: Duration,
    /// Longest wait for the database in [`Lookups::health`] (default 2 s).
    pub health_timeout: Duration,
    /// Lookup queries to one table (with one list of features) running at once (default 2);
    /// further requests wait and share the next query, one `IN (...)` for all their keys (see
    /// `coalesce.rs`). 0: no limit, one query per request.
    pub max_queries_per_table: usize,
}

impl Default for LookupOptions {
    fn default() -> Self {
        Self {
            max_keys: 1000,
            max_lookups: 32,
            layout_ttl: Duration::from_secs(5),
            health_timeout: Duration::from_secs(2),
            max_queries_per_table: DEFAULT_MAX_QUERIES_PER_TABLE,
        }
    }
}

/// Default of [`LookupOptions::max_queries_per_table`].
pub const DEFAULT_MAX_QUERIES_PER_TABLE: usize = 2;

/// A re-read of a layout at most this often when a request disagrees with the cached one.
const MIN_REVALIDATE: Duration = Duration::from_millis(500);

/// Which online table a request names: `<schema>.<table>` (the online table is the part after
/// the dot, as `fstore publish` names it) or an online table name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableRef {
    /// The name as the request gave it.
    pub requested: String,
    /// The online table.
    pub online: String,
    /// The feature table, when the request named one.
    pub feature_table: Option<String>,
}

impl TableRef {
    /// Parses a table name from a request.
    pub fn parse(name: &str) -> Result<Self, ServeError> {
        if name.contains('.') {
            let t = TableName::parse(name).map_err(|e| ServeError::bad_request(e.to_string()))?;
            Ok(Self {
                requested: name.to_string(),
                online: t.table().to_string(),
                feature_table: Some(t.to_string()),
            })
        } else {
            fstore_core::ident::validate_online_table_name(name)
                .map_err(|e| ServeError::bad_request(e.to_string()))?;
            Ok(Self {
                requested: name.to_string(),
                online: name.to_string(),
                feature_table: None,
            })
        }
    }
}

struct Cached {
    table: Arc<PublishedTable>,
    fetched: Instant,
    refreshing: bool,
}

struct Inner {
    store: ReadStore,
    opts: LookupOptions,
    metrics: Arc<Metrics>,
    cache: Mutex<HashMap<String, Cached>>,
    coalescer: Coalescer,
}

/// Feature lookups over one online store. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Lookups {
    inner: Arc<Inner>,
}

/// One table's lookup: the layout it was made with, the keys and the store's answer.
struct Fetched<T> {
    published: Arc<PublishedTable>,
    keys: Vec<Vec<Value>>,
    extra: T,
    result: LookupResult,
}

impl Lookups {
    /// Serves lookups from `store` (opened with the reader identity).
    pub fn new(store: ReadStore, opts: LookupOptions) -> Self {
        Self::with_metrics(store, opts, Arc::new(Metrics::new()))
    }

    /// [`Lookups::new`] recording database time into `metrics`.
    pub fn with_metrics(store: ReadStore, opts: LookupOptions, metrics: Arc<Metrics>) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                metrics,
                cache: Mutex::new(HashMap::new()),
                coalescer: Coalescer::new(opts.max_queries_per_table, opts.max_keys),
                opts,
            }),
        }
    }

    pub fn store(&self) -> &ReadStore {
        &self.inner.store
    }

    pub fn options(&self) -> &LookupOptions {
        &self.inner.opts
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    pub(crate) fn coalescer(&self) -> &Coalescer {
        &self.inner.coalescer
    }

    /// Is the server ready: can the store's identity read what serving needs, the bookkeeping
    /// table and every published table's columns ([`ServingCheck::check_serving`])? Bounded by
    /// [`LookupOptions::health_timeout`]. A database that cannot be reached (or refuses the
    /// credentials) gives the generic unavailable message (the detail is logged); a table that
    /// cannot be served gives a message naming it and saying why, for whoever reads the probe.
    pub async fn health(&self) -> Result<(), ServeError> {
        let start = Instant::now();
        let store = &self.inner.store;
        let check = async {
            let published = store.list().await?;
            if published.is_empty() {
                // Nothing to serve (the list was read, so the database answered).
                return Ok(());
            }
            let layouts: Vec<_> = published.into_iter().map(|p| p.layout).collect();
            store.check_serving(&layouts).await
        };
        let r = tokio::time::timeout(self.inner.opts.health_timeout, check).await;
        self.inner.metrics.observe_db(DbOp::Health, start.elapsed());
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(match e.kind {
                StoreErrorKind::Connection
                | StoreErrorKind::AuthFailed
                | StoreErrorKind::UnknownDatabase => {
                    ServeError::server(ErrorKind::Unavailable, e.message)
                }
                // The store's message names the table and the cause (a missing privilege,
                // table or column), never a secret.
                _ => ServeError {
                    kind: ErrorKind::Unavailable,
                    message: format!("not ready: {}", e.message),
                    detail: None,
                },
            }),
            Err(_) => Err(ServeError::server(
                ErrorKind::Unavailable,
                format!(
                    "the database did not answer within {:?}",
                    self.inner.opts.health_timeout
                ),
            )),
        }
    }

    /// The published table `name` refers to (cached), or a 404 error.
    pub async fn describe(&self, name: &str) -> Result<Arc<PublishedTable>, ServeError> {
        self.published(&TableRef::parse(name)?).await
    }

    /// Looks up `req.keys` in the feature table `name`: results in request order, `None` for keys
    /// that are not online.
    pub async fn lookup_table(
        &self,
        name: &str,
        req: &TableLookupRequest,
    ) -> Result<TableLookupResponse, ServeError> {
        let max = self.inner.opts.max_keys;
        if req.keys.len() > max {
            return Err(ServeError::new(
                ErrorKind::TooManyKeys,
                format!(
                    "too many keys: {} in one request, the limit is {max}; split the request",
                    req.keys.len()
                ),
            ));
        }
        let target = TableRef::parse(name)?;
        let f = self
            .fetch(&target, req.features.as_deref(), |p| {
                Ok((table_keys(p, &req.keys)?, ()))
            })
            .await?;
        self.inner.metrics.count_keys(f.keys.len());
        Ok(TableLookupResponse {
            feature_table: f.published.feature_table.clone(),
            online_table: f.published.layout.table.clone(),
            delta_version: f.published.delta_version,
            primary_keys: f.published.layout.primary_keys.clone(),
            keys: f.keys,
            result: f.result,
        })
    }

    /// Looks up several feature tables for each row and merges the features into the rows.
    pub async fn lookup_vectors(
        &self,
        req: &VectorLookupRequest,
    ) -> Result<VectorLookupResponse, ServeError> {
        let opts = &self.inner.opts;
        if req.rows.len() > opts.max_keys {
            return Err(ServeError::new(
                ErrorKind::TooManyKeys,
                format!(
                    "too many rows: {} in one request, the limit is {}; split the request",
                    req.rows.len(),
                    opts.max_keys
                ),
            ));
        }
        if req.lookups.len() > opts.max_lookups {
            return Err(ServeError::new(
                ErrorKind::TooManyKeys,
                format!(
                    "too many lookups: {} in one request, the limit is {}",
                    req.lookups.len(),
                    opts.max_lookups
                ),
            ));
        }
        if req.lookups.is_empty() {
            return Err(ServeError::bad_request(
                "`lookups` is empty; name at least one feature table",
            ));
        }
        let targets = req
            .lookups
            .iter()
            .enumerate()
            .map(|(j, l)| {
                TableRef::parse(&l.table).map_err(|e| ServeError {
                    message: format!("lookup #{}: {}", j + 1, e.message),
                    ..e
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let fetches = req
            .lookups
            .iter()
            .zip(&targets)
            .enumerate()
            .map(|(j, (l, t))| {
                self.fetch(t, l.features.as_deref(), move |p| {
                    vector_keys(p, j, l, &req.rows)
                })
            });
        let fetched = futures::future::try_join_all(fetches).await?;
        let mut parts = Vec::with_capacity(fetched.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (j, (f, l)) in fetched.into_iter().zip(&req.lookups).enumerate() {
            self.inner.metrics.count_keys(f.keys.len());
            parts.push(vector_part(j, l, f, &mut seen)?);
        }
        for (i, row) in req.rows.iter().enumerate() {
            for (name, &j) in &seen {
                if row.contains_key(name) {
                    return Err(ServeError::bad_request(format!(
                        "row #{} already has a field `{}`, which lookup #{} (`{}`) also outputs; rename the feature with \"rename\"",
                        i + 1,
                        shorten(name),
                        j + 1,
                        shorten(&req.lookups[j].table)
                    )));
                }
            }
        }
        Ok(VectorLookupResponse {
            rows: req.rows.clone(),
            parts,
        })
    }

    /// Resolves `target`, checks `features`, builds the keys with `keys_of` and makes the one
    /// backend call; retries once with a re-read layout when the store disagrees with the cache.
    async fn fetch<T>(
        &self,
        target: &TableRef,
        features: Option<&[String]>,
        keys_of: impl Fn(&PublishedTable) -> Result<(Vec<Vec<Value>>, T), ServeError>,
    ) -> Result<Fetched<T>, ServeError> {
        let mut published = self.published(target).await?;
        let mut retried = false;
        loop {
            let checked = check_features(&published, features).and_then(|()| keys_of(&published));
            let (keys, extra) = match checked {
                Ok(k) => k,
                Err(e) if !retried => {
                    retried = true;
                    match self.revalidate(target, &published, false).await? {
                        Some(newer) => {
                            published = newer;
                            continue;
                        }
                        None => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            };
            let r = self
                .inner
                .coalescer
                .lookup(self, &published, &keys, features)
                .await;
            match r {
                Ok(result) => {
                    return Ok(Fetched {
                        published,
                        keys,
                        extra,
                        result,
                    });
                }
                // A stale cached layout shows as a missing table or column, or as a value of
                // another type (an overwrite changed a column's type): re-read and retry once.
                Err(e)
                    if !retried
                        && matches!(
                            e.kind,
                            StoreErrorKind::BadRequest
                                | StoreErrorKind::MissingTable
                                | StoreErrorKind::Database
                        ) =>
                {
                    retried = true;
                    match self.revalidate(target, &published, true).await? {
                        Some(newer) => published = newer,
                        None => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The published table behind `target`, from the cache when there, or a 404 error.
    async fn published(&self, target: &TableRef) -> Result<Arc<PublishedTable>, ServeError> {
        let p = self.cached(&target.online).await?;
        self.check_published(target, p)
    }

    fn check_published(
        &self,
        target: &TableRef,
        p: Option<Arc<PublishedTable>>,
    ) -> Result<Arc<PublishedTable>, ServeError> {
        match p {
            None => Err(ServeError::not_found(format!(
                "feature table `{}` is not published in this store",
                shorten(&target.requested)
            ))),
            Some(p) => match &target.feature_table {
                Some(ft) if *ft != p.feature_table => Err(ServeError::not_found(format!(
                    "feature table `{ft}` is not published in this store (its online table `{}` holds `{}`)",
                    target.online, p.feature_table
                ))),
                _ => Ok(p),
            },
        }
    }

    /// Re-reads the layout after a request disagreed with `current`: `Some(newer)` when it changed
    /// (so the request is worth retrying), `None` when it did not (or was read moments ago).
    /// `store_rejected`: the store refused a lookup made with `current`, so `current` is known
    /// stale: a cached copy of it read moments ago does not stand in for a re-read (a request's
    /// own mistake, like an unknown feature, never costs more than one re-read per
    /// [`MIN_REVALIDATE`]).
    async fn revalidate(
        &self,
        target: &TableRef,
        current: &Arc<PublishedTable>,
        store_rejected: bool,
    ) -> Result<Option<Arc<PublishedTable>>, ServeError> {
        let recent = {
            let cache = self.inner.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.get(&target.online).and_then(|c| {
                let fresh = c.fetched.elapsed() < MIN_REVALIDATE;
                let known_stale = store_rejected && Arc::ptr_eq(&c.table, current);
                (fresh && !known_stale).then(|| c.table.clone())
            })
        };
        let newer = match recent {
            Some(t) => Some(t),
            None => self.refresh(&target.online).await?,
        };
        let newer = self.check_published(target, newer)?;
        Ok((!Arc::ptr_eq(&newer, current) && *newer != **current).then_some(newer))
    }

    /// The cached layout of `online`; re-read in the background when older than the TTL, read
    /// now when not cached.
    async fn cached(&self, online: &str) -> Result<Option<Arc<PublishedTable>>, ServeError> {
        {
            let mut cache = self.inner.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = cache.get_mut(online) {
                if c.fetched.elapsed() >= self.inner.opts.layout_ttl && !c.refreshing {
                    c.refreshing = true;
                    let me = self.clone();
                    let online = online.to_string();
                    tokio::spawn(async move {
                        if let Err(e) = me.refresh(&online).await {
                            tracing::warn!(table = %online, error = %e, "could not refresh the table layout; serving the cached one");
                        }
                    });
                }
                return Ok(Some(c.table.clone()));
            }
        }
        self.refresh(online).await
    }

    /// The bookkeeping rows of the tables whose layouts are cached (every table served since
    /// start, as fresh as the cache: re-read in the background after the layout TTL).
    pub fn cached_tables(&self) -> Vec<Arc<PublishedTable>> {
        let cache = self.inner.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.values().map(|c| c.table.clone()).collect()
    }

    /// Reads the layout of `online` from the store and caches it.
    async fn refresh(&self, online: &str) -> Result<Option<Arc<PublishedTable>>, ServeError> {
        let start = Instant::now();
        let r = self.inner.store.describe(online).await;
        self.inner
            .metrics
            .observe_db(DbOp::Describe, start.elapsed());
        let mut cache = self.inner.cache.lock().unwrap_or_else(|e| e.into_inner());
        match r {
            Ok(Some(p)) => {
                let changed = cache.get(online).is_none_or(|c| *c.table != p);
                let table = match cache.get(online) {
                    Some(c) if !changed => c.table.clone(),
                    _ => Arc::new(p),
                };
                if changed {
                    tracing::info!(
                        table = online,
                        delta_version = table.delta_version,
                        "table layout loaded"
                    );
                }
                cache.insert(
                    online.to_string(),
                    Cached {
                        table: table.clone(),
                        fetched: Instant::now(),
                        refreshing: false,
                    },
                );
                Ok(Some(table))
            }
            Ok(None) => {
                cache.remove(online);
                Ok(None)
            }
            Err(e) => {
                if let Some(c) = cache.get_mut(online) {
                    c.refreshing = false;
                }
                Err(e.into())
            }
        }
    }
}
