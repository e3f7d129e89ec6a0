//! DDL, catalog queries and the bookkeeping table for MySQL / MariaDB / Aurora.
//!
//! Every statement here works on MySQL 8 (Aurora MySQL 3) and MariaDB 10.6+. Identifiers are
//! always quoted with [`quote_mysql`]; values are always bound parameters.

use fstore_core::FeatureType;
use fstore_core::ident::{MAX_IDENTIFIER_LEN, quote_mysql};
use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::error::{Ctx, Target, server_code};
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::OnlineLayout;
use crate::{BOOKKEEPING_TABLE, PublishRecord, PublishSource, PublishedTable, WriteMode};

/// Prefix of the table an overwrite (and a first publish) builds before swapping it in.
pub const SHADOW_PREFIX: &str = "_fstore_shadow_";
/// Prefix the replaced table carries between the swap and its drop.
pub const OLD_PREFIX: &str = "_fstore_old_";
/// Prefix of the per-connection `TEMPORARY` staging table of a merge.
pub const STAGE_PREFIX: &str = "_fstore_stage_";
/// Prefix of the per-connection `TEMPORARY` table of keys a change set deletes.
pub const KEYS_PREFIX: &str = "_fstore_keys_";

/// `ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`: the options of every online table.
pub const TABLE_OPTIONS: &str = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

/// FNV-1a, 64 bits: a stable hash for shortening names (std's hasher may change between releases).
pub fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `prefix + name`, shortened to MySQL's 64-character identifier limit when needed by keeping a
/// head of `name` and appending 8 hex digits of its hash (so distinct long names stay distinct).
/// Table names are ASCII (see `fstore_core::ident`), so bytes are characters.
pub fn prefixed(prefix: &str, name: &str) -> String {
    let full = format!("{prefix}{name}");
    if full.len() <= MAX_IDENTIFIER_LEN {
        return full;
    }
    let keep = MAX_IDENTIFIER_LEN - prefix.len() - 9;
    let head: String = name.chars().take(keep).collect();
    format!("{prefix}{head}_{:08x}", fnv1a(name) as u32)
}

pub fn shadow_name(table: &str) -> String {
    prefixed(SHADOW_PREFIX, table)
}

pub fn old_name(table: &str) -> String {
    prefixed(OLD_PREFIX, table)
}

pub fn stage_name(table: &str) -> String {
    prefixed(STAGE_PREFIX, table)
}

/// The per-connection `TEMPORARY` table of keys a change set deletes.
pub fn keys_name(table: &str) -> String {
    prefixed(KEYS_PREFIX, table)
}

/// Name of the advisory lock (`GET_LOCK`) that serialises writers of one online table. MySQL 8
/// limits lock names to 64 characters.
pub fn lock_name(database: &str, table: &str) -> String {
    let full = format!("fstore:{database}.{table}");
    if full.len() <= 64 {
        full
    } else {
        format!("fstore:{:016x}", fnv1a(&full))
    }
}

