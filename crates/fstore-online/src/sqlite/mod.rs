//! The SQLite backend: one database file, WAL mode, tables `STRICT, WITHOUT ROWID`.
//!
//! rusqlite is synchronous, so every operation runs in `tokio::task::spawn_blocking`: writes on the
//! one writer connection, lookups on a small pool of reader connections (WAL lets them read while
//! a publish writes). A write is one transaction including its bookkeeping row; an overwrite
//! builds `_fstore_shadow_<table>` and swaps it in inside that same transaction, so readers see the
//! old table or the new one, never anything in between.

mod ddl;
mod error;
mod history;
mod read;
mod scan;
mod serving;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fstore_core::{FeatureType, Progress, Value};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use tokio::sync::mpsc;

use self::error::Ctx;
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::OnlineLayout;
use crate::{
    Applied, KeySort, LookupResult, OnlineReader, OnlineWriter, PublishHistoryEntry,
    PublishedTable, Rows, WriteMeta,
};

pub use ddl::SHADOW_PREFIX;

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Reader connections kept open between lookups.
const MAX_IDLE_READERS: usize = 8;

/// The SQLite online store. Cheap to share: clones of the inner state are reference-counted.
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

fn open_connection(path: &Path) -> Result<Connection> {
    let what = || format!("opening {}", path.display());
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_ctx(what)?;
    conn.busy_timeout(BUSY_TIMEOUT).with_ctx(what)?;
    // Off: SQLite's legacy misfeature of reading a double-quoted identifier that names no column
    // as a string literal, which would turn a lookup of a dropped column into a column of its
    // name instead of an error.
    for dqs in [
        DbConfig::SQLITE_DBCONFIG_DQS_DML,
        DbConfig::SQLITE_DBCONFIG_DQS_DDL,
    ] {
        conn.set_db_config(dqs, false).with_ctx(what)?;
    }
    Ok(conn)
}

impl SqliteStore {
    /// Runs one write on the writer connection (a blocking task), relaying its progress; stops
    /// `feeder` (the task streaming chunks to it) when the write ends early.
    async fn run_write(
        &self,
        layout: &OnlineLayout,
        job: write::Job,
        meta: &WriteMeta,
        progress: &dyn Progress,
        feeder: Option<tokio::task::JoinHandle<()>>,
    ) -> Result<Applied> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let layout = layout.clone();
        let meta = meta.clone();
        let inner = self.inner.clone();
        // If this future is dropped before the write ends (Ctrl-C in Python, a timeout), the guard
        // stops the feeder and tells the writer thread, which then rolls back.
        let _guard = CancelOnDrop {
            cancelled: job.cancelled.clone(),
            feeder,
        };
        let task = tokio::task::spawn_blocking(move || {
            let sink = ChannelProgress(tx);
            let mut conn = inner.writer.lock().unwrap_or_else(|e| e.into_inner());
            write::apply(&mut conn, &layout, job, &meta, &sink)
        });
        // The channel closes when the task ends (its sender is dropped).
        while let Some(msg) = rx.recv().await {
            match msg {
                ProgressMsg::Total(n) => progress.set_total(n),
                ProgressMsg::Stage(s) => progress.set_stage(&s),
                ProgressMsg::Inc(n) => progress.inc(n),
            }
        }
        task.await.map_err(|e| {
            StoreError::new(
                StoreErrorKind::Database,
                format!("the SQLite writer task failed: {e}"),
            )
        })?
    }

    /// Opens (creating it and its parent directories if needed) the SQLite file at `path`, in WAL
    /// mode with `synchronous=NORMAL`.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                let kind = if e.kind() == std::io::ErrorKind::PermissionDenied {
                    StoreErrorKind::PermissionDenied
                } else {
                    StoreErrorKind::Connection
                };
                StoreError::new(
                    kind,
                    format!(
                        "cannot create directory {} for the SQLite store: {e}",
                        parent.display()
                    ),
                )
            })?;
        }
        let writer = open_connection(path)?;
        let what = || format!("configuring {}", path.display());
        let mode: String = writer
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .with_ctx(what)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::new(
                StoreErrorKind::Database,
                format!(
                    "{} cannot use write-ahead logging (journal mode is {mode}); use a file on a local disk",
                    path.display()
                ),
            ));
        }
        writer
            .execute_batch(
                "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
            )
            .with_ctx(what)?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on a pooled reader connection in a blocking task.
    async fn with_reader<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        run_blocking(move || {
            let pooled = inner
                .readers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop();
            let mut conn = match pooled {
                Some(c) => c,
                None => {
                    let c = open_connection(&inner.path)?;
                    c.execute_batch("PRAGMA query_only = 1")
                        .ctx("configuring a reader connection")?;
                    c
                }
            };
            let out = f(&mut conn);
            let broken = matches!(&out, Err(e) if e.kind == StoreErrorKind::Connection);
            if !broken && conn.is_autocommit() {
                let mut pool = inner.readers.lock().unwrap_or_else(|e| e.into_inner());
                if pool.len() < MAX_IDLE_READERS {
                    pool.push(conn);
                }
            }
            out
        })
        .await
    }

    /// Runs `f` on the writer connection in a blocking task.
    async fn with_writer<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        run_blocking(move || {
            let mut conn = inner.writer.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn)
        })
        .await
    }
}

