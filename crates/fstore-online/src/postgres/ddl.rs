//! PostgreSQL DDL and bookkeeping: schema-qualified quoted names, the online table's columns
//! (type mapping in [`super::copy::pg_type`]), the shadow table's name, and the bookkeeping
//! table `_fstore_published` (same columns and meaning as on SQLite and MySQL).
//!
//! Every name is quoted and qualified with the store's schema: nothing relies on `search_path`.

use fstore_core::ident::quote_sqlite;
use tokio_postgres::GenericClient;

use super::copy::{check_identifier, pg_type};
use super::error::Ctx;
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::OnlineLayout;
use crate::merge::ExistingColumn;
use crate::{BOOKKEEPING_TABLE, PublishRecord, PublishSource, PublishedTable, WriteMode};

/// A quoted identifier (PostgreSQL quotes like SQLite: `"` doubled).
pub fn q(name: &str) -> String {
    quote_sqlite(name)
}

/// `"schema"."name"`.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", q(schema), q(name))
}

/// FNV-1a: a stable hash for derived names (the same in every process and version).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The shadow table an overwrite builds: derived from a hash so that it stays within the
/// 63-byte limit whatever the table's length.
pub fn shadow_name(table: &str) -> String {
    format!("_fstore_shadow_{:016x}", fnv(table))
}

/// The primary-key constraint of the live table, and of the shadow table while it is built
/// (renamed at the swap, so the next shadow's name is free).
pub fn pk_name(table: &str, shadow: bool) -> String {
    let kind = if shadow { "spk" } else { "pk" };
    format!("_fstore_{kind}_{:016x}", fnv(table))
}

/// Refuses a table or column name PostgreSQL would truncate.
pub fn check_names(layout: &OnlineLayout) -> Result<()> {
    check_identifier("online table", &layout.table)?;
    for c in &layout.columns {
        check_identifier("column", &c.name)?;
    }
    Ok(())
}

/// `CREATE TABLE` for `layout` under `name`, with the primary key as constraint `pk`.
pub fn create_table_sql(schema: &str, name: &str, layout: &OnlineLayout, pk: &str) -> String {
    let mut cols: Vec<String> = layout
        .columns
        .iter()
        .map(|c| {
            let key = layout.is_primary_key(&c.name);
            format!(
                "{} {}{}",
                q(&c.name),
                pg_type(c.ftype, key),
                if key { " NOT NULL" } else { "" }
            )
        })
        .collect();
    let keys: Vec<String> = layout.primary_keys.iter().map(|k| q(k)).collect();
    cols.push(format!(
        "CONSTRAINT {} PRIMARY KEY ({})",
        q(pk),
        keys.join(", ")
    ));
    format!(
        "CREATE TABLE {} ({})",
        qualified(schema, name),
        cols.join(", ")
    )
}

pub async fn table_exists(c: &impl GenericClient, schema: &str, table: &str) -> Result<bool> {
    let row = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class r JOIN pg_catalog.pg_namespace n \
             ON n.oid = r.relnamespace WHERE n.nspname = $1 AND r.relname = $2 \
             AND r.relkind IN ('r', 'p'))",
            &[&schema, &table],
        )
        .await
        .with_ctx(|| format!("checking whether table `{table}` exists"))?;
    Ok(row.get(0))
}

/// The columns of `table` in table order (with the bookkeeping layout's types when known), and
/// its primary-key columns in key order.
pub async fn existing_columns(
    c: &impl GenericClient,
    schema: &str,
    table: &str,
    recorded: Option<&OnlineLayout>,
) -> Result<(Vec<ExistingColumn>, Vec<String>)> {
    let ctx = || format!("reading the columns of `{table}`");
    let rows = c
        .query(
            "SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), \
               coalesce((SELECT k.n FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(att, n) \
               WHERE k.att = a.attnum), 0)::int4 \
             FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_class r ON r.oid = a.attrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace \
             LEFT JOIN pg_catalog.pg_index i ON i.indrelid = r.oid AND i.indisprimary \
             WHERE n.nspname = $1 AND r.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[&schema, &table],
        )
        .await
        .with_ctx(ctx)?;
    let mut keys: Vec<(i32, String)> = Vec::new();
    let mut cols = Vec::new();
    for r in rows {
        let name: String = r.get(0);
        let native: String = r.get(1);
        // Position in the key, from 1 (int2vector casts to a 0-based array, hence the ordinality).
        let pos: i32 = r.get(2);
        if pos > 0 {
            keys.push((pos, name.clone()));
        }
        cols.push(ExistingColumn {
            ftype: recorded.and_then(|l| l.column(&name)).map(|c| c.ftype),
            name,
            native_type: native,
            primary_key: pos > 0,
        });
    }
    keys.sort();
    Ok((cols, keys.into_iter().map(|(_, k)| k).collect()))
}