/// `` `a`, `b`, `c` ``.
pub fn quoted_list<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|n| quote_mysql(n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `CREATE [TEMPORARY] TABLE name (...)` for `layout`: layout column order, types from
/// `FeatureType::mysql_type`, key columns `NOT NULL`, others nullable, `PRIMARY KEY` = layout
/// primary keys (the timestamp key is an ordinary column), utf8mb4_bin.
pub fn create_table_sql(name: &str, layout: &OnlineLayout, temporary: bool) -> String {
    let mut sql = String::with_capacity(64 + layout.columns.len() * 32);
    sql.push_str(if temporary {
        "CREATE TEMPORARY TABLE "
    } else {
        "CREATE TABLE "
    });
    sql.push_str(&quote_mysql(name));
    sql.push_str(" (");
    for c in &layout.columns {
        let key = layout.is_primary_key(&c.name);
        sql.push_str(&quote_mysql(&c.name));
        sql.push(' ');
        sql.push_str(&c.ftype.mysql_type(key));
        if key {
            sql.push_str(" NOT NULL");
        }
        sql.push_str(", ");
    }
    sql.push_str("PRIMARY KEY (");
    sql.push_str(&quoted_list(&layout.primary_keys));
    sql.push_str(")) ");
    sql.push_str(TABLE_OPTIONS);
    sql
}

/// Does a base table (or view) `name` exist in the current database?
pub async fn table_exists(conn: &mut Conn, t: &Target, name: &str) -> Result<bool> {
    let row: Option<i64> = conn
        .exec_first(
            "SELECT 1 FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
            (name,),
        )
        .await
        .with_ctx(t, || format!("looking up table `{name}`"))?;
    Ok(row.is_some())
}

pub async fn drop_table_if_exists(conn: &mut Conn, t: &Target, name: &str) -> Result<()> {
    conn.query_drop(format!("DROP TABLE IF EXISTS {}", quote_mysql(name)))
        .await
        .with_ctx(t, || format!("dropping table `{name}`"))
}

/// One column of an existing table, from `INFORMATION_SCHEMA.COLUMNS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableColumn {
    pub name: String,
    /// `COLUMN_TYPE`, e.g. `bigint(20)`, `varchar(100)`, `decimal(10,2)`, `tinyint(1)`.
    pub column_type: String,
    /// Position in the primary key (1-based), 0 when not a key column.
    pub pk: u32,
}

/// The columns of `name` in table order, with their primary-key positions.
pub async fn table_columns(conn: &mut Conn, t: &Target, name: &str) -> Result<Vec<TableColumn>> {
    let ctx = || format!("reading the columns of `{name}`");
    let cols: Vec<(String, String)> = conn
        .exec(
            "SELECT COLUMN_NAME, COLUMN_TYPE FROM INFORMATION_SCHEMA.COLUMNS
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (name,),
        )
        .await
        .with_ctx(t, ctx)?;
    let keys: Vec<(String, u32)> = conn
        .exec(
            "SELECT COLUMN_NAME, SEQ_IN_INDEX FROM INFORMATION_SCHEMA.STATISTICS
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY'
             ORDER BY SEQ_IN_INDEX",
            (name,),
        )
        .await
        .with_ctx(t, ctx)?;
    Ok(cols
        .into_iter()
        .map(|(name, column_type)| {
            let pk = keys.iter().find(|(k, _)| *k == name).map_or(0, |(_, s)| *s);
            TableColumn {
                name,
                column_type,
                pk,
            }
        })
        .collect())
}

/// The primary-key columns of `cols`, in key order.
pub fn primary_keys(cols: &[TableColumn]) -> Vec<String> {
    let mut keys: Vec<(u32, &str)> = cols
        .iter()
        .filter(|c| c.pk > 0)
        .map(|c| (c.pk, c.name.as_str()))
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, n)| n.to_string()).collect()
}

