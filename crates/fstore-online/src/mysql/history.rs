//! The publish history table ([`HISTORY_TABLE`]) in MySQL / MariaDB: created on the first
//! record, one autocommit `INSERT` per publish, read by either identity.

use fstore_core::ident::quote_mysql;
use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::ddl::TABLE_OPTIONS;
use super::error::{Ctx, Target, server_code};
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::history::{HISTORY_TABLE, MAX_HISTORY_LIMIT, PublishHistoryEntry};

const COLUMNS: &str = "id, online_table, feature_table, version_from, version_to, method, method_detail, inserted, updated, deleted, bytes, seconds, started_at_ms, finished_at_ms, error";

async fn ensure(conn: &mut Conn, t: &Target) -> Result<()> {
    conn.query_drop(format!(
        "CREATE TABLE IF NOT EXISTS {} (
            id BIGINT NOT NULL AUTO_INCREMENT,
            online_table VARCHAR(64) NOT NULL,
            feature_table VARCHAR(256) NOT NULL,
            version_from BIGINT NULL,
            version_to BIGINT NULL,
            method VARCHAR(16) NULL,
            method_detail TEXT NULL,
            inserted BIGINT UNSIGNED NOT NULL,
            updated BIGINT UNSIGNED NOT NULL,
            deleted BIGINT UNSIGNED NOT NULL,
            bytes BIGINT UNSIGNED NOT NULL,
            seconds DOUBLE NOT NULL,
            started_at_ms BIGINT NOT NULL,
            finished_at_ms BIGINT NOT NULL,
            error TEXT NULL,
            PRIMARY KEY (id),
            KEY by_table (online_table, id)
        ) {TABLE_OPTIONS}",
        quote_mysql(HISTORY_TABLE)
    ))
    .await
    .ctx(t, "creating the publish history table")
}

/// Appends `e` (autocommit: its own transaction).
pub async fn record(conn: &mut Conn, t: &Target, e: &PublishHistoryEntry) -> Result<()> {
    ensure(conn, t).await?;
    conn.exec_drop(
        format!(
            "INSERT INTO {} ({COLUMNS}) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            quote_mysql(HISTORY_TABLE)
        ),
        vec![
            mysql_async::Value::from(e.online_table.as_str()),
            e.feature_table.as_str().into(),
            e.version_from.into(),
            e.version_to.into(),
            e.method.clone().into(),
            e.method_detail.clone().into(),
            e.inserted.into(),
            e.updated.into(),
            e.deleted.into(),
            e.bytes.into(),
            e.seconds.into(),
            e.started_at_ms.into(),
            e.finished_at_ms.into(),
            e.error.clone().into(),
        ],
    )
    .await
    .with_ctx(t, || {
        format!(
            "recording a publish of `{}` in the publish history",
            e.online_table
        )
    })
}

fn take<T: mysql_async::prelude::FromValue>(row: &mut mysql_async::Row, i: usize) -> Result<T> {
    row.take_opt::<T, usize>(i)
        .and_then(|r| r.ok())
        .ok_or_else(|| {
            StoreError::new(
                StoreErrorKind::Database,
                format!("the publish history table has an unexpected value in column {i}"),
            )
        })
}

/// The history of `table`, newest first; empty when there is no history table yet.
pub async fn read(
    conn: &mut Conn,
    t: &Target,
    table: &str,
    limit: usize,
) -> Result<Vec<PublishHistoryEntry>> {
    let rows: std::result::Result<Vec<mysql_async::Row>, _> = conn
        .exec(
            format!(
                "SELECT {COLUMNS} FROM {} WHERE online_table = ? ORDER BY id DESC LIMIT ?",
                quote_mysql(HISTORY_TABLE)
            ),
            (table, limit.min(MAX_HISTORY_LIMIT) as u64),
        )
        .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) if server_code(&e) == Some(1146) => return Ok(Vec::new()),
        Err(e) => {
            return Err(super::error::map(
                t,
                &format!("reading the publish history of `{table}`"),
                e,
            ));
        }
    };
    rows.into_iter()
        .map(|mut r| {
            Ok(PublishHistoryEntry {
                id: take(&mut r, 0)?,
                online_table: take(&mut r, 1)?,
                feature_table: take(&mut r, 2)?,
                version_from: take(&mut r, 3)?,
                version_to: take(&mut r, 4)?,
                method: take(&mut r, 5)?,
                method_detail: take(&mut r, 6)?,
                inserted: take(&mut r, 7)?,
                updated: take(&mut r, 8)?,
                deleted: take(&mut r, 9)?,
                bytes: take(&mut r, 10)?,
                seconds: take(&mut r, 11)?,
                started_at_ms: take(&mut r, 12)?,
                finished_at_ms: take(&mut r, 13)?,
                error: take(&mut r, 14)?,
            })
        })
        .collect()
}