async fn run_blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        StoreError::new(
            StoreErrorKind::Database,
            format!("the SQLite worker task failed: {e}"),
        )
    })?
}

/// Progress reported from the blocking writer, forwarded to the caller's sink on the async side.
enum ProgressMsg {
    Total(u64),
    Stage(String),
    Inc(u64),
}

struct ChannelProgress(mpsc::UnboundedSender<ProgressMsg>);

impl Progress for ChannelProgress {
    fn set_total(&self, total: u64) {
        let _ = self.0.send(ProgressMsg::Total(total));
    }
    fn set_stage(&self, stage: &str) {
        let _ = self.0.send(ProgressMsg::Stage(stage.to_string()));
    }
    fn inc(&self, n: u64) {
        let _ = self.0.send(ProgressMsg::Inc(n));
    }
}

/// Marks a write cancelled and stops its feeder task when dropped: on every exit of
/// `run_write`, which is harmless once the writer thread has finished.
struct CancelOnDrop {
    cancelled: write::Cancelled,
    feeder: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.cancelled
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(f) = &self.feeder {
            f.abort();
        }
    }
}

impl OnlineWriter for SqliteStore {
    async fn apply(
        &self,
        layout: &OnlineLayout,
        rows: Rows,
        meta: &WriteMeta,
        progress: &dyn Progress,
    ) -> Result<Applied> {
        let mode = rows.mode();
        let (kind, input, deletes, complete, rows_hint) = match rows {
            Rows::Merge(s) => (write::Kind::Merge, Some(s), Vec::new(), false, None),
            Rows::Overwrite(s) => (write::Kind::Overwrite, Some(s), Vec::new(), false, None),
            Rows::Sync(s) => (write::Kind::Changes, Some(s), Vec::new(), true, None),
            Rows::Changes(c) => {
                let rows = c.upserts.iter().map(|b| b.num_rows() as u64).sum();
                let input = write::Input::Batches(c.upserts);
                let job = write::Job {
                    mode,
                    kind: write::Kind::Changes,
                    input,
                    deletes: c.deletes,
                    complete: c.complete,
                    rows_hint: Some(rows),
                    cancelled: write::Cancelled::default(),
                };
                return self.run_write(layout, job, meta, progress, None).await;
            }
        };
        let mut stream = input.expect("a streamed variant");
        let rows_hint = rows_hint.or(stream.rows_hint());
        // The writer thread receives one chunk at a time: at most one more waits in the channel.
        let (chunk_tx, chunk_rx) = mpsc::channel(1);
        let feeder = tokio::spawn(async move {
            loop {
                let msg = match stream.next_chunk().await.transpose() {
                    None => write::Feed::End,
                    Some(chunk) => write::Feed::Chunk(chunk),
                };
                let last = !matches!(msg, write::Feed::Chunk(Ok(_)));
                if chunk_tx.send(msg).await.is_err() || last {
                    break;
                }
            }
        });
        let job = write::Job {
            mode,
            kind,
            input: write::Input::Chunks(chunk_rx),
            deletes,
            complete,
            rows_hint,
            cancelled: write::Cancelled::default(),
        };
        self.run_write(layout, job, meta, progress, Some(feeder))
            .await
    }
    async fn record_publish(&self, entry: &PublishHistoryEntry) -> Result<()> {
        let entry = entry.clone();
        self.with_writer(move |conn| history::record(conn, &entry))
            .await
    }