/// A server `COLUMN_TYPE` in the spelling of `FeatureType::mysql_type` (`bigint(20)` → `BIGINT`,
/// `bit(1)` → `BIT(1)`), so the two compare equal when they are the same type. `text` and
/// `mediumtext` count as `LONGTEXT`, as Databricks treats `text` and `longtext` as compatible.
/// `tinyint(1)` (and its alias `BOOLEAN`) is `TINYINT(1)`: how fstore stored booleans before it
/// followed Databricks' `BIT(1)` (see [`old_layout_target`]).
pub fn canonical_type(column_type: &str) -> String {
    let t = column_type.trim().to_ascii_lowercase();
    let (base, args) = match t.split_once('(') {
        Some((b, rest)) => (
            b.trim().to_string(),
            rest.split(')').next().unwrap_or("").to_string(),
        ),
        None => (
            t.split_whitespace().next().unwrap_or("").to_string(),
            String::new(),
        ),
    };
    let unsigned = t.contains("unsigned");
    match base.as_str() {
        "tinyint" if args == "1" && !unsigned => "TINYINT(1)".into(),
        "bool" | "boolean" => "TINYINT(1)".into(),
        "smallint" | "int" | "integer" | "bigint" | "tinyint" | "mediumint" => {
            let base = if base == "integer" {
                "int"
            } else {
                base.as_str()
            };
            let mut s = base.to_ascii_uppercase();
            if unsigned {
                s.push_str(" UNSIGNED");
            }
            s
        }
        "double" | "real" => "DOUBLE".into(),
        "float" => "FLOAT".into(),
        "decimal" | "numeric" => format!("DECIMAL({})", args.replace(' ', "")),
        "datetime" => {
            if args.is_empty() {
                "DATETIME".into()
            } else {
                format!("DATETIME({args})")
            }
        }
        "text" | "mediumtext" | "longtext" | "tinytext" => "LONGTEXT".into(),
        "blob" | "mediumblob" | "longblob" | "tinyblob" => {
            if base == "longblob" {
                "LONGBLOB".into()
            } else {
                base.to_ascii_uppercase()
            }
        }
        _ => {
            if args.is_empty() {
                base.to_ascii_uppercase()
            } else {
                format!("{}({args})", base.to_ascii_uppercase())
            }
        }
    }
}

/// Can a column of canonical type `native` (see [`canonical_type`]) hold the values of an fstore
/// column of type `ftype` with the meaning fstore gives them? Beyond fstore's own types, this
/// accepts what Databricks' publisher (Spark's JDBC MySQL dialect) creates, so that a table it
/// published is adopted by a merge as it is: `TEXT`/`MEDIUMTEXT` strings and JSON, `BLOB` binary
/// (64 KiB per value, the server refuses longer ones), `TIMESTAMP`/`DATETIME` of any precision
/// (the server rounds sub-seconds it cannot keep and refuses instants outside `TIMESTAMP`'s
/// 1970–2038), `DOUBLE` for floats (older Spark's `REAL`), and `TINYINT` for small integers
/// (Spark 4's `ByteType`; the server refuses values outside -128..127). `TINYINT(1)` stays a
/// boolean: fstore's own older layout, which a publish converts (see [`old_layout_target`]).
pub fn compatible_type(native: &str, ftype: FeatureType, is_key: bool) -> bool {
    if native.eq_ignore_ascii_case(&ftype.mysql_type(is_key)) {
        return true;
    }
    let n = native.to_ascii_uppercase();
    match ftype {
        FeatureType::Boolean => n == "TINYINT(1)",
        FeatureType::SmallInt => n == "TINYINT",
        FeatureType::Float => n == "DOUBLE",
        FeatureType::String if !is_key => n == "LONGTEXT",
        FeatureType::Json => n == "LONGTEXT",
        FeatureType::Binary => matches!(n.as_str(), "BLOB" | "MEDIUMBLOB"),
        FeatureType::Timestamp => {
            n == "TIMESTAMP"
                || n == "DATETIME"
                || n.starts_with("TIMESTAMP(")
                || n.starts_with("DATETIME(")
        }
        _ => false,
    }
}

/// The type an existing column of canonical type `native` holding fstore type `ftype` must be
/// converted to before fstore writes it, when its type is one an older fstore created and that
/// Databricks' readers cannot read: `TINYINT(1)` booleans become `BIT(1)`. `None`: keep it.
pub fn old_layout_target(native: &str, ftype: FeatureType) -> Option<String> {
    (ftype == FeatureType::Boolean && native.eq_ignore_ascii_case("TINYINT(1)"))
        .then(|| ftype.mysql_type(false))
}

