//! DDL and bookkeeping statements for SQLite.

use fstore_core::ident::quote_sqlite;
use rusqlite::{Connection, OptionalExtension, params};

use super::error::Ctx;
use crate::error::Result;
use crate::layout::OnlineLayout;
use crate::{BOOKKEEPING_TABLE, PublishRecord, PublishSource, PublishedTable, WriteMode};

/// Prefix of the staging table an overwrite builds before swapping it in.
pub const SHADOW_PREFIX: &str = "_fstore_shadow_";

pub fn shadow_name(table: &str) -> String {
    format!("{SHADOW_PREFIX}{table}")
}

/// `CREATE TABLE "name" (...) STRICT, WITHOUT ROWID` for `layout`: layout column order, key
/// columns NOT NULL, primary key = layout primary keys.
pub fn create_table_sql(name: &str, layout: &OnlineLayout) -> String {
    format!(
        "CREATE TABLE {} {}",
        quote_sqlite(name),
        columns_sql(layout)
    )
}

/// `("a" INTEGER NOT NULL, …, PRIMARY KEY ("a")) STRICT, WITHOUT ROWID`: the part of
/// [`create_table_sql`] after the name.
pub fn columns_sql(layout: &OnlineLayout) -> String {
    let mut sql = String::from("(");
    for c in &layout.columns {
        sql.push_str(&quote_sqlite(&c.name));
        sql.push(' ');
        sql.push_str(c.ftype.sqlite_type());
        if layout.is_primary_key(&c.name) {
            sql.push_str(" NOT NULL");
        }
        sql.push_str(", ");
    }
    sql.push_str("PRIMARY KEY (");
    sql.push_str(&quoted_list(&layout.primary_keys));
    sql.push_str(")) STRICT, WITHOUT ROWID");
    sql
}

/// `"a", "b", "c"`.
pub fn quoted_list<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|n| quote_sqlite(n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Creates the bookkeeping table if it is missing, and adds `source_json` to one made by an
/// older fstore.
pub fn ensure_bookkeeping(conn: &Connection) -> Result<()> {
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {} (
            online_table TEXT PRIMARY KEY NOT NULL,
            feature_table TEXT NOT NULL,
            delta_version INTEGER NOT NULL,
            layout_json TEXT NOT NULL,
            mode TEXT NOT NULL,
            published_at INTEGER NOT NULL,
            source_json TEXT
        ) STRICT",
        quote_sqlite(BOOKKEEPING_TABLE)
    ))
    .ctx("creating the bookkeeping table")?;
    if !has_source_column(conn)? {
        conn.execute_batch(&format!(
            "ALTER TABLE {} ADD COLUMN source_json TEXT",
            quote_sqlite(BOOKKEEPING_TABLE)
        ))
        .ctx("adding column source_json to the bookkeeping table")?;
    }
    Ok(())
}

/// Does the bookkeeping table have the `source_json` column (added after its first release)?
fn has_source_column(conn: &Connection) -> Result<bool> {
    conn.query_row(
        "SELECT 1 FROM pragma_table_info(?1) WHERE name = 'source_json'",
        [BOOKKEEPING_TABLE],
        |_| Ok(()),
    )
    .optional()
    .ctx("reading the columns of the bookkeeping table")
    .map(|r| r.is_some())
}

pub fn table_exists(conn: &Connection, name: &str) -> Result<bool> {
    conn.query_row(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [name],
        |_| Ok(()),
    )
    .optional()
    .with_ctx(|| format!("looking up table `{name}`"))
    .map(|r| r.is_some())
}

/// One column of an existing table: name, declared type, position in the primary key
/// (0 = not a key column).
pub struct TableColumn {
    pub name: String,
    pub decl_type: String,
    pub pk: i64,
}

pub fn table_columns(conn: &Connection, name: &str) -> Result<Vec<TableColumn>> {
    let ctx = || format!("reading the columns of `{name}`");
    let mut stmt = conn
        .prepare("SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid")
        .with_ctx(ctx)?;
    let rows = stmt
        .query_map([name], |r| {
            Ok(TableColumn {
                name: r.get(0)?,
                decl_type: r.get(1)?,
                pk: r.get(2)?,
            })
        })
        .with_ctx(ctx)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().with_ctx(ctx)
}

