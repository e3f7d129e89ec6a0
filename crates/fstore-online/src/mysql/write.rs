//! The MySQL write path: first publish, merge, change sets and overwrite.
//!
//! Every write holds the advisory lock `GET_LOCK('fstore:<db>.<table>')` so two publishes of one
//! table never interleave (the second waits up to [`LOCK_WAIT_SECS`], then fails saying so), and
//! runs on one pooled connection that is reset when it goes back to the pool (temporary tables,
//! session state and the lock go with the reset). Under the lock it first settles what an
//! interrupted swap left (see below), then checks the write's [`crate::Expect`] against the
//! bookkeeping row.
//!
//! - First publish (no table yet) and overwrite: the rows are loaded into `_fstore_shadow_<t>`;
//!   the bookkeeping row is written for the *shadow* name; then one atomic
//!   `RENAME TABLE [t TO _fstore_old_<t>,] _fstore_shadow_<t> TO t`; then, in one transaction,
//!   the shadow row replaces the table's row; then the old table is dropped. Readers never see an
//!   empty or half-filled table. `RENAME TABLE` commits implicitly, so the row cannot move in the
//!   same transaction as the swap; instead a shadow row is resolved by whether its table still
//!   exists: present = the swap never happened (row discarded, table dropped), absent = the swap
//!   happened (row promoted). `describe` reads it the same way. So a crash at any instant leaves
//!   a record that names exactly the data online.
//! - Merge of whole rows (no timestamp rule, every online column published, `LOAD DATA`
//!   allowed): ONE transaction runs `LOAD DATA … REPLACE INTO TABLE t` straight into the table
//!   and upserts the bookkeeping row; InnoDB replaces a row whose key is the only unique index in
//!   place, so this costs about one bulk load (a staging table would cost two).
//! - A change set that is the whole new view (`ChangeSet::whole_view`: every row changed or is
//!   new, as after a full recompute), when it is large, publishes every online column, and the
//!   table has no trigger or foreign key: swapped in like an overwrite, into
//!   `CREATE TABLE _fstore_shadow_<t> LIKE t` (so the table keeps its own indexes and options)
//!   with the new columns added. A bulk load into an empty table costs about half of replacing
//!   every row in place. Counts come from the table's row count before and the change's deletes
//!   (the keys that stay are the others). An identity that may not create or rename tables
//!   gets the in-place merge instead.
//! - Any other merge: the rows go into a `TEMPORARY` staging table (gone with the connection if anything
//!   dies, and dropped explicitly after); then the online columns are compared with the layout
//!   (missing ones are added, a different type is refused before anything is written); then ONE
//!   transaction runs `INSERT INTO t (…) SELECT … FROM stage ON DUPLICATE KEY UPDATE …` and
//!   upserts the bookkeeping row. For time-series layouts each assignment is
//!   `c = IF(t.ts IS NULL OR stage.ts >= t.ts, stage.c, t.c)` with the timestamp column assigned
//!   last (MySQL and MariaDB evaluate assignments left to right), so an older event never
//!   replaces a newer one.
//! - Change sets: like a merge, plus a `TEMPORARY` table of the keys to delete; the transaction
//!   runs `DELETE t FROM t JOIN keys`, (complete sets) `DELETE t FROM t LEFT JOIN stage … WHERE
//!   stage.key IS NULL`, the upsert (without the timestamp guard for complete sets) and the
//!   bookkeeping row.
//!
//! Counts: merge counts rows inside the upsert's transaction: for time-series layouts and change
//! sets of up to [`JOIN_COUNT_MAX_ROWS`] rows one join of the staging table against the online
//! table (inserted / updated / skipped-older; its cost grows with the staged rows); otherwise
//! `COUNT(*)` before and after (inserted = growth, updated = the rest), much cheaper than a join
//! of a large merge. The fast path counts nothing when every row replaced a changed row
//! (`LOAD DATA`'s own counters say so), else counts "before" in a snapshot opened on a second
//! connection before the load, alongside the "after" count. Overwrite counts kept keys with one join of the shadow table against the old
//! table: `updated` = kept keys, `inserted` = new rows − kept, `deleted` = old rows − kept (exact;
//! 0 kept when the primary key columns changed).

use std::time::Instant;

use arrow::array::ArrayRef;
use arrow::record_batch::RecordBatch;
use fstore_core::ident::quote_mysql;
use fstore_core::{FeatureType, Progress};
use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::MysqlStore;
use super::adopt;
use super::ddl::{
    self, create_table_sql, keys_name, old_name, primary_keys, quoted_list, shadow_name, stage_name,
};
use super::error::{Ctx, Target};
use super::load::{self, BulkMode, LoadJob, LoadStats, Prepared};
use crate::arrow_values::prepare_columns;
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::OnlineLayout;
use crate::merge::{MergePlan, plan_merge};
use crate::validate::validate_batches;
use crate::{Applied, Rows, WriteMeta, WriteMode, WriteReport};

/// Change sets of at most this many rows count new keys with a join of the staged rows against
/// the table (cost grows with the change); larger ones count the table before and after.
const JOIN_COUNT_MAX_ROWS: u64 = 100_000;

/// Seconds a write waits for another writer of the same table.
const LOCK_WAIT_SECS: u64 = 600;