/// Creates the bookkeeping table if it is missing (same columns as SQLite's), and adds
/// `source_json` to one made by an older fstore.
pub async fn ensure_bookkeeping(conn: &mut Conn, t: &Target) -> Result<()> {
    conn.query_drop(format!(
        "CREATE TABLE IF NOT EXISTS {} (
            online_table VARCHAR(64) NOT NULL,
            feature_table VARCHAR(256) NOT NULL,
            delta_version BIGINT NOT NULL,
            layout_json LONGTEXT NOT NULL,
            mode VARCHAR(16) NOT NULL,
            published_at BIGINT NOT NULL,
            source_json LONGTEXT NULL,
            PRIMARY KEY (online_table)
        ) {TABLE_OPTIONS}",
        quote_mysql(BOOKKEEPING_TABLE)
    ))
    .await
    .ctx(t, "creating the bookkeeping table")?;
    let has_source: Option<i64> = conn
        .exec_first(
            "SELECT 1 FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'source_json'",
            (BOOKKEEPING_TABLE,),
        )
        .await
        .ctx(t, "reading the columns of the bookkeeping table")?;
    if has_source.is_none() {
        conn.query_drop(format!(
            "ALTER TABLE {} ADD COLUMN source_json LONGTEXT NULL",
            quote_mysql(BOOKKEEPING_TABLE)
        ))
        .await
        .ctx(t, "adding column source_json to the bookkeeping table")?;
    }
    Ok(())
}

/// Upserts the bookkeeping row `row_name` (the online table, or its shadow table before a swap;
/// see `write.rs`) describing `layout` (inside the caller's transaction, if any).
pub async fn write_bookkeeping(
    conn: &mut Conn,
    t: &Target,
    row_name: &str,
    layout: &OnlineLayout,
    mode: WriteMode,
    record: &PublishRecord,
    source: Option<&PublishSource>,
) -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let source = source.map(PublishSource::to_json);
    conn.exec_drop(
        format!(
            "INSERT INTO {} (online_table, feature_table, delta_version, layout_json, mode, published_at, source_json)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON DUPLICATE KEY UPDATE feature_table = ?, delta_version = ?, layout_json = ?,
               mode = ?, published_at = ?, source_json = ?",
            quote_mysql(BOOKKEEPING_TABLE)
        ),
        vec![
            mysql_async::Value::from(row_name),
            record.feature_table.as_str().into(),
            record.delta_version.into(),
            layout.to_json().into(),
            mode.as_str().into(),
            now.into(),
            source.clone().into(),
            record.feature_table.as_str().into(),
            record.delta_version.into(),
            layout.to_json().into(),
            mode.as_str().into(),
            now.into(),
            source.into(),
        ],
    )
    .await
    .with_ctx(t, || format!("recording `{}` in the bookkeeping table", layout.table))
}

const SELECT_PUBLISHED: &str = "SELECT online_table, feature_table, delta_version, layout_json, mode, published_at, source_json FROM ";
/// For a bookkeeping table made by an older fstore (readers never alter it).
const SELECT_PUBLISHED_OLD: &str = "SELECT online_table, feature_table, delta_version, layout_json, mode, published_at, NULL FROM ";

type PublishedRow = (String, String, i64, String, String, i64, Option<String>);

fn to_published(
    name: &str,
    (_, feature_table, delta_version, json, mode, published_at, source): PublishedRow,
) -> Result<PublishedTable> {
    Ok(PublishedTable {
        layout: OnlineLayout::from_json(name, &json)?,
        feature_table,
        delta_version,
        mode,
        published_at,
        source: source.as_deref().and_then(PublishSource::from_json),
    })
}

