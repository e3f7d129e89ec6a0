//! The online table `crash` and the version its bookkeeping row records, read with plain SQL as
//! each server's administrator: `(None, None)` before the first publish, `(version, None)` when
//! the bookkeeping row exists but the table does not.

use std::collections::BTreeMap;
use std::path::Path;

use fstore_test_support::{mysql as my, pg};
use mysql_async::prelude::Queryable;

use super::{ONLINE, Row};

type Online = (Option<i64>, Option<BTreeMap<i64, Row>>);

pub fn sqlite(path: &Path) -> Online {
    if !path.exists() {
        return (None, None);
    }
    let c = rusqlite::Connection::open(path).expect("open sqlite");
    let version: Option<i64> = c
        .query_row(
            "SELECT delta_version FROM _fstore_published WHERE online_table = ?1",
            [ONLINE],
            |r| r.get(0),
        )
        .ok();
    let Ok(mut st) = c.prepare("SELECT id, name, score, n FROM crash") else {
        return (version, None);
    };
    let rows = st
        .query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
        })
        .expect("query")
        .collect::<Result<BTreeMap<_, _>, _>>()
        .expect("rows");
    (version, Some(rows))
}

pub async fn mysql(database: &str) -> Online {
    let mut c = my::admin().await;
    c.query_drop(format!("USE `{database}`"))
        .await
        .expect("use");
    let version: Option<i64> = c
        .query_first(format!(
            "SELECT delta_version FROM _fstore_published WHERE online_table = '{ONLINE}'"
        ))
        .await
        .ok()
        .flatten();
    // The text protocol: every cell as text, parsed back.
    let rows: Result<Vec<mysql_async::Row>, _> =
        c.query("SELECT id, name, score, n FROM crash").await;
    let _ = c.disconnect().await;
    let Ok(rows) = rows else {
        return (version, None);
    };
    let text = |v: mysql_async::Value| match v {
        mysql_async::Value::NULL => None,
        mysql_async::Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        other => Some(other.as_sql(true)),
    };
    let mut out = BTreeMap::new();
    for r in rows {
        let mut cells = r.unwrap().into_iter().map(text);
        let id: i64 = cells.next().flatten().expect("id").parse().expect("int");
        let name = cells.next().flatten();
        let score = cells
            .next()
            .flatten()
            .map(|s| s.parse::<f64>().expect("double"));
        let n = cells
            .next()
            .flatten()
            .map(|s| s.parse::<i64>().expect("bigint"));
        out.insert(id, (name, score, n));
    }
    (version, Some(out))
}

/// Reads with the binary protocol, typed: `bigint`, `text`, `double precision`, `bigint`, so a
/// column of another type fails the test.
pub async fn postgres(database: &str) -> Online {
    let c = pg::client(database).await;
    let version: Option<i64> = c
        .query_opt(
            "SELECT delta_version FROM public._fstore_published WHERE online_table = $1",
            &[&ONLINE],
        )
        .await
        .ok()
        .flatten()
        .map(|r| r.get(0));
    let Ok(rows) = c
        .query("SELECT id, name, score, n FROM public.crash", &[])
        .await
    else {
        return (version, None);
    };
    let out = rows
        .iter()
        .map(|r| (r.get::<_, i64>(0), (r.get(1), r.get(2), r.get(3))))
        .collect();
    (version, Some(out))
}

/// The tables of schema `public` (PostgreSQL): what a killed publish might have left behind.
pub async fn postgres_tables(database: &str) -> Vec<String> {
    let c = pg::client(database).await;
    c.query(
        "SELECT tablename::text FROM pg_catalog.pg_tables WHERE schemaname = 'public' ORDER BY 1",
        &[],
    )
    .await
    .expect("listing tables")
    .iter()
    .map(|r| r.get(0))
    .collect()
}
