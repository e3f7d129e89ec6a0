//! The publish history table ([`HISTORY_TABLE`]) in PostgreSQL: created on the first record,
//! appended in its own transaction (autocommit), read newest first.

use tokio_postgres::GenericClient;

use super::ddl::{qualified, table_exists};
use super::error::Ctx;
use crate::error::Result;
use crate::history::{HISTORY_TABLE, MAX_HISTORY_LIMIT, PublishHistoryEntry};

const COLUMNS: &str = "id, online_table, feature_table, version_from, version_to, method, method_detail, inserted, updated, deleted, bytes, seconds, started_at_ms, finished_at_ms, error";

pub async fn record(c: &impl GenericClient, schema: &str, e: &PublishHistoryEntry) -> Result<()> {
    let t = qualified(schema, HISTORY_TABLE);
    c.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {t} (
            id bigserial PRIMARY KEY,
            online_table text NOT NULL,
            feature_table text NOT NULL,
            version_from bigint,
            version_to bigint,
            method text,
            method_detail text,
            inserted bigint NOT NULL,
            updated bigint NOT NULL,
            deleted bigint NOT NULL,
            bytes bigint NOT NULL,
            seconds double precision NOT NULL,
            started_at_ms bigint NOT NULL,
            finished_at_ms bigint NOT NULL,
            error text
        );
        CREATE INDEX IF NOT EXISTS {i} ON {t} (online_table, id)",
        i = super::ddl::q(&format!("{HISTORY_TABLE}_by_table")),
    ))
    .await
    .ctx("creating the publish history table")?;
    let (ins, upd, del, bytes) = (
        e.inserted as i64,
        e.updated as i64,
        e.deleted as i64,
        e.bytes as i64,
    );
    c.execute(
        &format!(
            "INSERT INTO {t} (online_table, feature_table, version_from, version_to, method, method_detail, inserted, updated, deleted, bytes, seconds, started_at_ms, finished_at_ms, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ),
        &[
            &e.online_table,
            &e.feature_table,
            &e.version_from,
            &e.version_to,
            &e.method,
            &e.method_detail,
            &ins,
            &upd,
            &del,
            &bytes,
            &e.seconds,
            &e.started_at_ms,
            &e.finished_at_ms,
            &e.error,
        ],
    )
    .await
    .with_ctx(|| {
        format!(
            "recording a publish of `{}` in the publish history",
            e.online_table
        )
    })?;
    Ok(())
}

pub async fn read(
    c: &impl GenericClient,
    schema: &str,
    table: &str,
    limit: usize,
) -> Result<Vec<PublishHistoryEntry>> {
    if !table_exists(c, schema, HISTORY_TABLE).await? {
        return Ok(Vec::new());
    }
    let limit = limit.min(MAX_HISTORY_LIMIT) as i64;
    let rows = c
        .query(
            &format!(
                "SELECT {COLUMNS} FROM {} WHERE online_table = $1 ORDER BY id DESC LIMIT $2",
                qualified(schema, HISTORY_TABLE)
            ),
            &[&table, &limit],
        )
        .await
        .with_ctx(|| format!("reading the publish history of `{table}`"))?;
    Ok(rows
        .iter()
        .map(|r| PublishHistoryEntry {
            id: r.get(0),
            online_table: r.get(1),
            feature_table: r.get(2),
            version_from: r.get(3),
            version_to: r.get(4),
            method: r.get(5),
            method_detail: r.get(6),
            inserted: r.get::<_, i64>(7) as u64,
            updated: r.get::<_, i64>(8) as u64,
            deleted: r.get::<_, i64>(9) as u64,
            bytes: r.get::<_, i64>(10) as u64,
            seconds: r.get(11),
            started_at_ms: r.get(12),
            finished_at_ms: r.get(13),
            error: r.get(14),
        })
        .collect())
}
