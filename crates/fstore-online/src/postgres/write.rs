//! The PostgreSQL write path. Every write is ONE transaction on one connection, holding the
//! table's advisory lock (`pg_advisory_xact_lock`) from its start: the bookkeeping check, the
//! rows and the bookkeeping row commit together or not at all (PostgreSQL DDL is
//! transactional, so a crash or error leaves no shadow or staging table behind).
//!
//! - First publish: `CREATE TABLE` + binary `COPY` straight into it (invisible until commit).
//! - Overwrite: `COPY` into the shadow table, then `DROP TABLE` + `ALTER TABLE … RENAME` in the
//!   same transaction: readers block briefly on the swap's lock and then see the new table,
//!   which carries the old table's grants.
//! - Merge and change sets: `COPY` into a temporary staging table (`ON COMMIT DROP`), then
//!   `INSERT … SELECT … ON CONFLICT DO UPDATE` with the never-regress rule for time series;
//!   deleted keys are `COPY`ed into a temporary key table and removed with `DELETE … USING`.
//!
//! Rows stream: each chunk of the [`RowStream`] is validated, encoded and sent as ~1 MiB
//! `COPY` messages before the next chunk is pulled, so memory does not grow with the table.

use std::time::Instant;

use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use fstore_core::Progress;
use futures::SinkExt;
use tokio_postgres::Transaction;

use super::conn::Conn;
use super::copy::{CopyColumn, HEADER, TRAILER, encode_row, pg_type};
use super::ddl::{self, q, qualified};
use super::error::Ctx;
use crate::arrow_values::{Col, prepare_columns};
use crate::layout::OnlineLayout;
use crate::merge::{MergePlan, plan_merge};
use crate::validate::validate_batches;
use crate::{Applied, RowStream, WriteMeta, WriteReport, error::Result};

/// Bytes of encoded rows gathered before one `COPY` data message is sent.
const COPY_MESSAGE_BYTES: usize = 1 << 20;
const STAGE: &str = "_fstore_stage";
const KEYS: &str = "_fstore_keys";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Merge,
    Overwrite,
    Changes,
}

/// The rows of one write: a stream pulled chunk by chunk, or batches in memory.
pub enum Input {
    Stream(RowStream),
    Batches(Vec<RecordBatch>),
}

impl Input {
    /// The next chunk, validated; `None` at the end.
    async fn next(&mut self, layout: &OnlineLayout) -> Result<Option<Vec<RecordBatch>>> {
        let batches = match self {
            Input::Batches(b) if b.is_empty() => return Ok(None),
            Input::Batches(b) => std::mem::take(b),
            Input::Stream(s) => match s.next_chunk().await? {
                Some(c) => c,
                None => return Ok(None),
            },
        };
        validate_batches(layout, &batches)?;
        Ok(Some(batches))
    }
}

pub struct Job {
    pub mode: crate::WriteMode,
    pub kind: Kind,
    pub input: Input,
    pub deletes: Vec<RecordBatch>,
    pub complete: bool,
}

/// Encodes `batches` (layout columns) as binary COPY tuples into `buf`, sending full messages
/// to `sink`. Returns the rows encoded.
async fn copy_batches(
    sink: &mut std::pin::Pin<&mut tokio_postgres::CopyInSink<Bytes>>,
    layout: &OnlineLayout,
    batches: &[RecordBatch],
    buf: &mut Vec<u8>,
    bytes: &mut u64,
    progress: &dyn Progress,
) -> Result<u64> {
    let mut rows = 0u64;
    for b in batches {
        let arrays = prepare_columns(layout, b)?;
        let cols = Col::all(layout, &arrays)?;
        let columns: Vec<CopyColumn<'_>> = layout
            .columns
            .iter()
            .zip(cols)
            .map(|(c, col)| CopyColumn {
                name: &c.name,
                ftype: c.ftype,
                col,
            })
            .collect();
        for row in 0..b.num_rows() {
            encode_row(&columns, row, buf)?;
            if buf.len() >= COPY_MESSAGE_BYTES {
                *bytes += buf.len() as u64;
                let msg = Bytes::from(std::mem::take(buf));
                sink.send(msg).await.ctx("sending rows to PostgreSQL")?;
            }
        }
        rows += b.num_rows() as u64;
        progress.inc(b.num_rows() as u64);
    }
    Ok(rows)
}