/// Bookkeeping rows (raw: shadow rows included) named `names`, or every row; empty when there
/// is no bookkeeping table yet.
async fn bookkeeping_rows(
    conn: &mut Conn,
    t: &Target,
    names: Option<&[&str]>,
) -> Result<Vec<PublishedRow>> {
    let table = quote_mysql(BOOKKEEPING_TABLE);
    let (clause, params) = match names {
        Some(n) if !n.is_empty() => (
            format!(" WHERE online_table IN ({})", vec!["?"; n.len()].join(", ")),
            n.iter().map(|x| mysql_async::Value::from(*x)).collect(),
        ),
        Some(_) => return Ok(Vec::new()),
        None => (String::new(), Vec::new()),
    };
    let mut rows = select_rows(conn, format!("{SELECT_PUBLISHED}{table}{clause}"), &params).await;
    if matches!(&rows, Err(e) if server_code(e) == Some(1054)) {
        rows = select_rows(
            conn,
            format!("{SELECT_PUBLISHED_OLD}{table}{clause}"),
            &params,
        )
        .await;
    }
    match rows {
        Ok(mut rows) => {
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(rows)
        }
        Err(e) if server_code(&e) == Some(1146) => Ok(Vec::new()),
        Err(e) => Err(super::error::map(t, "reading the bookkeeping table", e)),
    }
}

async fn select_rows(
    conn: &mut Conn,
    sql: String,
    params: &[mysql_async::Value],
) -> std::result::Result<Vec<PublishedRow>, mysql_async::Error> {
    if params.is_empty() {
        conn.query(sql).await
    } else {
        conn.exec(sql, params.to_vec()).await
    }
}

/// The bookkeeping entry of `table`; `None` if absent (or no bookkeeping table yet).
///
/// A row recorded for the shadow table before an overwrite's swap stands for `table` once the
/// swap happened (the shadow table is gone): see `write.rs`.
pub async fn read_bookkeeping(
    conn: &mut Conn,
    t: &Target,
    table: &str,
) -> Result<Option<PublishedTable>> {
    let shadow = shadow_name(table);
    let rows = bookkeeping_rows(conn, t, Some(&[table, &shadow])).await?;
    let (mut own, mut pending) = (None, None);
    for row in rows {
        if row.0 == table {
            own = Some(row);
        } else if row.0 == shadow {
            pending = Some(row);
        }
    }
    let row = match pending {
        Some(p) if !table_exists(conn, t, &shadow).await? => Some(p),
        _ => own,
    };
    row.map(|r| to_published(table, r)).transpose()
}

/// Every bookkeeping entry, by online table name (shadow rows resolved as in
/// [`read_bookkeeping`]).
pub async fn list_bookkeeping(conn: &mut Conn, t: &Target) -> Result<Vec<PublishedTable>> {
    let rows = bookkeeping_rows(conn, t, None).await?;
    let mut out = Vec::new();
    for row in &rows {
        if row.0.starts_with(SHADOW_PREFIX) {
            continue;
        }
        if let Some(p) = read_bookkeeping(conn, t, &row.0).await? {
            out.push(p);
        }
    }
    Ok(out)
}

/// Removes the bookkeeping rows of `table` and of its shadow table.
pub async fn delete_bookkeeping(conn: &mut Conn, t: &Target, table: &str) -> Result<()> {
    let r = conn
        .exec_drop(
            format!(
                "DELETE FROM {} WHERE online_table IN (?, ?)",
                quote_mysql(BOOKKEEPING_TABLE)
            ),
            (table, shadow_name(table)),
        )
        .await;
    match r {
        Ok(()) => Ok(()),
        Err(e) if server_code(&e) == Some(1146) => Ok(()),
        Err(e) => Err(super::error::map(
            t,
            &format!("removing `{table}` from the bookkeeping table"),
            e,
        )),
    }
}

/// Settles what an interrupted overwrite or first publish left in the bookkeeping table (run
/// under the table's lock before a write): a shadow row whose shadow table still exists belongs
/// to a swap that never happened and is dropped; one whose shadow table is gone belongs to a swap
/// that happened and becomes the table's row.
pub async fn settle_bookkeeping(conn: &mut Conn, t: &Target, table: &str) -> Result<()> {
    let shadow = shadow_name(table);
    let pending = bookkeeping_rows(conn, t, Some(&[&shadow])).await?;
    if pending.is_empty() {
        return Ok(());
    }
    if table_exists(conn, t, &shadow).await? {
        tracing::info!(
            table,
            "discarding the record of an overwrite that was interrupted before its swap"
        );
        return delete_bookkeeping_row(conn, t, &shadow).await;
    }
    tracing::info!(
        table,
        "completing the record of an overwrite that was interrupted after its swap"
    );
    promote_shadow_row(conn, t, table).await
}