/// Online table names are validated identifiers; names starting with `_fstore_` are reserved for
/// fstore's own tables (same rule as the SQLite backend).
pub fn check_table_name(table: &str) -> Result<()> {
    fstore_core::ident::validate_online_table_name(table)
        .map_err(|e| StoreError::new(StoreErrorKind::BadRequest, e.to_string()))?;
    if table.starts_with("_fstore_") {
        return Err(StoreError::new(
            StoreErrorKind::BadRequest,
            format!(
                "online table name `{table}` is reserved: names starting with `_fstore_` belong to fstore's bookkeeping"
            ),
        ));
    }
    Ok(())
}

/// Validates and prepares the batches off the async runtime.
async fn prepare(layout: &OnlineLayout, batches: Vec<RecordBatch>) -> Result<Vec<Vec<ArrayRef>>> {
    let layout = layout.clone();
    tokio::task::spawn_blocking(move || {
        validate_batches(&layout, &batches)?;
        batches
            .iter()
            .map(|b| prepare_columns(&layout, b))
            .collect::<Result<Vec<_>>>()
    })
    .await
    .map_err(|e| {
        StoreError::new(
            StoreErrorKind::Database,
            format!("preparing the rows failed: {e}"),
        )
    })?
}

/// What kind of write, with what it needs beyond the upsert rows.
enum Job {
    Merge,
    Overwrite,
    Changes {
        /// Prepared key-layout columns of the keys to delete.
        deletes: Prepared,
        delete_rows: u64,
        complete: bool,
        whole_view: bool,
    },
}

pub async fn apply(
    store: &MysqlStore,
    layout: &OnlineLayout,
    rows: Rows,
    meta: &WriteMeta,
    progress: &dyn Progress,
) -> Result<Applied> {
    let start = Instant::now();
    check_table_name(&layout.table)?;
    if layout.primary_keys.is_empty() {
        return Err(StoreError::new(
            StoreErrorKind::InvalidData,
            format!(
                "online table `{}` needs at least one primary key column",
                layout.table
            ),
        ));
    }
    progress.set_stage("validating");
    let mode = rows.mode();
    let no_deletes = || Job::Changes {
        deletes: std::sync::Arc::new(Vec::new()),
        delete_rows: 0,
        complete: true,
        whole_view: false,
    };
    // The first chunk of a stream (all of a small write) is validated before anything else, so
    // bad values are reported first (before an incompatible table, say).
    let stream = |mut s: crate::RowStream| async move {
        let first = match s.next_chunk().await? {
            Some(chunk) => {
                let rows: u64 = chunk.iter().map(|b| b.num_rows() as u64).sum();
                Some((std::sync::Arc::new(prepare(layout, chunk).await?), rows))
            }
            None => None,
        };
        Ok::<_, StoreError>(Source::Stream(s, first))
    };
    let (source, job) = match rows {
        Rows::Merge(s) => (stream(s).await?, Job::Merge),
        Rows::Overwrite(s) => (stream(s).await?, Job::Overwrite),
        Rows::Sync(s) => (stream(s).await?, no_deletes()),
        Rows::Changes(c) => {
            let delete_rows = c.deletes.iter().map(|b| b.num_rows() as u64).sum();
            let deletes = std::sync::Arc::new(prepare(&layout.keys_only(), c.deletes).await?);
            let rows: u64 = c.upserts.iter().map(|b| b.num_rows() as u64).sum();
            (
                Source::Prepared(std::sync::Arc::new(prepare(layout, c.upserts).await?), rows),
                Job::Changes {
                    deletes,
                    delete_rows,
                    complete: c.complete,
                    whole_view: c.whole_view,
                },
            )
        }
    };
    let (prepared, rows_known) = match &source {
        Source::Prepared(p, rows) => (p.clone(), Some(*rows)),
        Source::Stream(s, _) => (std::sync::Arc::new(Vec::new()), s.rows_hint()),
        Source::Taken => unreachable!("a fresh source"),
    };
    if let Some(n) = rows_known {
        progress.set_total(n);
    }
    let rows_in = match &source {
        Source::Prepared(_, rows) => *rows,
        _ => 0,
    };

    let t = store.target();
    let mut conn = store.conn().await?;
    // Temporary tables, the advisory lock and any open transaction die with the reset.
    conn.reset_connection(true);
    let table = layout.table.as_str();
    ddl::lock(&mut conn, t, table, LOCK_WAIT_SECS).await?;
    let job_rows = LoadJob {
        target: t,
        table,
        layout,
        prepared,
        rows: rows_in,
        max_packet: store.server().max_allowed_packet,
        progress,
    };
    let mut w = Writer {
        conn: &mut conn,
        store,
        t,
        job: job_rows,
        meta,
        source,
    };
    let result = w.run(mode, job).await;
    let rows_in = w.job.rows;
    let _ = ddl::unlock(&mut conn, t, table).await;
    match result? {
        Applied::Written(mut report) => {
            report.rows_in = rows_in;
            report.elapsed = start.elapsed();
            Ok(Applied::Written(report))
        }
        conflict => Ok(conflict),
    }
}

struct Writer<'a> {
    conn: &'a mut Conn,
    store: &'a MysqlStore,
    t: &'a Target,
    job: LoadJob<'a>,
    meta: &'a WriteMeta,
    /// The upsert rows: `job.prepared` (a change set, in memory) or a stream loaded chunk by
    /// chunk; `job.rows` counts the rows once loaded.
    source: Source,
}

/// The upsert rows of one write.
enum Source {
    /// Prepared in memory (a change set): may be loaded more than once (a fallback reloads).
    Prepared(Prepared, u64),
    /// Streamed: loaded once, chunk by chunk, each validated before it is sent; with its first
    /// chunk, validated before the write began.
    Stream(crate::RowStream, Option<(Prepared, u64)>),
    /// A stream already loaded.
    Taken,
}