pub fn count_rows(conn: &Connection, table: &str) -> Result<u64> {
    conn.query_row(
        &format!("SELECT count(*) FROM {}", quote_sqlite(table)),
        [],
        |r| r.get::<_, i64>(0),
    )
    .with_ctx(|| format!("counting the rows of `{table}`"))
    .map(|n| n.max(0) as u64)
}

pub fn write_bookkeeping(
    conn: &Connection,
    layout: &OnlineLayout,
    mode: WriteMode,
    record: &PublishRecord,
    source: Option<&PublishSource>,
) -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    conn.execute(
        &format!(
            "INSERT INTO {} (online_table, feature_table, delta_version, layout_json, mode, published_at, source_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (online_table) DO UPDATE SET feature_table = excluded.feature_table,
               delta_version = excluded.delta_version, layout_json = excluded.layout_json,
               mode = excluded.mode, published_at = excluded.published_at,
               source_json = excluded.source_json",
            quote_sqlite(BOOKKEEPING_TABLE)
        ),
        params![
            layout.table,
            record.feature_table,
            record.delta_version,
            layout.to_json(),
            mode.as_str(),
            now,
            source.map(PublishSource::to_json)
        ],
    )
    .with_ctx(|| format!("recording `{}` in the bookkeeping table", layout.table))?;
    Ok(())
}

type PublishedRow = (String, String, i64, String, String, i64, Option<String>);

/// The SELECT list of the bookkeeping table; `source_json` reads as NULL in a table made by an
/// older fstore (readers never alter the table).
fn select_published(conn: &Connection) -> Result<String> {
    let source = if has_source_column(conn)? {
        "source_json"
    } else {
        "NULL"
    };
    Ok(format!(
        "SELECT online_table, feature_table, delta_version, layout_json, mode, published_at, {source} FROM {}",
        quote_sqlite(BOOKKEEPING_TABLE)
    ))
}

fn published_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PublishedRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn to_published(
    (table, feature_table, delta_version, json, mode, published_at, source): PublishedRow,
) -> Result<PublishedTable> {
    Ok(PublishedTable {
        layout: OnlineLayout::from_json(&table, &json)?,
        feature_table,
        delta_version,
        mode,
        published_at,
        source: source.as_deref().and_then(PublishSource::from_json),
    })
}

/// The bookkeeping entry of `table`; `None` if absent (or no bookkeeping table yet).
pub fn read_bookkeeping(conn: &Connection, table: &str) -> Result<Option<PublishedTable>> {
    if !table_exists(conn, BOOKKEEPING_TABLE)? {
        return Ok(None);
    }
    let row = conn
        .query_row(
            &format!("{} WHERE online_table = ?1", select_published(conn)?),
            [table],
            published_from_row,
        )
        .optional()
        .with_ctx(|| format!("reading the bookkeeping row of `{table}`"))?;
    row.map(to_published).transpose()
}

pub fn list_bookkeeping(conn: &Connection) -> Result<Vec<PublishedTable>> {
    if !table_exists(conn, BOOKKEEPING_TABLE)? {
        return Ok(Vec::new());
    }
    let ctx = "listing the bookkeeping table";
    let mut stmt = conn
        .prepare(&format!(
            "{} ORDER BY online_table",
            select_published(conn)?
        ))
        .ctx(ctx)?;
    let rows = stmt
        .query_map([], published_from_row)
        .ctx(ctx)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .ctx(ctx)?;
    rows.into_iter().map(to_published).collect()
}

pub fn delete_bookkeeping(conn: &Connection, table: &str) -> Result<()> {
    if table_exists(conn, BOOKKEEPING_TABLE)? {
        conn.execute(
            &format!(
                "DELETE FROM {} WHERE online_table = ?1",
                quote_sqlite(BOOKKEEPING_TABLE)
            ),
            [table],
        )
        .with_ctx(|| format!("removing `{table}` from the bookkeeping table"))?;
    }
    Ok(())
}