/// `COPY target (layout columns)` from `first` and the rest of `input`. Returns the rows.
async fn copy_into(
    tx: &Transaction<'_>,
    target: &str,
    layout: &OnlineLayout,
    first: Option<Vec<RecordBatch>>,
    input: &mut Input,
    bytes: &mut u64,
    progress: &dyn Progress,
) -> Result<u64> {
    let cols: Vec<String> = layout.columns.iter().map(|c| q(&c.name)).collect();
    let sql = format!(
        "COPY {target} ({}) FROM STDIN (FORMAT binary)",
        cols.join(", ")
    );
    let ctx = || format!("copying rows into `{}`", layout.table);
    let sink = tx.copy_in::<_, Bytes>(&sql).await.with_ctx(ctx)?;
    futures::pin_mut!(sink);
    let mut buf = Vec::with_capacity(COPY_MESSAGE_BYTES + 4096);
    buf.extend_from_slice(HEADER);
    let mut rows = 0;
    let mut chunk = first;
    while let Some(batches) = chunk {
        rows += copy_batches(&mut sink, layout, &batches, &mut buf, bytes, progress).await?;
        chunk = input.next(layout).await?;
    }
    buf.extend_from_slice(TRAILER);
    *bytes += buf.len() as u64;
    sink.send(Bytes::from(buf)).await.with_ctx(ctx)?;
    sink.as_mut().finish().await.with_ctx(ctx)?;
    Ok(rows)
}

/// A temporary table (dropped at commit) with `layout`'s columns and no constraints.
async fn create_temp(tx: &Transaction<'_>, name: &str, layout: &OnlineLayout) -> Result<()> {
    let cols: Vec<String> = layout
        .columns
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                q(&c.name),
                pg_type(c.ftype, layout.is_primary_key(&c.name))
            )
        })
        .collect();
    tx.batch_execute(&format!(
        "DROP TABLE IF EXISTS pg_temp.{n}; CREATE TEMP TABLE {n} ({}) ON COMMIT DROP",
        cols.join(", "),
        n = q(name)
    ))
    .await
    .ctx("creating a temporary staging table")
}