impl Writer<'_> {
    async fn run(&mut self, mode: WriteMode, job: Job) -> Result<Applied> {
        let table = self.job.table;
        ddl::ensure_bookkeeping(self.conn, self.t).await?;
        ddl::settle_bookkeeping(self.conn, self.t, table).await?;
        let mut current = ddl::read_bookkeeping(self.conn, self.t, table).await?;
        if current.is_some() && !ddl::table_exists(self.conn, self.t, table).await? {
            // The table was dropped behind fstore's back: its record describes nothing.
            tracing::warn!(
                table,
                "forgetting the record of an online table that no longer exists"
            );
            ddl::delete_bookkeeping(self.conn, self.t, table).await?;
            current = None;
        }
        if !self
            .meta
            .expect
            .holds(current.as_ref(), self.meta.source.as_ref())
        {
            return Ok(Applied::Conflict {
                recorded_version: current.map(|c| c.delta_version),
            });
        }
        let shadow = shadow_name(table);
        let old = old_name(table);
        for leftover in [&shadow, &old] {
            if ddl::table_exists(self.conn, self.t, leftover).await? {
                tracing::info!(table = %leftover, "dropping a table left by an interrupted publish");
                ddl::drop_table_if_exists(self.conn, self.t, leftover).await?;
            }
        }
        let exists = ddl::table_exists(self.conn, self.t, table).await?;
        let report = match (job, exists) {
            (_, false) => self.swap_in(mode, Swap::First).await?,
            (Job::Overwrite, true) => self.swap_in(mode, Swap::Overwrite).await?,
            (Job::Merge, true) => self.merge(None).await?,
            (
                Job::Changes {
                    deletes,
                    delete_rows,
                    complete,
                    whole_view,
                },
                true,
            ) => {
                self.merge(Some(Deletes {
                    prepared: deletes,
                    rows: delete_rows,
                    complete,
                    whole_view,
                }))
                .await?
            }
        };
        Ok(Applied::Written(report))
    }

    async fn load_into(&mut self, target_table: &str) -> Result<LoadStats> {
        let (mut stream, first) = match std::mem::replace(&mut self.source, Source::Taken) {
            Source::Stream(s, first) => (s, first),
            Source::Taken => {
                return Err(StoreError::new(
                    StoreErrorKind::Database,
                    format!("the rows for `{target_table}` were already loaded (internal error)"),
                ));
            }
            prepared @ Source::Prepared(..) => {
                self.source = prepared;
                return self
                    .load_chunk(target_table, self.job.prepared.clone(), self.job.rows)
                    .await;
            }
        };
        // Each chunk is validated, then loaded into the staging/shadow table: a bad value stops
        // the load before anything reaches the live table.
        let mut total = LoadStats::default();
        let mut first = first;
        loop {
            let (prepared, rows) = match first.take() {
                Some(chunk) => chunk,
                None => match stream.next_chunk().await? {
                    Some(chunk) => {
                        let rows: u64 = chunk.iter().map(|b| b.num_rows() as u64).sum();
                        (
                            std::sync::Arc::new(prepare(self.job.layout, chunk).await?),
                            rows,
                        )
                    }
                    None => break,
                },
            };
            let stats = self.load_chunk(target_table, prepared, rows).await?;
            total.rows += stats.rows;
            total.bytes += stats.bytes;
            total.used = stats.used;
            self.job.rows += rows;
        }
        Ok(total)
    }

    async fn load_chunk(
        &mut self,
        target_table: &str,
        prepared: Prepared,
        rows: u64,
    ) -> Result<LoadStats> {
        let job = LoadJob {
            target: self.job.target,
            table: target_table,
            layout: self.job.layout,
            prepared,
            rows,
            max_packet: self.job.max_packet,
            progress: self.job.progress,
        };
        load::load(
            self.conn,
            &job,
            self.store.bulk_mode(),
            self.store.server().local_infile,
        )
        .await
    }

    /// First publish, overwrite, or a change set that is the whole new view: shadow table, its
    /// bookkeeping row, rename, then the row is promoted to the table's (see the module docs).
    async fn swap_in(&mut self, mode: WriteMode, swap: Swap<'_>) -> Result<WriteReport> {
        let (t, layout) = (self.t, self.job.layout);
        let table = layout.table.as_str();
        let shadow = shadow_name(table);
        let old = old_name(table);
        let progress = self.job.progress;
        let replace = !matches!(swap, Swap::First);
        progress.set_stage(if replace {
            "writing shadow table"
        } else {
            "writing"
        });
        let (recorded_layout, old_rows) = match &swap {
            Swap::WholeView { plan, .. } => {
                // The table's own definition (its indexes, options and any columns it keeps),
                // plus the columns the publish brings.
                let old_rows = ddl::count_rows(self.conn, t, table).await?;
                self.conn
                    .query_drop(format!(
                        "CREATE TABLE {} LIKE {}",
                        quote_mysql(&shadow),
                        quote_mysql(table)
                    ))
                    .await
                    .with_ctx(t, || format!("creating table `{shadow}`"))?;
                (&plan.recorded, old_rows)
            }
            _ => {
                self.conn
                    .query_drop(create_table_sql(&shadow, layout, false))
                    .await
                    .with_ctx(t, || format!("creating table `{shadow}`"))?;
                (layout, 0)
            }
        };
        let mut recorded = false;
        let outcome = async {
            if let Swap::WholeView { plan, .. } = &swap {
                self.add_columns(&shadow, plan).await?;
            }
            let stats = self.load_into(&shadow).await?;
            let mut report = WriteReport {
                bytes: stats.bytes,
                ..WriteReport::default()
            };
            progress.set_stage("swapping tables");
            let rename = if replace {
                let (old_rows, kept) = match swap {
                    // The table held the view as last published (its bookkeeping row says so):
                    // the keys that stay are those not deleted.
                    Swap::WholeView { deleted, .. }
                        if deleted <= old_rows && old_rows - deleted <= stats.rows =>
                    {
                        (old_rows, old_rows - deleted)
                    }
                    _ => self.kept_keys(table, &shadow).await?,
                };
                report.updated = kept;
                report.inserted = stats.rows.saturating_sub(kept);
                report.deleted = old_rows.saturating_sub(kept);
                format!(
                    "RENAME TABLE {} TO {}, {} TO {}",
                    quote_mysql(table),
                    quote_mysql(&old),
                    quote_mysql(&shadow),
                    quote_mysql(table)
                )
            } else {
                report.inserted = stats.rows;
                format!(
                    "RENAME TABLE {} TO {}",
                    quote_mysql(&shadow),
                    quote_mysql(table)
                )
            };
            // Recorded for the shadow table first: until the rename, the row stands for a table
            // readers do not see; after it, for the table (a crash in between is settled by
            // `ddl::settle_bookkeeping`).
            recorded = true;
            ddl::write_bookkeeping(
                self.conn,
                t,
                &shadow,
                recorded_layout,
                mode,
                &self.meta.record,
                self.meta.source.as_ref(),
            )
            .await?;
            self.conn
                .query_drop(rename)
                .await
                .with_ctx(t, || format!("swapping the new rows into `{table}`"))?;
            Ok::<_, StoreError>(report)
        }
        .await;
        let report = match outcome {
            Ok(r) => r,
            Err(e) => {
                // The shadow row goes before the shadow table: a row without its table would mean
                // "swapped".
                if recorded
                    && ddl::delete_bookkeeping_row(self.conn, t, &shadow)
                        .await
                        .is_err()
                {
                    return Err(e);
                }
                let _ = ddl::drop_table_if_exists(self.conn, t, &shadow).await;
                return Err(e);
            }
        };
        ddl::promote_shadow_row(self.conn, t, table).await?;
        if replace {
            ddl::drop_table_if_exists(self.conn, t, &old).await?;
        }
        Ok(report)
    }

    /// (rows of the old table, old keys also in the shadow table).
    async fn kept_keys(&mut self, table: &str, shadow: &str) -> Result<(u64, u64)> {
        let t = self.t;
        let layout = self.job.layout;
        let old_rows = ddl::count_rows(self.conn, t, table).await?;
        let cols = ddl::table_columns(self.conn, t, table).await?;
        if primary_keys(&cols) != layout.primary_keys || old_rows == 0 {
            return Ok((old_rows, 0));
        }
        let on = join_on(&layout.primary_keys, "o", "s");
        let kept: Option<i64> = self
            .conn
            .query_first(format!(
                "SELECT COUNT(*) FROM {} AS s JOIN {} AS o ON {on}",
                quote_mysql(shadow),
                quote_mysql(table)
            ))
            .await
            .with_ctx(t, || {
                format!("comparing the keys of `{table}` with the new snapshot")
            })?;
        Ok((old_rows, kept.unwrap_or(0).max(0) as u64))
    }

    async fn merge_plan(&mut self) -> Result<MergePlan> {
        let (t, layout) = (self.t, self.job.layout);
        let cols = ddl::table_columns(self.conn, t, &layout.table).await?;
        let book = ddl::read_bookkeeping(self.conn, t, &layout.table).await?;
        let existing = adopt::existing_columns(&cols, book.as_ref(), layout);
        plan_merge(
            layout,
            &existing,
            &primary_keys(&cols),
            &|ftype, key| ftype.mysql_type(key),
            &self.meta.record.feature_table,
        )
    }

    /// Merge, or (with `deletes`) a change set: adopts or migrates the table's layout first
    /// (`adopt.rs`; its notes go into the report), then [`Writer::merge_rows`].
    async fn merge(&mut self, deletes: Option<Deletes>) -> Result<WriteReport> {
        // Refuse incompatible changes before anything moves.
        let plan = self.merge_plan().await?;
        let rewrites_all_rows = deletes.as_ref().is_none_or(|d| d.whole_view || d.complete);
        let notes = adopt::prepare(
            self.conn,
            self.t,
            self.job.layout,
            rewrites_all_rows,
            &self.meta.record.feature_table,
        )
        .await?;
        let mut report = self.merge_rows(plan, deletes).await?;
        report.notes = notes;
        Ok(report)
    }

    /// Merge, or (with `deletes`) a change set: staging tables, then one transaction.
    async fn merge_rows(
        &mut self,
        plan: MergePlan,
        deletes: Option<Deletes>,
    ) -> Result<WriteReport> {
        if let Some(d) = deletes.as_ref().filter(|d| d.whole_view)
            && self.can_swap(&plan).await?
        {
            let swap = Swap::WholeView {
                plan: &plan,
                deleted: d.rows,
            };
            match self.swap_in(WriteMode::Merge, swap).await {
                Err(e) if e.kind == StoreErrorKind::PermissionDenied => {
                    tracing::info!(table = %self.job.layout.table, error = %e, "cannot swap in a new table; merging the changes instead");
                }
                other => return other,
            }
        }
        if self.can_replace(&plan, deletes.as_ref())
            && let Some(report) = self.merge_with(&plan, deletes.as_ref(), true).await?
        {
            return Ok(report);
        }
        let report = self.merge_with(&plan, deletes.as_ref(), false).await?;
        report.ok_or_else(|| {
            StoreError::new(
                StoreErrorKind::Database,
                format!("merging into `{}` loaded nothing", self.job.layout.table),
            )
        })
    }

    /// Can a change set that is the whole new view be written as a new table swapped in (about
    /// one bulk load into an empty table, where `REPLACE` of most rows costs about two)? Only
    /// for large sets (see [`super::REPLACE_MIN_ROWS`]), when every column of the online table is
    /// published (a swap would drop the others' values), and when no trigger or foreign key is
    /// attached to the table (a swap would drop them).
    async fn can_swap(&mut self, plan: &MergePlan) -> Result<bool> {
        if self.job.rows < self.store.replace_min_rows() || plan.untouched_columns {
            return Ok(false);
        }
        let (t, table) = (self.t, self.job.layout.table.as_str());
        let attached: Option<i64> = self
            .conn
            .exec_first(
                "SELECT (SELECT COUNT(*) FROM information_schema.TRIGGERS \
                   WHERE EVENT_OBJECT_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = ?) \
                 + (SELECT COUNT(*) FROM information_schema.KEY_COLUMN_USAGE \
                   WHERE REFERENCED_TABLE_NAME IS NOT NULL AND ((TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?) \
                   OR (REFERENCED_TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME = ?)))",
                (table, table, table),
            )
            .await
            .with_ctx(t, || format!("reading the triggers and foreign keys of `{table}`"))?;
        Ok(attached == Some(0))
    }

    /// Can the upsert be `LOAD DATA … REPLACE INTO TABLE t` (the fast path)? Only when it would
    /// replace whole rows exactly as the upsert does: no timestamp rule, every column of the
    /// online table in the rows (none left unpublished), not a complete set (whose upsert must
    /// follow a delete of everything else), and a server that takes `LOAD DATA`.
    ///
    /// Also only for keys of integer, date or timestamp columns: string keys that differ only by
    /// trailing spaces are one key to MySQL (PAD SPACE), and `REPLACE` would silently keep one
    /// where the staging table's primary key reports the duplicate. And only for large merges
    /// (see [`super::REPLACE_MIN_ROWS`]), since counting new rows costs two table counts here.
    fn can_replace(&self, plan: &MergePlan, deletes: Option<&Deletes>) -> bool {
        let layout = self.job.layout;
        let load_data = match self.store.bulk_mode() {
            BulkMode::Insert => false,
            BulkMode::LoadData => true,
            BulkMode::Auto => self.store.server().local_infile,
        };
        let exact_keys = layout.primary_keys.iter().all(|k| {
            layout.column(k).is_some_and(|c| {
                matches!(
                    c.ftype,
                    FeatureType::SmallInt
                        | FeatureType::Int
                        | FeatureType::BigInt
                        | FeatureType::Date
                        | FeatureType::Timestamp
                )
            })
        });
        // A stream is loaded once, into a staging table: the fast path would write the live
        // table before the last chunk is validated, and could not fall back once it started.
        load_data
            && exact_keys
            && matches!(self.source, Source::Prepared(..))
            && self.job.rows >= self.store.replace_min_rows()
            && layout.timestamp_key.is_none()
            && !plan.untouched_columns
            && !deletes.is_some_and(|d| d.complete)
    }

    /// Loads the keys to delete into a temporary table, then runs the write: with `replace`, the
    /// fast path (see [`Writer::can_replace`]; `Ok(None)` when the server refused `LOAD DATA`
    /// and nothing was written), else through a staging table. The temporaries are dropped
    /// whatever happens.
    async fn merge_with(
        &mut self,
        plan: &MergePlan,
        deletes: Option<&Deletes>,
        replace: bool,
    ) -> Result<Option<WriteReport>> {
        let (t, layout) = (self.t, self.job.layout);
        let table = layout.table.as_str();
        let stage = stage_name(table);
        let keys = keys_name(table);
        let temporaries = [stage.clone(), keys.clone()];
        self.conn
            .query_drop(format!(
                "DROP TEMPORARY TABLE IF EXISTS {}",
                quoted_list(&temporaries)
            ))
            .await
            .with_ctx(t, || format!("dropping staging table `{stage}`"))?;
        let outcome = async {
            if let Some(d) = deletes
                && d.rows > 0
            {
                let key_layout = layout.keys_only();
                self.conn
                    .query_drop(create_table_sql(&keys, &key_layout, true))
                    .await
                    .with_ctx(t, || format!("creating staging table `{keys}`"))?;
                let job = LoadJob {
                    target: t,
                    table: &keys,
                    layout: &key_layout,
                    prepared: d.prepared.clone(),
                    rows: d.rows,
                    max_packet: self.job.max_packet,
                    progress: &fstore_core::NoProgress,
                };
                load::load(
                    self.conn,
                    &job,
                    self.store.bulk_mode(),
                    self.store.server().local_infile,
                )
                .await?;
            }
            let staged = if replace {
                None
            } else {
                self.job.progress.set_stage("loading staging table");
                self.conn
                    .query_drop(create_table_sql(&stage, layout, true))
                    .await
                    .with_ctx(t, || format!("creating staging table `{stage}`"))?;
                Some(self.load_into(&stage).await?)
            };
            let added = self.add_columns(table, plan).await?;
            let merged = self
                .merge_staged(&stage, &keys, plan, deletes, staged)
                .await;
            if matches!(merged, Err(_) | Ok(None))
                && let Some(what) = self.drop_added(table, &added).await
            {
                return merged.map_err(|mut e| {
                    e.message = format!("{}; {what}", e.message);
                    e
                });
            }
            merged
        }
        .await;
        let dropped = self
            .conn
            .query_drop(format!(
                "DROP TEMPORARY TABLE IF EXISTS {}",
                quoted_list(&temporaries)
            ))
            .await
            .with_ctx(t, || format!("dropping staging table `{stage}`"));
        let report = outcome?;
        dropped?;
        Ok(report)
    }

    /// `ALTER TABLE t ADD COLUMN …` for the columns a merge brings that the table lacks; returns
    /// the names it added (none that a retry of the same write already added).
    async fn add_columns(&mut self, table: &str, plan: &MergePlan) -> Result<Vec<String>> {
        if plan.add.is_empty() {
            return Ok(Vec::new());
        }
        let t = self.t;
        self.job.progress.set_stage("adding columns");
        let have = ddl::table_columns(self.conn, t, table).await?;
        let add: Vec<_> = plan
            .add
            .iter()
            .filter(|c| !have.iter().any(|h| h.name == c.name))
            .collect();
        if add.is_empty() {
            return Ok(Vec::new());
        }
        let adds: Vec<String> = add
            .iter()
            .map(|c| {
                format!(
                    "ADD COLUMN {} {}",
                    quote_mysql(&c.name),
                    c.ftype.mysql_type(false)
                )
            })
            .collect();
        self.conn
            .query_drop(format!(
                "ALTER TABLE {} {}",
                quote_mysql(table),
                adds.join(", ")
            ))
            .await
            .with_ctx(t, || format!("adding columns to `{table}`"))?;
        Ok(add.iter().map(|c| c.name.clone()).collect())
    }

    /// After a merge that added `added` to `table` failed (`e`) or rolled back: drops them again
    /// (MySQL DDL is not transactional, so they outlived the rollback; no reader sees them, as
    /// the bookkeeping row does not name them). Returns what became of them, for the error; if the
    /// drop fails too, they stay empty and unrecorded, and a rerun of the merge fills and
    /// records them (it finds them present and adds nothing).
    async fn drop_added(&mut self, table: &str, added: &[String]) -> Option<String> {
        if added.is_empty() {
            return None;
        }
        let drops: Vec<String> = added
            .iter()
            .map(|c| format!("DROP COLUMN {}", quote_mysql(c)))
            .collect();
        let list = added
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ");
        match self
            .conn
            .query_drop(format!(
                "ALTER TABLE {} {}",
                quote_mysql(table),
                drops.join(", ")
            ))
            .await
        {
            Ok(()) => Some(format!(
                "column(s) {list}, added to `{table}` for this merge, were removed again; the table is as before"
            )),
            Err(d) => Some(format!(
                "column(s) {list} were added to `{table}` for this merge and could not be removed again ({d}): they stay empty and unrecorded (lookups do not see them) until a rerun of the publish fills and records them"
            )),
        }
    }

    /// The transaction of a merge or change set: deletes, then the upsert (from the staging
    /// table loaded with `staged`, or with `None` straight into the table by
    /// `LOAD DATA … REPLACE`), then the bookkeeping row. `Ok(None)`: the server refused
    /// `LOAD DATA` (rolled back, nothing written).
    async fn merge_staged(
        &mut self,
        stage: &str,
        keys: &str,
        plan: &MergePlan,
        deletes: Option<&Deletes>,
        staged: Option<LoadStats>,
    ) -> Result<Option<WriteReport>> {
        let (t, layout) = (self.t, self.job.layout);
        let table = layout.table.as_str();
        self.job.progress.set_stage("merging");
        let mut report = WriteReport {
            bytes: staged.map_or(0, |s| s.bytes),
            ..WriteReport::default()
        };
        let ctx = || format!("merging into `{table}`");
        self.conn
            .query_drop("START TRANSACTION")
            .await
            .with_ctx(t, ctx)?;
        let total = self.job.rows;
        let complete = deletes.is_some_and(|d| d.complete);
        let upsert_layout = if complete {
            layout.without_timestamp_rule()
        } else {
            layout.clone()
        };
        let applied = async {
            if let Some(d) = deletes {
                let tq = quote_mysql(table);
                if d.rows > 0 {
                    // The keys drive the join (primary-key lookups into the table): right after a
                    // bulk load the table's statistics can still say "empty", and the optimizer
                    // would scan it whole instead.
                    self.conn
                        .query_drop(format!(
                            "DELETE {tq} FROM {} AS k STRAIGHT_JOIN {tq} FORCE INDEX (PRIMARY) ON {}",
                            quote_mysql(keys),
                            join_on(&layout.primary_keys, &tq, "k")
                        ))
                        .await
                        .with_ctx(t, || format!("deleting rows from `{table}`"))?;
                    report.deleted += self.conn.affected_rows();
                }
                if d.complete {
                    let first = quote_mysql(&layout.primary_keys[0]);
                    self.conn
                        .query_drop(format!(
                            "DELETE {tq} FROM {tq} LEFT JOIN {} AS s ON {} WHERE s.{first} IS NULL",
                            quote_mysql(stage),
                            join_on(&layout.primary_keys, &tq, "s")
                        ))
                        .await
                        .with_ctx(t, || {
                            format!("deleting the rows of `{table}` that are no longer published")
                        })?;
                    report.deleted += self.conn.affected_rows();
                }
            }
            let Some(staged) = staged else {
                // The fast path. `Deleted` of LOAD DATA counts only replaced rows that changed
                // (an identical row counts as neither new nor replaced), so when not every row
                // replaced one, new rows are counted as the table's growth: "before" is counted
                // in a snapshot taken now on a second connection, and only if needed, after the
                // load and alongside the "after" count. Without a second connection, "before"
                // is counted now.
                let mut snapshot = Snapshot::open(self.store).await;
                let before_now = match snapshot {
                    Some(_) => None,
                    None => Some(ddl::count_rows(self.conn, t, table).await?),
                };
                let job = LoadJob {
                    target: t,
                    table,
                    layout,
                    prepared: self.job.prepared.clone(),
                    rows: self.job.rows,
                    max_packet: self.job.max_packet,
                    progress: self.job.progress,
                };
                let Some(stats) = load::load_data_replacing(self.conn, &job).await? else {
                    return Ok(false);
                };
                report.bytes = stats.bytes;
                report.inserted = if stats.replaced >= stats.rows {
                    // Every row replaced a different one (the keys are unique): nothing new.
                    0
                } else {
                    let (before, after) = match snapshot.as_mut() {
                        Some(snap) => {
                            let (before, after) = tokio::join!(
                                ddl::count_rows(&mut snap.conn, t, table),
                                ddl::count_rows(self.conn, t, table)
                            );
                            // The snapshot predates this transaction's own deletes.
                            (before?.saturating_sub(report.deleted), after?)
                        }
                        None => (
                            before_now.unwrap_or_default(),
                            ddl::count_rows(self.conn, t, table).await?,
                        ),
                    };
                    after.saturating_sub(before).min(stats.rows)
                };
                report.updated = stats.rows - report.inserted;
                if let Some(snap) = snapshot {
                    snap.close().await;
                }
                return self.finish_merge(plan).await.map(|()| true);
            };
            let total = staged.rows.min(total);
            // Which rows are new (and which an older event time keeps out) needs the join, whose
            // cost grows with the staged rows; for large untimed merges two counts are cheaper.
            let join_count = upsert_layout.timestamp_key.is_some() || total <= JOIN_COUNT_MAX_ROWS;
            if join_count {
                let counts: Option<(i64, Option<i64>, Option<i64>)> = self
                    .conn
                    .query_first(count_sql(table, stage, &upsert_layout))
                    .await
                    .with_ctx(t, || format!("comparing the new rows with `{table}`"))?;
                let (_, matched, skipped) = counts.unwrap_or((0, None, None));
                let (matched, skipped) = (
                    matched.unwrap_or(0).max(0) as u64,
                    skipped.unwrap_or(0).max(0) as u64,
                );
                report.inserted = total.saturating_sub(matched);
                report.updated = matched.saturating_sub(skipped);
                report.skipped_older = skipped;
                self.conn
                    .query_drop(upsert_sql(table, stage, &upsert_layout))
                    .await
                    .with_ctx(t, ctx)?;
            } else {
                // Two counts cost a fraction of a join: inserted = growth, the rest updated.
                let before = ddl::count_rows(self.conn, t, table).await?;
                self.conn
                    .query_drop(upsert_sql(table, stage, &upsert_layout))
                    .await
                    .with_ctx(t, ctx)?;
                let after = ddl::count_rows(self.conn, t, table).await?;
                report.inserted = after.saturating_sub(before).min(total);
                report.updated = total - report.inserted;
            }
            self.finish_merge(plan).await.map(|()| true)
        }
        .await;
        match applied {
            Ok(true) => Ok(Some(report)),
            other => {
                let _ = self.conn.query_drop("ROLLBACK").await;
                other.map(|_| None)
            }
        }
    }

    /// The end of a merge's transaction: the bookkeeping row, then `COMMIT`.
    async fn finish_merge(&mut self, plan: &MergePlan) -> Result<()> {
        let (t, table) = (self.t, self.job.layout.table.as_str());
        ddl::write_bookkeeping(
            self.conn,
            t,
            table,
            &plan.recorded,
            WriteMode::Merge,
            &self.meta.record,
            self.meta.source.as_ref(),
        )
        .await?;
        self.conn
            .query_drop("COMMIT")
            .await
            .with_ctx(t, || format!("merging into `{table}`"))
    }
}

