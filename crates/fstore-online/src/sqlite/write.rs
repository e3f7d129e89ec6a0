//! The SQLite write path: first publish, merge (upsert), change sets (deletes, then upserts) and
//! overwrite (shadow table + swap), each in one `IMMEDIATE` transaction together with the
//! bookkeeping row and its precondition check. SQLite has one writer at a time: a second publisher
//! waits for the write lock (up to the busy timeout) and then sees the first one's bookkeeping
//! row, so two publishes of one table never interleave.

use std::time::Instant;

use arrow::array::ArrayRef;
use arrow::record_batch::RecordBatch;
use fstore_core::Progress;
use fstore_core::ident::quote_sqlite;
use rusqlite::types::Null;
use rusqlite::{Connection, Statement, TransactionBehavior};

use super::ddl::{self, quoted_list, shadow_name};
use super::error::Ctx;
use crate::arrow_values::{
    Cell, Col, f32_to_f64_shortest, prepare_columns, write_date, write_decimal, write_timestamp,
};
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::OnlineLayout;
use crate::merge::{ExistingColumn, plan_merge};
use crate::validate::validate_batches;
use crate::{Applied, PublishRecord, WriteMeta, WriteReport};

/// Rows bound into one multi-row `INSERT` statement (fewer statement executions per row).
const ROWS_PER_STATEMENT: usize = 64;
/// SQLite's default `SQLITE_MAX_VARIABLE_NUMBER`.
const MAX_PARAMS: usize = 32_766;

#[derive(Clone, Copy, PartialEq, Eq)]
enum InsertKind {
    /// Into a new, empty table.
    Plain,
    /// Upsert keyed on the primary keys.
    Upsert,
}

/// Temporary table (per connection) holding the keys of a change set's upserts.
const KEYS_TABLE: &str = "_fstore_keys";

/// What the async feeder sends the writer thread: a chunk of rows (or the error reading it), or
/// the explicit end of the input. The channel closing without [`Feed::End`] means the publish
/// was cancelled (its future dropped, e.g. Ctrl-C in Python), and the write rolls back.
pub enum Feed {
    Chunk(Result<Vec<RecordBatch>>),
    End,
}

/// Where the rows of one write come from, on the writer thread: batches already in memory (a
/// change set) or chunks of a [`crate::RowStream`] forwarded by an async task (see
/// [`super::SqliteStore`]'s `apply`), received one at a time so memory stays bounded.
pub enum Input {
    Batches(Vec<RecordBatch>),
    Chunks(tokio::sync::mpsc::Receiver<Feed>),
}

/// Set when the caller of a write has gone away (its future was dropped): the writer thread,
/// which cannot be stopped from outside, checks it between chunks and before committing.
pub type Cancelled = std::sync::Arc<std::sync::atomic::AtomicBool>;

fn cancelled_error(table: &str) -> StoreError {
    StoreError::new(
        StoreErrorKind::Database,
        format!("the write of `{table}` was cancelled; nothing was written"),
    )
}

fn check_cancelled(cancelled: &Cancelled, table: &str) -> Result<()> {
    if cancelled.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(cancelled_error(table));
    }
    Ok(())
}

impl Input {
    /// The next chunk, validated and prepared; `None` at the end.
    fn next(
        &mut self,
        layout: &OnlineLayout,
        cancelled: &Cancelled,
    ) -> Result<Option<(Vec<Vec<ArrayRef>>, u64)>> {
        check_cancelled(cancelled, &layout.table)?;
        let batches = match self {
            Input::Batches(b) if b.is_empty() => return Ok(None),
            Input::Batches(b) => std::mem::take(b),
            Input::Chunks(rx) => match rx.blocking_recv() {
                Some(Feed::Chunk(chunk)) => chunk?,
                Some(Feed::End) => return Ok(None),
                None => return Err(cancelled_error(&layout.table)),
            },
        };
        validate_batches(layout, &batches)?;
        let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
        let prepared = batches
            .iter()
            .map(|b| prepare_columns(layout, b))
            .collect::<Result<_>>()?;
        Ok(Some((prepared, rows)))
    }
}