pub async fn delete_bookkeeping_row(conn: &mut Conn, t: &Target, name: &str) -> Result<()> {
    conn.exec_drop(
        format!(
            "DELETE FROM {} WHERE online_table = ?",
            quote_mysql(BOOKKEEPING_TABLE)
        ),
        (name,),
    )
    .await
    .with_ctx(t, || {
        format!("removing `{name}` from the bookkeeping table")
    })
}

/// In one transaction: the shadow table's row replaces `table`'s row.
pub async fn promote_shadow_row(conn: &mut Conn, t: &Target, table: &str) -> Result<()> {
    let shadow = shadow_name(table);
    let ctx = || format!("recording the new `{table}` in the bookkeeping table");
    conn.query_drop("START TRANSACTION")
        .await
        .with_ctx(t, ctx)?;
    let done = async {
        delete_bookkeeping_row(conn, t, table).await?;
        conn.exec_drop(
            format!(
                "UPDATE {} SET online_table = ? WHERE online_table = ?",
                quote_mysql(BOOKKEEPING_TABLE)
            ),
            (table, shadow.as_str()),
        )
        .await
        .with_ctx(t, ctx)?;
        conn.query_drop("COMMIT").await.with_ctx(t, ctx)
    }
    .await;
    if done.is_err() {
        let _ = conn.query_drop("ROLLBACK").await;
    }
    done
}

/// `SELECT COUNT(*) FROM name`.
pub async fn count_rows(conn: &mut Conn, t: &Target, name: &str) -> Result<u64> {
    let n: Option<i64> = conn
        .query_first(format!("SELECT COUNT(*) FROM {}", quote_mysql(name)))
        .await
        .with_ctx(t, || format!("counting the rows of `{name}`"))?;
    Ok(n.unwrap_or(0).max(0) as u64)
}

/// Takes the advisory lock that serialises writers of `table` (released by [`unlock`], or when
/// the connection ends or is reset).
pub async fn lock(conn: &mut Conn, t: &Target, table: &str, wait_secs: u64) -> Result<()> {
    let got: Option<Option<i64>> = conn
        .exec_first(
            "SELECT GET_LOCK(?, ?)",
            (lock_name(&t.database, table), wait_secs),
        )
        .await
        .with_ctx(t, || format!("locking `{table}` for writing"))?;
    match got.flatten() {
        Some(1) => Ok(()),
        _ => Err(StoreError::new(
            StoreErrorKind::Database,
            format!(
                "another publish or drop of `{table}` is running on {} (waited {wait_secs} s for it); try again when it has finished",
                t.addr()
            ),
        )),
    }
}

pub async fn unlock(conn: &mut Conn, t: &Target, table: &str) -> Result<()> {
    conn.exec_drop("DO RELEASE_LOCK(?)", (lock_name(&t.database, table),))
        .await
        .with_ctx(t, || format!("unlocking `{table}`"))
}

#[cfg(test)]
mod tests {
    use fstore_core::FeatureType;

    use super::*;
    use crate::layout::OnlineColumn;

    #[test]
    fn long_names_are_shortened_to_64_characters_and_stay_distinct() {
        assert_eq!(shadow_name("t"), "_fstore_shadow_t");
        let a = "a".repeat(60);
        let b = format!("{}b", "a".repeat(59));
        for f in [shadow_name, old_name, stage_name] {
            let (x, y) = (f(&a), f(&b));
            assert!(x.len() <= 64 && y.len() <= 64, "{x}");
            assert_ne!(x, y);
        }
        assert!(lock_name(&"d".repeat(64), &a).len() <= 64);
    }