/// A second connection holding a consistent snapshot of the database as committed before a
/// merge's fast path writes: the table's row count "before", taken only if needed.
struct Snapshot {
    conn: Conn,
}

impl Snapshot {
    /// How long the merge waits for a second pooled connection before counting inline instead.
    const WAIT: std::time::Duration = std::time::Duration::from_secs(1);

    /// `None` when no second connection comes in time or the snapshot cannot be taken (a pool of
    /// one connection, say): the caller counts on its own connection instead.
    async fn open(store: &MysqlStore) -> Option<Self> {
        let mut conn = tokio::time::timeout(Self::WAIT, store.conn())
            .await
            .ok()?
            .ok()?;
        conn.reset_connection(true);
        // A consistent snapshot needs REPEATABLE READ (READ COMMITTED would read the rows as
        // they are at each statement, including the merge's once committed).
        conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await
            .ok()?;
        conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            .await
            .ok()?;
        Some(Self { conn })
    }

    async fn close(mut self) {
        let _ = self.conn.query_drop("ROLLBACK").await;
    }
}

/// The keys a change set deletes.
struct Deletes {
    prepared: Prepared,
    rows: u64,
    /// Also delete every key absent from the staged rows.
    complete: bool,
    /// The staged rows are the whole new view and these keys every key that leaves it.
    whole_view: bool,
}