/// What one write does, as the writer thread sees it.
pub struct Job {
    pub mode: crate::WriteMode,
    pub kind: Kind,
    pub input: Input,
    pub deletes: Vec<RecordBatch>,
    pub complete: bool,
    pub rows_hint: Option<u64>,
    pub cancelled: Cancelled,
}

/// Writes the job's rows into `layout.table` with its bookkeeping row, in one transaction, if
/// the bookkeeping row meets `meta.expect` (see the crate docs for the contract). Streamed rows
/// are read chunk by chunk inside the transaction; a bad chunk rolls it back whole.
pub fn apply(
    conn: &mut Connection,
    layout: &OnlineLayout,
    job: Job,
    meta: &WriteMeta,
    progress: &dyn Progress,
) -> Result<Applied> {
    let start = Instant::now();
    check_table_name(&layout.table)?;
    progress.set_stage("validating");
    let Job {
        mode,
        kind,
        mut input,
        deletes,
        complete,
        rows_hint,
        cancelled,
    } = job;
    let key_layout = layout.keys_only();
    validate_batches(&key_layout, &deletes)?;
    if let Some(n) = rows_hint {
        progress.set_total(n);
    }
    let prepared_deletes: Vec<Vec<ArrayRef>> = deletes
        .iter()
        .map(|b| prepare_columns(&key_layout, b))
        .collect::<Result<_>>()?;
    // The first chunk (all of a small write) is validated before the transaction starts, so
    // bad values are reported before anything else (an incompatible table, say).
    let mut first = input.next(layout, &cancelled)?;
    let mut next = || match first.take() {
        Some(chunk) => Ok(Some(chunk)),
        None => input.next(layout, &cancelled),
    };

    let table = layout.table.as_str();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx("starting the write transaction")?;
    ddl::ensure_bookkeeping(&tx)?;
    let mut current = ddl::read_bookkeeping(&tx, table)?;
    if current.is_some() && !ddl::table_exists(&tx, table)? {
        // The table was dropped behind fstore's back: its record describes nothing.
        tracing::warn!(
            table,
            "forgetting the record of an online table that no longer exists"
        );
        ddl::delete_bookkeeping(&tx, table)?;
        current = None;
    }
    if !meta.expect.holds(current.as_ref(), meta.source.as_ref()) {
        // Only a stale record may have been removed; the rows are untouched.
        tx.commit()
            .with_ctx(|| format!("committing the check of `{table}`"))?;
        return Ok(Applied::Conflict {
            recorded_version: current.map(|c| c.delta_version),
        });
    }
    let record = &meta.record;
    let shadow = shadow_name(table);
    if ddl::table_exists(&tx, &shadow)? {
        tracing::info!(table = %shadow, "dropping a staging table left by an interrupted publish");
        drop_table_sql(&tx, &shadow)?;
    }
    let exists = ddl::table_exists(&tx, table)?;
    let mut report = WriteReport::default();
    let mut rows_in = 0u64;

    let recorded = match (kind, exists) {
        (_, false) => {
            progress.set_stage("writing");
            create_table(&tx, table, layout)?;
            while let Some((prepared, rows)) = next()? {
                rows_in += rows;
                report.inserted += insert_rows(
                    &tx,
                    table,
                    layout,
                    &prepared,
                    InsertKind::Plain,
                    progress,
                    &mut report.bytes,
                )?;
            }
            layout.clone()
        }
        (Kind::Merge, true) => {
            let plan = merge_plan(&tx, layout, record)?;
            add_columns(&tx, table, &plan)?;
            progress.set_stage("merging");
            let before = ddl::count_rows(&tx, table)?;
            let mut applied = 0;
            while let Some((prepared, rows)) = next()? {
                rows_in += rows;
                applied += insert_rows(
                    &tx,
                    table,
                    layout,
                    &prepared,
                    InsertKind::Upsert,
                    progress,
                    &mut report.bytes,
                )?;
            }
            let after = ddl::count_rows(&tx, table)?;
            report.inserted = after.saturating_sub(before);
            report.updated = applied.saturating_sub(report.inserted);
            report.skipped_older = rows_in.saturating_sub(applied);
            plan.recorded
        }
        (Kind::Changes, true) => {
            let plan = merge_plan(&tx, layout, record)?;
            add_columns(&tx, table, &plan)?;
            progress.set_stage("deleting");
            report.deleted = delete_keys(&tx, table, &key_layout, &prepared_deletes)?;
            // The upserts' keys, to count what is new and (complete) to find what is gone.
            tx.execute_batch(&format!(
                "DROP TABLE IF EXISTS temp.{q}; CREATE TEMP TABLE {q} {}",
                ddl::columns_sql(&key_layout),
                q = quote_sqlite(KEYS_TABLE)
            ))
            .ctx("creating a temporary key table")?;
            progress.set_stage("merging");
            let upsert_layout = if complete {
                layout.without_timestamp_rule()
            } else {
                layout.clone()
            };
            let (mut matched, mut applied) = (0u64, 0u64);
            while let Some((prepared, rows)) = next()? {
                let key_idx: Vec<usize> = key_layout
                    .columns
                    .iter()
                    .filter_map(|k| layout.columns.iter().position(|c| c.name == k.name))
                    .collect();
                let keys_of_upserts: Vec<Vec<ArrayRef>> = prepared
                    .iter()
                    .map(|cols| key_idx.iter().map(|&i| cols[i].clone()).collect())
                    .collect();
                insert_rows(
                    &tx,
                    KEYS_TABLE,
                    &key_layout,
                    &keys_of_upserts,
                    InsertKind::Plain,
                    &fstore_core::NoProgress,
                    &mut 0,
                )?;
                // Every key of the earlier chunks is online by now (upserted, or kept newer).
                matched += count_present_keys(&tx, table, layout)?.saturating_sub(rows_in);
                rows_in += rows;
                applied += insert_rows(
                    &tx,
                    table,
                    &upsert_layout,
                    &prepared,
                    InsertKind::Upsert,
                    progress,
                    &mut report.bytes,
                )?;
            }
            if complete {
                report.deleted += delete_absent(&tx, table, layout)?;
            }
            tx.execute_batch(&format!("DROP TABLE temp.{}", quote_sqlite(KEYS_TABLE)))
                .ctx("dropping the temporary key table")?;
            report.inserted = rows_in.saturating_sub(matched);
            report.updated = applied.saturating_sub(report.inserted);
            report.skipped_older = rows_in.saturating_sub(applied);
            plan.recorded
        }
        (Kind::Overwrite, true) => {
            progress.set_stage("writing shadow table");
            create_table(&tx, &shadow, layout)?;
            while let Some((prepared, rows)) = next()? {
                rows_in += rows;
                insert_rows(
                    &tx,
                    &shadow,
                    layout,
                    &prepared,
                    InsertKind::Plain,
                    progress,
                    &mut report.bytes,
                )?;
            }
            progress.set_stage("swapping tables");
            let old = ddl::count_rows(&tx, table)?;
            let kept = kept_keys(&tx, table, &shadow, layout)?;
            report.inserted = rows_in.saturating_sub(kept);
            report.updated = kept;
            report.deleted = old.saturating_sub(kept);
            drop_table_sql(&tx, table)?;
            tx.execute_batch(&format!(
                "ALTER TABLE {} RENAME TO {}",
                quote_sqlite(&shadow),
                quote_sqlite(table)
            ))
            .with_ctx(|| format!("renaming the staging table to `{table}`"))?;
            layout.clone()
        }
    };
    report.rows_in = rows_in;
    ddl::write_bookkeeping(&tx, &recorded, mode, record, meta.source.as_ref())?;
    // The last moment a dropped caller can still stop the write (the transaction rolls back).
    check_cancelled(&cancelled, table)?;
    tx.commit()
        .with_ctx(|| format!("committing the write of `{table}`"))?;
    report.elapsed = start.elapsed();
    Ok(Applied::Written(report))
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Merge,
    Overwrite,
    Changes,
}