    #[test]
    fn create_table_follows_the_layout() {
        let layout = OnlineLayout {
            table: "t".into(),
            columns: vec![
                OnlineColumn {
                    name: "name".into(),
                    ftype: FeatureType::String,
                },
                OnlineColumn {
                    name: "ts".into(),
                    ftype: FeatureType::Timestamp,
                },
                OnlineColumn {
                    name: "a`b".into(),
                    ftype: FeatureType::Double,
                },
            ],
            primary_keys: vec!["name".into()],
            timestamp_key: Some("ts".into()),
        };
        assert_eq!(
            create_table_sql("t", &layout, false),
            "CREATE TABLE `t` (`name` VARCHAR(100) NOT NULL, `ts` DATETIME(6), `a``b` DOUBLE, PRIMARY KEY (`name`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
        );
    }

    #[test]
    fn server_types_canonicalise_to_fstore_spellings() {
        for (server, ftype, key) in [
            ("bigint(20)", FeatureType::BigInt, false),
            ("bigint", FeatureType::BigInt, false),
            ("int(11)", FeatureType::Int, false),
            ("smallint(6)", FeatureType::SmallInt, false),
            ("bit(1)", FeatureType::Boolean, false),
            ("double", FeatureType::Double, false),
            ("float", FeatureType::Float, false),
            (
                "decimal(10,2)",
                FeatureType::Decimal {
                    precision: 10,
                    scale: 2,
                },
                false,
            ),
            ("varchar(100)", FeatureType::String, true),
            ("longtext", FeatureType::String, false),
            ("text", FeatureType::String, false),
            ("longblob", FeatureType::Binary, false),
            ("date", FeatureType::Date, false),
            ("datetime(6)", FeatureType::Timestamp, false),
        ] {
            assert_eq!(canonical_type(server), ftype.mysql_type(key), "{server}");
        }
        assert_eq!(canonical_type("tinyint(1)"), "TINYINT(1)");
        assert_eq!(canonical_type("timestamp"), "TIMESTAMP");
        assert_eq!(canonical_type("blob"), "BLOB");
    }

    #[test]
    fn databricks_column_types_are_compatible() {
        // What Spark's JDBC MySQL dialect creates (as INFORMATION_SCHEMA spells it).
        for (server, ftype, key) in [
            ("bit(1)", FeatureType::Boolean, false),
            ("text", FeatureType::String, false),
            ("longtext", FeatureType::Json, false),
            ("text", FeatureType::Json, false),
            ("varchar(100)", FeatureType::String, true),
            ("timestamp", FeatureType::Timestamp, false),
            ("datetime", FeatureType::Timestamp, false),
            ("double", FeatureType::Double, false),
            ("double", FeatureType::Float, false),
            ("int(11)", FeatureType::Int, false),
            ("blob", FeatureType::Binary, false),
            ("tinyint(4)", FeatureType::SmallInt, false),
            ("tinyint(1)", FeatureType::Boolean, false),
        ] {
            assert!(
                compatible_type(&canonical_type(server), ftype, key),
                "{server} for {ftype}"
            );
        }
        for (server, ftype, key) in [
            ("varchar(100)", FeatureType::String, false),
            ("text", FeatureType::String, true),
            ("bit(1)", FeatureType::Int, false),
            ("double", FeatureType::BigInt, false),
            ("date", FeatureType::Timestamp, false),
            ("float", FeatureType::Double, false),
            ("tinyint(4)", FeatureType::Boolean, false),
        ] {
            assert!(
                !compatible_type(&canonical_type(server), ftype, key),
                "{server} for {ftype}"
            );
        }
        assert_eq!(
            old_layout_target(&canonical_type("tinyint(1)"), FeatureType::Boolean).as_deref(),
            Some("BIT(1)")
        );
        assert_eq!(old_layout_target("BIT(1)", FeatureType::Boolean), None);
    }
}