    async fn drop_table(&self, table: &str) -> Result<()> {
        write::check_table_name(table)?;
        let table = table.to_string();
        self.with_writer(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx("starting a transaction")?;
            for t in [table.clone(), ddl::shadow_name(&table)] {
                tx.execute_batch(&format!(
                    "DROP TABLE IF EXISTS {}",
                    fstore_core::ident::quote_sqlite(&t)
                ))
                .with_ctx(|| format!("dropping table `{t}`"))?;
            }
            ddl::delete_bookkeeping(&tx, &table)?;
            tx.commit()
                .with_ctx(|| format!("committing the drop of `{table}`"))
        })
        .await
    }
}

impl OnlineReader for SqliteStore {
    async fn lookup(
        &self,
        table: &str,
        keys: &[Vec<Value>],
        features: Option<&[String]>,
    ) -> Result<LookupResult> {
        let table = table.to_string();
        let keys = keys.to_vec();
        let features = features.map(<[String]>::to_vec);
        self.with_reader(move |conn| read::lookup(conn, &table, &keys, features.as_deref()))
            .await
    }

    async fn lookup_in(
        &self,
        layout: &OnlineLayout,
        keys: &[Vec<Value>],
        features: Option<&[String]>,
    ) -> Result<LookupResult> {
        let layout = layout.clone();
        let keys = keys.to_vec();
        let features = features.map(<[String]>::to_vec);
        self.with_reader(move |conn| read::lookup_in(conn, &layout, &keys, features.as_deref()))
            .await
    }

    async fn describe(&self, table: &str) -> Result<Option<PublishedTable>> {
        let table = table.to_string();
        self.with_reader(move |conn| ddl::read_bookkeeping(conn, &table))
            .await
    }

    async fn list(&self) -> Result<Vec<PublishedTable>> {
        self.with_reader(|conn| ddl::list_bookkeeping(conn)).await
    }

    async fn history(&self, table: &str, limit: usize) -> Result<Vec<PublishHistoryEntry>> {
        let table = table.to_string();
        self.with_reader(move |conn| history::read(conn, &table, limit))
            .await
    }

    async fn health(&self) -> Result<()> {
        self.with_reader(|conn| {
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
                r.get::<_, i64>(0)
            })
            .ctx("checking the database")
            .map(|_| ())
        })
        .await
    }

    async fn scan_page(
        &self,
        layout: &OnlineLayout,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Vec<Value>>> {
        let layout = layout.clone();
        let after = after.map(<[Value]>::to_vec);
        self.with_reader(move |conn| scan::scan_page(conn, &layout, after.as_deref(), limit))
            .await
    }

    /// Decimal keys are `TEXT` online: they order as their text.
    fn key_sort(&self, ftype: FeatureType) -> KeySort {
        match ftype {
            FeatureType::Decimal { .. } => KeySort::Text,
            _ => KeySort::Value,
        }
    }
}
