//! The publish history table ([`HISTORY_TABLE`]) in SQLite: created on the first record,
//! appended by the writer connection, read by reader connections.

use fstore_core::ident::quote_sqlite;
use rusqlite::Connection;

use super::ddl::table_exists;
use super::error::Ctx;
use crate::error::Result;
use crate::history::{HISTORY_TABLE, MAX_HISTORY_LIMIT, PublishHistoryEntry};

const COLUMNS: &str = "id, online_table, feature_table, version_from, version_to, method, method_detail, inserted, updated, deleted, bytes, seconds, started_at_ms, finished_at_ms, error";

fn ensure(conn: &Connection) -> Result<()> {
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {t} (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            online_table TEXT NOT NULL,
            feature_table TEXT NOT NULL,
            version_from INTEGER,
            version_to INTEGER,
            method TEXT,
            method_detail TEXT,
            inserted INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            deleted INTEGER NOT NULL,
            bytes INTEGER NOT NULL,
            seconds REAL NOT NULL,
            started_at_ms INTEGER NOT NULL,
            finished_at_ms INTEGER NOT NULL,
            error TEXT
        ) STRICT;
        CREATE INDEX IF NOT EXISTS {i} ON {t} (online_table, id)",
        t = quote_sqlite(HISTORY_TABLE),
        i = quote_sqlite(&format!("{HISTORY_TABLE}_by_table")),
    ))
    .ctx("creating the publish history table")
}

/// Appends `e` (autocommit: its own transaction).
pub fn record(conn: &Connection, e: &PublishHistoryEntry) -> Result<()> {
    ensure(conn)?;
    conn.execute(
        &format!(
            "INSERT INTO {} ({}) VALUES (NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            quote_sqlite(HISTORY_TABLE),
            COLUMNS
        ),
        rusqlite::params![
            e.online_table,
            e.feature_table,
            e.version_from,
            e.version_to,
            e.method,
            e.method_detail,
            e.inserted as i64,
            e.updated as i64,
            e.deleted as i64,
            e.bytes as i64,
            e.seconds,
            e.started_at_ms,
            e.finished_at_ms,
            e.error,
        ],
    )
    .with_ctx(|| {
        format!(
            "recording a publish of `{}` in the publish history",
            e.online_table
        )
    })
    .map(|_| ())
}

/// The history of `table`, newest first.
pub fn read(conn: &Connection, table: &str, limit: usize) -> Result<Vec<PublishHistoryEntry>> {
    if !table_exists(conn, HISTORY_TABLE)? {
        return Ok(Vec::new());
    }
    let ctx = || format!("reading the publish history of `{table}`");
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM {} WHERE online_table = ?1 ORDER BY id DESC LIMIT ?2",
            quote_sqlite(HISTORY_TABLE)
        ))
        .with_ctx(ctx)?;
    let limit = limit.min(MAX_HISTORY_LIMIT) as i64;
    stmt.query_map(rusqlite::params![table, limit], |r| {
        Ok(PublishHistoryEntry {
            id: r.get(0)?,
            online_table: r.get(1)?,
            feature_table: r.get(2)?,
            version_from: r.get(3)?,
            version_to: r.get(4)?,
            method: r.get(5)?,
            method_detail: r.get(6)?,
            inserted: r.get::<_, i64>(7)? as u64,
            updated: r.get::<_, i64>(8)? as u64,
            deleted: r.get::<_, i64>(9)? as u64,
            bytes: r.get::<_, i64>(10)? as u64,
            seconds: r.get(11)?,
            started_at_ms: r.get(12)?,
            finished_at_ms: r.get(13)?,
            error: r.get(14)?,
        })
    })
    .with_ctx(ctx)?
    .collect::<rusqlite::Result<Vec<_>>>()
    .with_ctx(ctx)
}