pub async fn ensure_bookkeeping(c: &impl GenericClient, schema: &str) -> Result<()> {
    c.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {} (
            online_table text COLLATE \"C\" PRIMARY KEY,
            feature_table text NOT NULL,
            delta_version bigint NOT NULL,
            layout_json text NOT NULL,
            mode text NOT NULL,
            published_at bigint NOT NULL,
            source_json text
        )",
        qualified(schema, BOOKKEEPING_TABLE)
    ))
    .await
    .ctx("creating the bookkeeping table")
}

const SELECT_PUBLISHED: &str = "SELECT online_table, feature_table, delta_version, layout_json, mode, published_at, source_json FROM ";

fn to_published(r: &tokio_postgres::Row) -> Result<PublishedTable> {
    let table: String = r.get(0);
    let layout_json: String = r.get(3);
    let source: Option<String> = r.get(6);
    Ok(PublishedTable {
        layout: OnlineLayout::from_json(&table, &layout_json)?,
        feature_table: r.get(1),
        delta_version: r.get(2),
        mode: r.get(4),
        published_at: r.get(5),
        source: source.as_deref().and_then(PublishSource::from_json),
    })
}

/// Is `e` "relation does not exist" (the bookkeeping table not created yet)?
fn undefined_table(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE)
}

pub async fn read_bookkeeping(
    c: &impl GenericClient,
    schema: &str,
    table: &str,
) -> Result<Option<PublishedTable>> {
    if !table_exists(c, schema, BOOKKEEPING_TABLE).await? {
        return Ok(None);
    }
    let sql = format!(
        "{SELECT_PUBLISHED}{} WHERE online_table = $1",
        qualified(schema, BOOKKEEPING_TABLE)
    );
    match c.query_opt(&sql, &[&table]).await {
        Ok(row) => row.as_ref().map(to_published).transpose(),
        Err(e) if undefined_table(&e) => Ok(None),
        Err(e) => Err(super::error::map(
            &format!("reading the bookkeeping row of `{table}`"),
            &e,
        )),
    }
}

pub async fn list_bookkeeping(c: &impl GenericClient, schema: &str) -> Result<Vec<PublishedTable>> {
    if !table_exists(c, schema, BOOKKEEPING_TABLE).await? {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{SELECT_PUBLISHED}{} ORDER BY online_table",
        qualified(schema, BOOKKEEPING_TABLE)
    );
    let rows = c
        .query(&sql, &[])
        .await
        .ctx("listing the bookkeeping table")?;
    rows.iter().map(to_published).collect()
}

pub async fn write_bookkeeping(
    c: &impl GenericClient,
    schema: &str,
    layout: &OnlineLayout,
    mode: WriteMode,
    record: &PublishRecord,
    source: Option<&PublishSource>,
) -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let source = source.map(PublishSource::to_json);
    c.execute(
        &format!(
            "INSERT INTO {} (online_table, feature_table, delta_version, layout_json, mode, published_at, source_json)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (online_table) DO UPDATE SET feature_table = EXCLUDED.feature_table,
               delta_version = EXCLUDED.delta_version, layout_json = EXCLUDED.layout_json,
               mode = EXCLUDED.mode, published_at = EXCLUDED.published_at,
               source_json = EXCLUDED.source_json",
            qualified(schema, BOOKKEEPING_TABLE)
        ),
        &[
            &layout.table,
            &record.feature_table,
            &record.delta_version,
            &layout.to_json(),
            &mode.as_str(),
            &now,
            &source,
        ],
    )
    .await
    .with_ctx(|| format!("recording `{}` in the bookkeeping table", layout.table))?;
    Ok(())
}

pub async fn delete_bookkeeping(c: &impl GenericClient, schema: &str, table: &str) -> Result<()> {
    if !table_exists(c, schema, BOOKKEEPING_TABLE).await? {
        return Ok(());
    }
    c.execute(
        &format!(
            "DELETE FROM {} WHERE online_table = $1",
            qualified(schema, BOOKKEEPING_TABLE)
        ),
        &[&table],
    )
    .await
    .with_ctx(|| format!("removing `{table}` from the bookkeeping table"))?;
    Ok(())
}

/// Takes the table's write lock for the rest of the transaction: writers of one table never
/// interleave (released by COMMIT or ROLLBACK, also when the connection dies).
pub async fn lock_table(c: &impl GenericClient, schema: &str, table: &str) -> Result<()> {
    let key = format!("fstore:{schema}.{table}");
    c.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&key],
    )
    .await
    .with_ctx(|| format!("taking the write lock of `{table}`"))?;
    Ok(())
}

pub fn check_table_name(table: &str) -> Result<()> {
    fstore_core::ident::validate_online_table_name(table)
        .map_err(|e| StoreError::new(StoreErrorKind::BadRequest, e.to_string()))?;
    check_identifier("online table", table)
}