/// What [`Writer::swap_in`] swaps in.
enum Swap<'a> {
    /// The table's first publish (no table yet).
    First,
    /// An overwrite: the new table replaces the old one whatever it held.
    Overwrite,
    /// A change set that is the whole new view: a copy of the table's definition (with the
    /// columns `plan` adds) filled with it; `deleted` keys leave, so the others stay.
    WholeView { plan: &'a MergePlan, deleted: u64 },
}

/// `o.k1 = s.k1 AND o.k2 = s.k2`.
fn join_on(keys: &[String], a: &str, b: &str) -> String {
    keys.iter()
        .map(|k| format!("{a}.{q} = {b}.{q}", q = quote_mysql(k)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// One row: (staged rows, staged rows whose key is online, of those the ones an older event
/// time keeps from applying).
pub fn count_sql(table: &str, stage: &str, layout: &OnlineLayout) -> String {
    let first_key = quote_mysql(&layout.primary_keys[0]);
    let skipped = match &layout.timestamp_key {
        Some(ts) => {
            let ts = quote_mysql(ts);
            format!(
                "SUM(o.{first_key} IS NOT NULL AND o.{ts} IS NOT NULL AND NOT COALESCE(s.{ts} >= o.{ts}, FALSE))"
            )
        }
        None => "0".into(),
    };
    // FORCE INDEX: right after a bulk load the table's statistics can still say "empty", and
    // the optimizer could scan it whole (with a join buffer) instead of looking keys up.
    format!(
        "SELECT COUNT(*), COUNT(o.{first_key}), {skipped} FROM {} AS s LEFT JOIN {} AS o FORCE INDEX (PRIMARY) ON {}",
        quote_mysql(stage),
        quote_mysql(table),
        join_on(&layout.primary_keys, "o", "s")
    )
}

/// `INSERT INTO t (cols) SELECT cols FROM stage ON DUPLICATE KEY UPDATE …` (see the module docs).
pub fn upsert_sql(table: &str, stage: &str, layout: &OnlineLayout) -> String {
    let names: Vec<&str> = layout.columns.iter().map(|c| c.name.as_str()).collect();
    let t = quote_mysql(table);
    let s = quote_mysql(stage);
    let select: Vec<String> = names
        .iter()
        .map(|n| format!("{s}.{}", quote_mysql(n)))
        .collect();
    let mut value_cols: Vec<&str> = layout.value_columns().map(|c| c.name.as_str()).collect();
    let ts = layout.timestamp_key.as_deref();
    if let Some(ts) = ts {
        // The timestamp is assigned last: the conditions before it read the old value.
        value_cols.retain(|c| *c != ts);
        value_cols.push(ts);
    }
    let mut sets: Vec<String> = value_cols
        .iter()
        .map(|c| {
            let c = quote_mysql(c);
            match ts {
                Some(ts) => {
                    let ts = quote_mysql(ts);
                    format!(
                        "{t}.{c} = IF({t}.{ts} IS NULL OR {s}.{ts} >= {t}.{ts}, {s}.{c}, {t}.{c})"
                    )
                }
                None => format!("{t}.{c} = {s}.{c}"),
            }
        })
        .collect();
    if sets.is_empty() {
        // Keys only: a no-op update keeps the statement valid.
        let k = quote_mysql(&layout.primary_keys[0]);
        sets.push(format!("{t}.{k} = {t}.{k}"));
    }
    format!(
        "INSERT INTO {t} ({}) SELECT {} FROM {s} ON DUPLICATE KEY UPDATE {}",
        quoted_list(&names),
        select.join(", "),
        sets.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use fstore_core::FeatureType;

    use super::*;
    use crate::layout::OnlineColumn;

    fn layout(ts: bool) -> OnlineLayout {
        let mut columns = vec![
            OnlineColumn {
                name: "id".into(),
                ftype: FeatureType::BigInt,
            },
            OnlineColumn {
                name: "ts".into(),
                ftype: FeatureType::Timestamp,
            },
            OnlineColumn {
                name: "x".into(),
                ftype: FeatureType::Double,
            },
        ];
        if !ts {
            columns.remove(1);
        }
        OnlineLayout {
            table: "t".into(),
            columns,
            primary_keys: vec!["id".into()],
            timestamp_key: ts.then(|| "ts".to_string()),
        }
    }

    #[test]
    fn upsert_assigns_the_timestamp_last_and_guards_every_column() {
        assert_eq!(
            upsert_sql("t", "s", &layout(false)),
            "INSERT INTO `t` (`id`, `x`) SELECT `s`.`id`, `s`.`x` FROM `s` ON DUPLICATE KEY UPDATE `t`.`x` = `s`.`x`"
        );
        let sql = upsert_sql("t", "s", &layout(true));
        assert!(
            sql.ends_with(
                "ON DUPLICATE KEY UPDATE `t`.`x` = IF(`t`.`ts` IS NULL OR `s`.`ts` >= `t`.`ts`, `s`.`x`, `t`.`x`), `t`.`ts` = IF(`t`.`ts` IS NULL OR `s`.`ts` >= `t`.`ts`, `s`.`ts`, `t`.`ts`)"
            ),
            "{sql}"
        );
        let mut keys_only = layout(false);
        keys_only.columns.truncate(1);
        assert!(upsert_sql("t", "s", &keys_only).ends_with("UPDATE `t`.`id` = `t`.`id`"));
    }
}