fn add_columns(conn: &Connection, table: &str, plan: &crate::merge::MergePlan) -> Result<()> {
    for c in &plan.add {
        conn.execute_batch(&format!(
            "ALTER TABLE {} ADD COLUMN {} {}",
            quote_sqlite(table),
            quote_sqlite(&c.name),
            c.ftype.sqlite_type()
        ))
        .with_ctx(|| format!("adding column `{}` to `{table}`", c.name))?;
    }
    Ok(())
}

/// `"t"."k1" = "x"."k1" AND …` over the primary keys.
fn keys_match(layout: &OnlineLayout, a: &str, b: &str) -> String {
    layout
        .primary_keys
        .iter()
        .map(|k| format!("{a}.{q} = {b}.{q}", q = quote_sqlite(k)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Deletes every key of `prepared` (key-layout columns) from `table`; returns the rows deleted.
fn delete_keys(
    conn: &Connection,
    table: &str,
    key_layout: &OnlineLayout,
    prepared: &[Vec<ArrayRef>],
) -> Result<u64> {
    if prepared.is_empty() {
        return Ok(0);
    }
    let ctx = || format!("deleting rows from `{table}`");
    let cond = key_layout
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} = ?{}", quote_sqlite(&c.name), i + 1))
        .collect::<Vec<_>>()
        .join(" AND ");
    let mut stmt = conn
        .prepare(&format!("DELETE FROM {} WHERE {cond}", quote_sqlite(table)))
        .with_ctx(ctx)?;
    let (mut buf, mut bytes, mut deleted) = (String::new(), 0u64, 0u64);
    for arrays in prepared {
        let cols = Col::all(key_layout, arrays)?;
        let n = arrays.first().map_or(0, |a| a.len());
        for row in 0..n {
            bind_row(&mut stmt, &cols, row, 1, &mut buf, &mut bytes).with_ctx(ctx)?;
            deleted += stmt.raw_execute().with_ctx(ctx)? as u64;
        }
    }
    Ok(deleted)
}

/// Deletes the rows of `table` whose key is not in the temporary key table.
fn delete_absent(conn: &Connection, table: &str, layout: &OnlineLayout) -> Result<u64> {
    let t = quote_sqlite(table);
    conn.execute(
        &format!(
            "DELETE FROM {t} WHERE NOT EXISTS (SELECT 1 FROM temp.{k} AS k WHERE {})",
            keys_match(layout, "k", &t),
            k = quote_sqlite(KEYS_TABLE)
        ),
        [],
    )
    .with_ctx(|| format!("deleting the rows of `{table}` that are no longer published"))
    .map(|n| n as u64)
}

/// How many keys of the temporary key table `table` holds.
fn count_present_keys(conn: &Connection, table: &str, layout: &OnlineLayout) -> Result<u64> {
    let t = quote_sqlite(table);
    conn.query_row(
        &format!(
            "SELECT count(*) FROM temp.{k} AS k WHERE EXISTS (SELECT 1 FROM {t} WHERE {})",
            keys_match(layout, "k", &t),
            k = quote_sqlite(KEYS_TABLE)
        ),
        [],
        |r| r.get::<_, i64>(0),
    )
    .with_ctx(|| format!("counting the keys already in `{table}`"))
    .map(|n| n.max(0) as u64)
}

/// Online table names are validated identifiers; names starting with `_fstore_` are reserved for
/// fstore's own tables.
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

fn drop_table_sql(conn: &Connection, table: &str) -> Result<()> {
    conn.execute_batch(&format!("DROP TABLE IF EXISTS {}", quote_sqlite(table)))
        .with_ctx(|| format!("dropping table `{table}`"))
}

fn create_table(conn: &Connection, name: &str, layout: &OnlineLayout) -> Result<()> {
    conn.execute_batch(&ddl::create_table_sql(name, layout))
        .with_ctx(|| format!("creating table `{name}`"))
}

fn merge_plan(
    conn: &Connection,
    layout: &OnlineLayout,
    record: &PublishRecord,
) -> Result<crate::merge::MergePlan> {
    let cols = ddl::table_columns(conn, &layout.table)?;
    let book = ddl::read_bookkeeping(conn, &layout.table)?;
    let existing: Vec<ExistingColumn> = cols
        .iter()
        .map(|c| ExistingColumn {
            name: c.name.clone(),
            native_type: c.decl_type.clone(),
            ftype: book
                .as_ref()
                .and_then(|b| b.layout.column(&c.name))
                .map(|x| x.ftype),
            primary_key: c.pk > 0,
        })
        .collect();
    let mut keys: Vec<(i64, String)> = cols
        .iter()
        .filter(|c| c.pk > 0)
        .map(|c| (c.pk, c.name.clone()))
        .collect();
    keys.sort();
    let keys: Vec<String> = keys.into_iter().map(|(_, n)| n).collect();
    plan_merge(
        layout,
        &existing,
        &keys,
        &|t, _| t.sqlite_type().to_string(),
        &record.feature_table,
    )
}

/// Old keys that are also in the new snapshot (0 when the primary key columns changed).
fn kept_keys(conn: &Connection, table: &str, shadow: &str, layout: &OnlineLayout) -> Result<u64> {
    let mut old_keys: Vec<(i64, String)> = ddl::table_columns(conn, table)?
        .into_iter()
        .filter(|c| c.pk > 0)
        .map(|c| (c.pk, c.name))
        .collect();
    old_keys.sort();
    if old_keys
        .iter()
        .map(|(_, n)| n)
        .ne(layout.primary_keys.iter())
    {
        return Ok(0);
    }
    let on = layout
        .primary_keys
        .iter()
        .map(|k| format!("o.{q} = s.{q}", q = quote_sqlite(k)))
        .collect::<Vec<_>>()
        .join(" AND ");
    conn.query_row(
        &format!(
            "SELECT count(*) FROM {} AS s WHERE EXISTS (SELECT 1 FROM {} AS o WHERE {on})",
            quote_sqlite(shadow),
            quote_sqlite(table)
        ),
        [],
        |r| r.get::<_, i64>(0),
    )
    .with_ctx(|| format!("comparing the keys of `{table}` with the new snapshot"))
    .map(|n| n.max(0) as u64)
}

fn insert_sql(table: &str, layout: &OnlineLayout, rows: usize, kind: InsertKind) -> String {
    let names: Vec<&str> = layout.columns.iter().map(|c| c.name.as_str()).collect();
    let mut sql = format!(
        "INSERT INTO {} ({}) VALUES ",
        quote_sqlite(table),
        quoted_list(&names)
    );
    let one = format!("({})", vec!["?"; names.len()].join(", "));
    sql.push_str(&vec![one; rows].join(", "));
    if kind == InsertKind::Upsert {
        sql.push_str(&format!(
            " ON CONFLICT ({}) DO UPDATE SET ",
            quoted_list(&layout.primary_keys)
        ));
        let mut sets: Vec<String> = layout
            .value_columns()
            .map(|c| format!("{q} = excluded.{q}", q = quote_sqlite(&c.name)))
            .collect();
        if sets.is_empty() {
            // Keys only: a no-op update, so the row still counts as applied.
            let k = quote_sqlite(&layout.primary_keys[0]);
            sets.push(format!("{k} = excluded.{k}"));
        }
        sql.push_str(&sets.join(", "));
        if let Some(ts) = &layout.timestamp_key {
            let t = quote_sqlite(table);
            let c = quote_sqlite(ts);
            sql.push_str(&format!(
                " WHERE {t}.{c} IS NULL OR excluded.{c} >= {t}.{c}"
            ));
        }
    }
    sql
}

/// Inserts every row; returns the number of rows inserted or updated (SQLite's change count).
fn insert_rows(
    conn: &Connection,
    table: &str,
    layout: &OnlineLayout,
    prepared: &[Vec<ArrayRef>],
    kind: InsertKind,
    progress: &dyn Progress,
    bytes: &mut u64,
) -> Result<u64> {
    let ncols = layout.columns.len();
    let per_stmt = (MAX_PARAMS / ncols.max(1)).clamp(1, ROWS_PER_STATEMENT);
    let ctx = || format!("writing rows into `{table}`");
    let mut many = conn
        .prepare(&insert_sql(table, layout, per_stmt, kind))
        .with_ctx(ctx)?;
    let mut one = conn
        .prepare(&insert_sql(table, layout, 1, kind))
        .with_ctx(ctx)?;
    let mut buf = String::with_capacity(64);
    let mut changes = 0u64;
    for arrays in prepared {
        let cols = Col::all(layout, arrays)?;
        let n = arrays.first().map_or(0, |a| a.len());
        let mut row = 0;
        while row + per_stmt <= n {
            for k in 0..per_stmt {
                bind_row(&mut many, &cols, row + k, k * ncols + 1, &mut buf, bytes)
                    .with_ctx(ctx)?;
            }
            changes += many.raw_execute().with_ctx(ctx)? as u64;
            row += per_stmt;
        }
        while row < n {
            bind_row(&mut one, &cols, row, 1, &mut buf, bytes).with_ctx(ctx)?;
            changes += one.raw_execute().with_ctx(ctx)? as u64;
            row += 1;
        }
        progress.inc(n as u64);
    }
    Ok(changes)
}

/// Binds the cells of `row` to parameters `first..first + cols.len()`, in the SQLite encodings
/// of `docs/type-mapping.md`.
#[inline]
fn bind_row(
    stmt: &mut Statement<'_>,
    cols: &[Col<'_>],
    row: usize,
    first: usize,
    buf: &mut String,
    bytes: &mut u64,
) -> rusqlite::Result<()> {
    for (j, col) in cols.iter().enumerate() {
        let idx = first + j;
        match col.cell(row) {
            Cell::Null => stmt.raw_bind_parameter(idx, Null)?,
            Cell::Int(v) => {
                *bytes += 8;
                stmt.raw_bind_parameter(idx, v)?;
            }
            Cell::Bool(v) => {
                *bytes += 1;
                stmt.raw_bind_parameter(idx, v as i64)?;
            }
            Cell::Float32(v) => {
                *bytes += 4;
                stmt.raw_bind_parameter(idx, f32_to_f64_shortest(v))?;
            }
            Cell::Float(v) => {
                *bytes += 8;
                stmt.raw_bind_parameter(idx, v)?;
            }
            Cell::Str(s) | Cell::Json(s) => {
                *bytes += s.len() as u64;
                stmt.raw_bind_parameter(idx, s)?;
            }
            Cell::Bytes(b) => {
                *bytes += b.len() as u64;
                stmt.raw_bind_parameter(idx, b)?;
            }
            Cell::Decimal(v, s) => {
                buf.clear();
                write_decimal(v, s, buf);
                *bytes += buf.len() as u64;
                stmt.raw_bind_parameter(idx, buf.as_str())?;
            }
            Cell::Date(d) => {
                buf.clear();
                write_date(d, buf);
                *bytes += buf.len() as u64;
                stmt.raw_bind_parameter(idx, buf.as_str())?;
            }
            Cell::Timestamp(us) => {
                buf.clear();
                write_timestamp(us, buf);
                *bytes += buf.len() as u64;
                stmt.raw_bind_parameter(idx, buf.as_str())?;
            }
        }
    }
    Ok(())
}