/// `a.k1 = b.k1 AND …` over the primary keys.
fn keys_match(layout: &OnlineLayout, a: &str, b: &str) -> String {
    layout
        .primary_keys
        .iter()
        .map(|k| format!("{a}.{k} = {b}.{k}", k = q(k)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

async fn count(tx: &Transaction<'_>, sql: &str, what: &str) -> Result<u64> {
    let row = tx.query_one(sql, &[]).await.ctx(what)?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// Upserts the staging table into `table`; returns the rows written.
async fn upsert(tx: &Transaction<'_>, table: &str, layout: &OnlineLayout) -> Result<u64> {
    let cols: Vec<String> = layout.columns.iter().map(|c| q(&c.name)).collect();
    let mut sets: Vec<String> = layout
        .value_columns()
        .map(|c| format!("{n} = EXCLUDED.{n}", n = q(&c.name)))
        .collect();
    if sets.is_empty() {
        // Only key columns: a no-op update, so the row still counts as written.
        let k = q(&layout.primary_keys[0]);
        sets.push(format!("{k} = EXCLUDED.{k}"));
    }
    let guard = match &layout.timestamp_key {
        // Never regress: an older incoming row leaves the newer online row; equal replaces.
        Some(ts) => format!(" WHERE t.{c} IS NULL OR EXCLUDED.{c} >= t.{c}", c = q(ts)),
        None => String::new(),
    };
    let keys: Vec<String> = layout.primary_keys.iter().map(|k| q(k)).collect();
    let sql = format!(
        "INSERT INTO {table} AS t ({c}) SELECT {c} FROM pg_temp.{s} ON CONFLICT ({k}) DO UPDATE SET {sets}{guard}",
        c = cols.join(", "),
        s = q(STAGE),
        k = keys.join(", "),
        sets = sets.join(", "),
    );
    tx.execute(&sql, &[])
        .await
        .with_ctx(|| format!("merging rows into `{}`", layout.table))
}

async fn merge_plan(
    tx: &Transaction<'_>,
    schema: &str,
    layout: &OnlineLayout,
    recorded: Option<&OnlineLayout>,
    feature_table: &str,
) -> Result<MergePlan> {
    let (existing, keys) = ddl::existing_columns(tx, schema, &layout.table, recorded).await?;
    plan_merge(
        layout,
        &existing,
        &keys,
        &|t, _| pg_type(t, false),
        feature_table,
    )
}

async fn add_columns(tx: &Transaction<'_>, table: &str, plan: &MergePlan) -> Result<()> {
    for c in &plan.add {
        tx.batch_execute(&format!(
            "ALTER TABLE {table} ADD COLUMN {} {}",
            q(&c.name),
            pg_type(c.ftype, false)
        ))
        .await
        .with_ctx(|| format!("adding column `{}`", c.name))?;
    }
    Ok(())
}

/// Gives `to` the grants `from` holds (besides its owner's), so that an identity granted on the
/// table itself, rather than through default privileges, still reads it after an overwrite swaps
/// the shadow table in (PostgreSQL grants belong to the table object, not to its name).
async fn copy_grants(tx: &Transaction<'_>, schema: &str, from: &str, to: &str) -> Result<()> {
    let rows = tx
        .query(
            "SELECT r.rolname::text, a.privilege_type, a.is_grantable \
             FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             CROSS JOIN LATERAL aclexplode(c.relacl) a \
             LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee \
             WHERE n.nspname = $1 AND c.relname = $2 AND a.grantee <> c.relowner",
            &[&schema, &from],
        )
        .await
        .with_ctx(|| format!("reading the grants on `{from}`"))?;
    for r in rows {
        let grantee: Option<String> = r.get(0);
        let privilege: String = r.get(1);
        let grantable: bool = r.get(2);
        // Privilege names come from the catalog's fixed set; never interpolate anything else.
        if !privilege
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b' ')
        {
            continue;
        }
        let grantee = grantee.map_or_else(|| "PUBLIC".to_string(), |g| q(&g));
        tx.batch_execute(&format!(
            "GRANT {privilege} ON {to} TO {grantee}{}",
            if grantable { " WITH GRANT OPTION" } else { "" }
        ))
        .await
        .with_ctx(|| format!("copying the grants of `{from}` to its replacement"))?;
    }
    Ok(())
}

/// Writes `job` into `layout.table` in schema `schema` (see the module docs).
pub async fn apply(
    conn: &mut Conn,
    schema: &str,
    layout: &OnlineLayout,
    job: Job,
    meta: &WriteMeta,
    progress: &dyn Progress,
) -> Result<Applied> {
    let start = Instant::now();
    ddl::check_table_name(&layout.table)?;
    ddl::check_names(layout)?;
    progress.set_stage("validating");
    let Job {
        mode,
        kind,
        mut input,
        deletes,
        complete,
    } = job;
    let key_layout = layout.keys_only();
    validate_batches(&key_layout, &deletes)?;
    // The first chunk (all of a small write) is validated before the transaction starts.
    let first = input.next(layout).await?;
    let name = layout.table.as_str();
    let table = qualified(schema, name);
    let tx = conn
        .client
        .transaction()
        .await
        .ctx("starting the write transaction")?;
    ddl::lock_table(&tx, schema, name).await?;
    ddl::ensure_bookkeeping(&tx, schema).await?;
    let mut current = ddl::read_bookkeeping(&tx, schema, name).await?;
    let exists = ddl::table_exists(&tx, schema, name).await?;
    if current.is_some() && !exists {
        tracing::warn!(
            table = name,
            "forgetting the record of an online table that no longer exists"
        );
        ddl::delete_bookkeeping(&tx, schema, name).await?;
        current = None;
    }
    if !meta.expect.holds(current.as_ref(), meta.source.as_ref()) {
        tx.commit()
            .await
            .with_ctx(|| format!("committing the check of `{name}`"))?;
        return Ok(Applied::Conflict {
            recorded_version: current.map(|c| c.delta_version),
        });
    }
    let record = &meta.record;
    let recorded_layout = current.as_ref().map(|c| &c.layout);
    let mut report = WriteReport::default();
    let bytes = &mut report.bytes;
    let recorded = match (kind, exists) {
        (_, false) => {
            progress.set_stage("writing");
            tx.batch_execute(&ddl::create_table_sql(
                schema,
                name,
                layout,
                &ddl::pk_name(name, false),
            ))
            .await
            .with_ctx(|| format!("creating table `{name}`"))?;
            report.rows_in =
                copy_into(&tx, &table, layout, first, &mut input, bytes, progress).await?;
            report.inserted = report.rows_in;
            layout.clone()
        }
        (Kind::Overwrite, true) => {
            progress.set_stage("writing shadow table");
            let shadow = ddl::shadow_name(name);
            let qshadow = qualified(schema, &shadow);
            tx.batch_execute(&format!(
                "DROP TABLE IF EXISTS {qshadow}; {}",
                ddl::create_table_sql(schema, &shadow, layout, &ddl::pk_name(name, true))
            ))
            .await
            .with_ctx(|| format!("creating the shadow table of `{name}`"))?;
            copy_grants(&tx, schema, name, &qshadow).await?;
            report.rows_in =
                copy_into(&tx, &qshadow, layout, first, &mut input, bytes, progress).await?;
            progress.set_stage("swapping tables");
            let old = count(
                &tx,
                &format!("SELECT count(*) FROM {table}"),
                "counting rows",
            )
            .await?;
            let kept = count(
                &tx,
                &format!(
                    "SELECT count(*) FROM {qshadow} AS s WHERE EXISTS (SELECT 1 FROM {table} AS o WHERE {})",
                    keys_match(layout, "s", "o")
                ),
                "counting kept keys",
            )
            .await?;
            report.inserted = report.rows_in.saturating_sub(kept);
            report.updated = kept;
            report.deleted = old.saturating_sub(kept);
            tx.batch_execute(&format!(
                "DROP TABLE {table}; ALTER TABLE {qshadow} RENAME TO {}; ALTER TABLE {table} RENAME CONSTRAINT {} TO {}",
                q(name),
                q(&ddl::pk_name(name, true)),
                q(&ddl::pk_name(name, false)),
            ))
            .await
            .with_ctx(|| format!("swapping the shadow table in as `{name}`"))?;
            layout.clone()
        }
        (Kind::Merge | Kind::Changes, true) => {
            let plan =
                merge_plan(&tx, schema, layout, recorded_layout, &record.feature_table).await?;
            add_columns(&tx, &table, &plan).await?;
            if !deletes.is_empty() {
                progress.set_stage("deleting");
                create_temp(&tx, KEYS, &key_layout).await?;
                let mut del = Input::Batches(deletes);
                let first_del = del.next(&key_layout).await?;
                let keys_t = format!("pg_temp.{}", q(KEYS));
                copy_into(
                    &tx,
                    &keys_t,
                    &key_layout,
                    first_del,
                    &mut del,
                    &mut 0,
                    &fstore_core::NoProgress,
                )
                .await?;
                report.deleted = tx
                    .execute(
                        &format!(
                            "DELETE FROM {table} AS t USING {keys_t} AS d WHERE {}",
                            keys_match(layout, "t", "d")
                        ),
                        &[],
                    )
                    .await
                    .with_ctx(|| format!("deleting rows from `{name}`"))?;
            }
            progress.set_stage("merging");
            create_temp(&tx, STAGE, layout).await?;
            let stage = format!("pg_temp.{}", q(STAGE));
            report.rows_in =
                copy_into(&tx, &stage, layout, first, &mut input, bytes, progress).await?;
            let present = count(
                &tx,
                &format!(
                    "SELECT count(*) FROM {stage} AS s WHERE EXISTS (SELECT 1 FROM {table} AS o WHERE {})",
                    keys_match(layout, "s", "o")
                ),
                "counting existing keys",
            )
            .await?;
            if complete {
                report.deleted += tx
                    .execute(
                        &format!(
                            "DELETE FROM {table} AS t WHERE NOT EXISTS (SELECT 1 FROM {stage} AS s WHERE {})",
                            keys_match(layout, "s", "t")
                        ),
                        &[],
                    )
                    .await
                    .with_ctx(|| format!("deleting absent keys from `{name}`"))?;
            }
            let upsert_layout = if complete {
                layout.without_timestamp_rule()
            } else {
                layout.clone()
            };
            let applied = upsert(&tx, &table, &upsert_layout).await?;
            report.inserted = report.rows_in.saturating_sub(present);
            report.updated = applied.saturating_sub(report.inserted);
            report.skipped_older = report.rows_in.saturating_sub(applied);
            plan.recorded
        }
    };
    ddl::write_bookkeeping(&tx, schema, &recorded, mode, record, meta.source.as_ref()).await?;
    tx.commit()
        .await
        .with_ctx(|| format!("committing the write of `{name}`"))?;
    report.elapsed = start.elapsed();
    Ok(Applied::Written(report))
}
