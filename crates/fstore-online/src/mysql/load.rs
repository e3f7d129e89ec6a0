//! The bulk path: moving prepared Arrow columns into a MySQL table, never one row per round trip.
//!
//! - [`BulkMode::LoadData`]: `LOAD DATA LOCAL INFILE` streamed from memory. A blocking encoder
//!   thread turns rows into tab-separated text (`\N` for NULL; `\\`, `\t`, `\n`, `\r`, `\0`
//!   escaped; binary as hex, decoded by `UNHEX(@v)`; floats in shortest round-trip form; booleans
//!   0/1; decimals as exact text; dates `YYYY-MM-DD`; timestamps `YYYY-MM-DD HH:MM:SS.ffffff`
//!   UTC; nested values as JSON text) and hands 1 MiB chunks through a bounded channel to
//!   mysql_async's per-connection infile handler (the file name is a dummy). Memory stays bounded
//!   whatever the table size. With `LOCAL`, the server downgrades row errors (duplicate keys,
//!   conversions) to warnings, so a load with any warning, or fewer rows than sent, fails.
//! - [`BulkMode::Insert`]: multi-row prepared `INSERT … VALUES (?,…),(?,…)…` statements of up to
//!   [`ROWS_PER_INSERT`] rows (fewer when the row is wide or the statement would pass the packet
//!   budget), values bound in the binary protocol. An encoder thread builds the next statement's
//!   parameters while the server executes the current one.
//! - [`BulkMode::Auto`]: `LOAD DATA` when the server has `local_infile` on (MariaDB's default),
//!   else (MySQL 8's default) `INSERT`; a server that refuses `LOAD DATA` anyway falls back too.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arrow::array::ArrayRef;
use bytes::Bytes;
use fstore_core::FeatureType;
use fstore_core::ident::quote_mysql;
use fstore_core::value::civil_from_days;
use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Statement, Value as MyValue};
use tokio::sync::mpsc;

use super::error::{Ctx, Target, is_local_infile_refused};
use crate::arrow_values::{Cell, Col, write_date, write_decimal, write_timestamp};
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::OnlineLayout;
use fstore_core::Progress;

/// How rows travel to the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BulkMode {
    /// `LOAD DATA LOCAL INFILE` when the server allows it, else multi-row `INSERT`s.
    #[default]
    Auto,
    /// Always `LOAD DATA LOCAL INFILE` (fails when the server refuses it).
    LoadData,
    /// Always multi-row prepared `INSERT`s.
    Insert,
}

/// Most rows in one `INSERT` statement.
pub const ROWS_PER_INSERT: usize = 2000;
/// MySQL's limit on placeholders in one prepared statement.
const MAX_PARAMS: usize = 65_535;
/// Size of one chunk of `LOAD DATA` text handed to the driver.
const CHUNK: usize = 1 << 20;
/// Chunks buffered between the encoder thread and the connection.
const CHANNEL_CHUNKS: usize = 4;

/// Prepared columns of every batch (see [`crate::arrow_values::prepare_columns`]), shareable with
/// the encoder thread.
pub type Prepared = Arc<Vec<Vec<ArrayRef>>>;

/// What a load did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadStats {
    pub rows: u64,
    pub bytes: u64,
    /// Rows that replaced a row with the same key ([`load_data_replacing`] only).
    pub replaced: u64,
    /// Which path actually ran (`LoadData` or `Insert`).
    pub used: Option<BulkMode>,
}

/// Everything a load needs besides the connection.
pub struct LoadJob<'a> {
    pub target: &'a Target,
    pub table: &'a str,
    pub layout: &'a OnlineLayout,
    pub prepared: Prepared,
    pub rows: u64,
    /// Largest statement the server accepts (`@@max_allowed_packet`).
    pub max_packet: u64,
    pub progress: &'a dyn Progress,
}

/// Loads every prepared row into `job.table` (which must exist, empty or not) the `mode` way.
/// `local_infile` says whether the server allows `LOAD DATA LOCAL` (for [`BulkMode::Auto`]).
/// The `INSERT` path runs in one transaction; `LOAD DATA` is one statement.
pub async fn load(
    conn: &mut Conn,
    job: &LoadJob<'_>,
    mode: BulkMode,
    local_infile: bool,
) -> Result<LoadStats> {
    if job.rows == 0 {
        return Ok(LoadStats {
            used: Some(mode),
            ..LoadStats::default()
        });
    }
    match mode {
        BulkMode::Insert => insert_rows(conn, job).await,
        BulkMode::LoadData => load_data(conn, job, false)
            .await
            .map_err(LoadError::into_store),
        BulkMode::Auto if !local_infile => insert_rows(conn, job).await,
        BulkMode::Auto => match load_data(conn, job, false).await {
            Ok(s) => Ok(s),
            Err(LoadError::Refused(e)) => {
                tracing::info!(
                    server = %job.target.addr(),
                    "the server refuses LOAD DATA LOCAL INFILE ({}); loading with multi-row INSERTs",
                    e.message
                );
                insert_rows(conn, job).await
            }
            Err(LoadError::Other(e)) => Err(e),
        },
    }
}

/// `LOAD DATA … REPLACE INTO TABLE`: every row replaces the row with its key, if any, in one
/// statement that joins the caller's transaction (the merge fast path: no staging table).
/// `Ok(None)` when the server refuses `LOAD DATA LOCAL` (nothing was loaded).
pub async fn load_data_replacing(conn: &mut Conn, job: &LoadJob<'_>) -> Result<Option<LoadStats>> {
    if job.rows == 0 {
        return Ok(Some(LoadStats {
            used: Some(BulkMode::LoadData),
            ..LoadStats::default()
        }));
    }
    match load_data(conn, job, true).await {
        Ok(s) => Ok(Some(s)),
        Err(LoadError::Refused(_)) => Ok(None),
        Err(LoadError::Other(e)) => Err(e),
    }
}

/// The counters of a `LOAD DATA` OK packet: `Records: 3  Deleted: 1  Skipped: 0  Warnings: 0`.
fn load_info(info: &str) -> Option<(u64, u64, u64)> {
    let mut it = info.split_whitespace();
    let mut field = |name: &str| -> Option<u64> {
        (it.next()? == name).then_some(())?;
        it.next()?.parse().ok()
    };
    Some((field("Records:")?, field("Deleted:")?, field("Skipped:")?))
}

enum LoadError {
    /// The server does not allow `LOAD DATA LOCAL` (nothing was loaded).
    Refused(StoreError),
    Other(StoreError),
}

impl LoadError {
    fn into_store(self) -> StoreError {
        match self {
            LoadError::Refused(e) | LoadError::Other(e) => e,
        }
    }
}

impl From<StoreError> for LoadError {
    fn from(e: StoreError) -> Self {
        LoadError::Other(e)
    }
}

/// The `LOAD DATA` statement for `layout` into `table` (`REPLACE INTO` when `replace`): binary
/// columns go through `@v<i>` and `UNHEX`, booleans through `@v<i>` and `CAST(… AS UNSIGNED)`
/// (`LOAD DATA` assigns text to a `BIT(1)` column as a binary string, so `1` would be the byte
/// 0x31 and "Data too long"; the cast makes it the number 1, for `TINYINT(1)` columns too).
pub fn load_data_sql(table: &str, layout: &OnlineLayout, replace: bool) -> String {
    let mut cols = Vec::with_capacity(layout.columns.len());
    let mut sets = Vec::new();
    for (i, c) in layout.columns.iter().enumerate() {
        if c.ftype == FeatureType::Binary {
            cols.push(format!("@v{i}"));
            sets.push(format!("{} = UNHEX(@v{i})", quote_mysql(&c.name)));
        } else if c.ftype == FeatureType::Boolean {
            cols.push(format!("@v{i}"));
            sets.push(format!(
                "{} = CAST(@v{i} AS UNSIGNED)",
                quote_mysql(&c.name)
            ));
        } else {
            cols.push(quote_mysql(&c.name));
        }
    }
    let mut sql = format!(
        "LOAD DATA LOCAL INFILE 'fstore-stream' {}INTO TABLE {} CHARACTER SET utf8mb4 \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
        if replace { "REPLACE " } else { "" },
        quote_mysql(table),
        cols.join(", ")
    );
    if !sets.is_empty() {
        sql.push_str(" SET ");
        sql.push_str(&sets.join(", "));
    }
    sql
}

async fn load_data(
    conn: &mut Conn,
    job: &LoadJob<'_>,
    replace: bool,
) -> std::result::Result<LoadStats, LoadError> {
    let t = job.target;
    let (tx, rx) = mpsc::channel::<Bytes>(CHANNEL_CHUNKS);
    // The handler owns the receiver only once the server asks for the file; until then (and if
    // it never does) it stays here, so dropping it always stops the encoder.
    let shared_rx = Arc::new(std::sync::Mutex::new(Some(rx)));
    let handler_rx = shared_rx.clone();
    conn.set_infile_handler(async move {
        let rx = handler_rx
            .lock()
            .ok()
            .and_then(|mut g| g.take())
            .ok_or_else(|| {
                mysql_async::Error::Other("fstore's LOAD DATA stream was already used".into())
            })?;
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx))
        });
        Ok(stream.boxed())
    });

    let encoded = Arc::new(AtomicU64::new(0));
    let prepared = job.prepared.clone();
    let layout = job.layout.clone();
    let counter = encoded.clone();
    let encoder =
        tokio::task::spawn_blocking(move || encode_tsv(&layout, &prepared, &tx, &counter));

    let sql = load_data_sql(job.table, job.layout, replace);
    let result = {
        let query = conn.query_drop(sql);
        tokio::pin!(query);
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut reported = 0u64;
        loop {
            tokio::select! {
                r = &mut query => break r,
                _ = tick.tick() => {
                    let now = encoded.load(Ordering::Relaxed);
                    if now > reported {
                        job.progress.inc(now - reported);
                        reported = now;
                    }
                }
            }
        }
        .map(|()| reported)
    };
    // Stop the encoder if the server never asked for the file.
    if let Ok(mut g) = shared_rx.lock() {
        g.take();
    }
    let encoded_stats = encoder.await.map_err(|e| {
        StoreError::new(
            StoreErrorKind::Database,
            format!("the LOAD DATA encoder failed: {e}"),
        )
    })?;
    let reported = match result {
        Ok(r) => r,
        Err(e) if is_local_infile_refused(&e) => {
            return Err(LoadError::Refused(super::error::map(
                t,
                &format!("loading rows into `{}`", job.table),
                e,
            )));
        }
        Err(e) => {
            return Err(
                super::error::map(t, &format!("loading rows into `{}`", job.table), e).into(),
            );
        }
    };
    let (rows, bytes) = encoded_stats?;
    job.progress.inc(rows.saturating_sub(reported));
    // A replaced row counts twice in the affected rows; the OK packet's info has the counters.
    let (loaded, replaced) = if replace {
        match load_info(&conn.info()) {
            Some((records, deleted, skipped)) => (records.saturating_sub(skipped), deleted),
            None => (0, 0),
        }
    } else {
        (conn.affected_rows(), 0)
    };
    let warnings = conn.get_warnings();
    if warnings > 0 || loaded != job.rows || rows != job.rows {
        let detail: Vec<(String, u32, String)> = conn
            .query("SHOW WARNINGS LIMIT 3")
            .await
            .ctx(t, "reading the warnings of LOAD DATA")?;
        let detail: Vec<String> = detail.into_iter().map(|(_, _, m)| m).collect();
        return Err(StoreError::new(
            StoreErrorKind::InvalidData,
            format!(
                "MySQL at {} rejected rows while loading `{}`: {} of {} rows loaded, {warnings} warning(s){}{}",
                t.addr(),
                job.table,
                loaded,
                job.rows,
                if detail.is_empty() { "" } else { ": " },
                detail.join("; ")
            ),
        )
        .into());
    }
    Ok(LoadStats {
        rows,
        bytes,
        replaced,
        used: Some(BulkMode::LoadData),
    })
}

/// Encodes every row as `LOAD DATA` text into the channel. Returns (rows, bytes) sent; stops
/// early (without error) when the receiver is gone.
fn encode_tsv(
    layout: &OnlineLayout,
    prepared: &[Vec<ArrayRef>],
    tx: &mpsc::Sender<Bytes>,
    counter: &AtomicU64,
) -> Result<(u64, u64)> {
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + 64 * 1024);
    let mut scratch = String::with_capacity(64);
    let (mut rows, mut bytes) = (0u64, 0u64);
    let flush = |buf: &mut Vec<u8>, bytes: &mut u64| -> bool {
        let mut ok = true;
        for piece in buf.chunks(CHUNK) {
            *bytes += piece.len() as u64;
            if tx.blocking_send(Bytes::copy_from_slice(piece)).is_err() {
                ok = false;
                break;
            }
        }
        buf.clear();
        ok
    };
    for arrays in prepared {
        let cols = Col::all(layout, arrays)?;
        let n = arrays.first().map_or(0, |a| a.len());
        for row in 0..n {
            for (j, col) in cols.iter().enumerate() {
                if j > 0 {
                    buf.push(b'\t');
                }
                push_tsv_cell(&mut buf, &mut scratch, col.cell(row));
            }
            buf.push(b'\n');
            rows += 1;
            if buf.len() >= CHUNK {
                if !flush(&mut buf, &mut bytes) {
                    return Ok((rows, bytes));
                }
                counter.store(rows, Ordering::Relaxed);
            }
        }
    }
    if !buf.is_empty() {
        flush(&mut buf, &mut bytes);
    }
    counter.store(rows, Ordering::Relaxed);
    Ok((rows, bytes))
}

/// Appends `s` with `LOAD DATA`'s escapes (`ESCAPED BY '\\'`).
pub fn push_escaped(buf: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let esc = match b {
            b'\\' => b'\\',
            b'\t' => b't',
            b'\n' => b'n',
            b'\r' => b'r',
            0 => b'0',
            _ => continue,
        };
        buf.extend_from_slice(&s[start..i]);
        buf.push(b'\\');
        buf.push(esc);
        start = i + 1;
    }
    buf.extend_from_slice(&s[start..]);
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends one cell in `LOAD DATA` text form.
pub fn push_tsv_cell(buf: &mut Vec<u8>, scratch: &mut String, cell: Cell<'_>) {
    scratch.clear();
    match cell {
        Cell::Null => {
            buf.extend_from_slice(b"\\N");
            return;
        }
        Cell::Int(v) => {
            let _ = write!(scratch, "{v}");
        }
        Cell::Bool(v) => {
            buf.push(if v { b'1' } else { b'0' });
            return;
        }
        // The exact widened value: the shortest f32 text can exceed FLT_MAX once read as a
        // double (`3.4028235e38`), which MySQL rejects as out of range.
        Cell::Float32(v) => write_f64(scratch, v as f64),
        Cell::Float(v) => write_f64(scratch, v),
        Cell::Decimal(v, s) => write_decimal(v, s, scratch),
        Cell::Str(s) | Cell::Json(s) => {
            push_escaped(buf, s.as_bytes());
            return;
        }
        Cell::Bytes(b) => {
            buf.reserve(b.len() * 2);
            for &x in b {
                buf.push(HEX[(x >> 4) as usize]);
                buf.push(HEX[(x & 15) as usize]);
            }
            return;
        }
        Cell::Date(d) => write_date(d, scratch),
        Cell::Timestamp(us) => write_timestamp(us, scratch),
    }
    buf.extend_from_slice(scratch.as_bytes());
}

/// Shortest round-trip text of `v`, in exponent form when plain digits would be long.
pub fn write_f64(out: &mut String, v: f64) {
    let a = v.abs();
    if a == 0.0 || (1e-5..1e16).contains(&a) {
        let _ = write!(out, "{v}");
    } else {
        let _ = write!(out, "{v:e}");
    }
}

/// The binary-protocol value of one cell (what the `INSERT` path binds).
pub fn cell_value(cell: Cell<'_>, scratch: &mut String) -> MyValue {
    match cell {
        Cell::Null => MyValue::NULL,
        Cell::Int(v) => MyValue::Int(v),
        Cell::Bool(v) => MyValue::Int(v as i64),
        Cell::Float32(v) => MyValue::Float(v),
        Cell::Float(v) => MyValue::Double(v),
        Cell::Decimal(v, s) => {
            scratch.clear();
            write_decimal(v, s, scratch);
            MyValue::Bytes(scratch.as_bytes().to_vec())
        }
        Cell::Str(s) | Cell::Json(s) => MyValue::Bytes(s.as_bytes().to_vec()),
        Cell::Bytes(b) => MyValue::Bytes(b.to_vec()),
        Cell::Date(d) => {
            let (y, m, d) = civil_from_days(d as i64);
            MyValue::Date(y.clamp(0, 9999) as u16, m as u8, d as u8, 0, 0, 0, 0)
        }
        Cell::Timestamp(us) => {
            let days = us.div_euclid(86_400_000_000);
            let rem = us.rem_euclid(86_400_000_000);
            let (y, m, d) = civil_from_days(days);
            let secs = rem / 1_000_000;
            MyValue::Date(
                y.clamp(0, 9999) as u16,
                m as u8,
                d as u8,
                (secs / 3600) as u8,
                ((secs / 60) % 60) as u8,
                (secs % 60) as u8,
                (rem % 1_000_000) as u32,
            )
        }
    }
}

/// Approximate bytes a bound value occupies on the wire.
fn value_size(v: &MyValue) -> usize {
    match v {
        MyValue::NULL => 1,
        MyValue::Bytes(b) => b.len() + 9,
        MyValue::Int(_) | MyValue::UInt(_) | MyValue::Double(_) => 10,
        MyValue::Float(_) => 6,
        MyValue::Date(..) | MyValue::Time(..) => 14,
    }
}

/// One multi-row statement's worth of parameters.
struct InsertChunk {
    rows: usize,
    params: Vec<MyValue>,
}

/// `INSERT INTO table (cols) VALUES (?, …), … ` with `rows` row tuples.
pub fn insert_sql(table: &str, layout: &OnlineLayout, rows: usize) -> String {
    let names: Vec<&str> = layout.columns.iter().map(|c| c.name.as_str()).collect();
    let one = format!("({})", vec!["?"; names.len()].join(", "));
    let mut sql = String::with_capacity(64 + rows * (one.len() + 2));
    let _ = write!(
        sql,
        "INSERT INTO {} ({}) VALUES ",
        quote_mysql(table),
        super::ddl::quoted_list(&names)
    );
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&one);
    }
    sql
}

/// Rows per statement for `ncols` columns.
pub fn rows_per_insert(ncols: usize) -> usize {
    (MAX_PARAMS / ncols.max(1)).clamp(1, ROWS_PER_INSERT)
}

async fn insert_rows(conn: &mut Conn, job: &LoadJob<'_>) -> Result<LoadStats> {
    let t = job.target;
    let ctx = || format!("inserting rows into `{}`", job.table);
    let ncols = job.layout.columns.len();
    let per_stmt = rows_per_insert(ncols);
    // Leave room for the statement id and the null bitmap; stay below one 16 MiB packet.
    let budget = (job.max_packet.saturating_sub(64 * 1024) as usize).clamp(64 * 1024, 8 << 20);

    let (tx, mut rx) = mpsc::channel::<InsertChunk>(2);
    let prepared = job.prepared.clone();
    let layout = job.layout.clone();
    let encoder = tokio::task::spawn_blocking(move || -> Result<u64> {
        let mut bytes = 0u64;
        let mut scratch = String::with_capacity(64);
        let mut params: Vec<MyValue> = Vec::with_capacity(per_stmt * ncols);
        let mut rows = 0usize;
        let mut size = 0usize;
        for arrays in prepared.iter() {
            let cols = Col::all(&layout, arrays)?;
            let n = arrays.first().map_or(0, |a| a.len());
            for row in 0..n {
                for col in &cols {
                    let v = cell_value(col.cell(row), &mut scratch);
                    size += value_size(&v);
                    params.push(v);
                }
                rows += 1;
                if rows == per_stmt || size >= budget {
                    bytes += size as u64;
                    let full = std::mem::replace(&mut params, Vec::with_capacity(per_stmt * ncols));
                    if tx
                        .blocking_send(InsertChunk { rows, params: full })
                        .is_err()
                    {
                        return Ok(bytes);
                    }
                    rows = 0;
                    size = 0;
                }
            }
        }
        if rows > 0 {
            bytes += size as u64;
            let _ = tx.blocking_send(InsertChunk { rows, params });
        }
        Ok(bytes)
    });

    let run = async {
        conn.query_drop("START TRANSACTION")
            .await
            .with_ctx(t, ctx)?;
        let mut statements: HashMap<usize, Statement> = HashMap::new();
        let mut done = 0u64;
        while let Some(chunk) = rx.recv().await {
            let stmt = match statements.get(&chunk.rows) {
                Some(s) => s.clone(),
                None => {
                    let s = conn
                        .prep(insert_sql(job.table, job.layout, chunk.rows))
                        .await
                        .with_ctx(t, ctx)?;
                    statements.insert(chunk.rows, s.clone());
                    s
                }
            };
            conn.exec_drop(&stmt, Params::Positional(chunk.params))
                .await
                .with_ctx(t, ctx)?;
            done += chunk.rows as u64;
            job.progress.inc(chunk.rows as u64);
        }
        conn.query_drop("COMMIT").await.with_ctx(t, ctx)?;
        for (_, s) in statements {
            let _ = conn.close(s).await;
        }
        Ok::<u64, StoreError>(done)
    };
    let result = run.await;
    drop(rx);
    let bytes = encoder.await.map_err(|e| {
        StoreError::new(
            StoreErrorKind::Database,
            format!("the INSERT encoder failed: {e}"),
        )
    })?;
    let rows = match result {
        Ok(rows) => rows,
        Err(e) => {
            let _ = conn.query_drop("ROLLBACK").await;
            return Err(e);
        }
    };
    let bytes = bytes?;
    if rows != job.rows {
        return Err(StoreError::new(
            StoreErrorKind::Database,
            format!(
                "inserted {rows} of {} rows into `{}`; nothing was published",
                job.rows, job.table
            ),
        ));
    }
    Ok(LoadStats {
        rows,
        bytes,
        replaced: 0,
        used: Some(BulkMode::Insert),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::OnlineColumn;

    fn tsv(cell: Cell<'_>) -> String {
        let mut buf = Vec::new();
        push_tsv_cell(&mut buf, &mut String::new(), cell);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn load_data_text_escapes_and_formats() {
        assert_eq!(tsv(Cell::Null), "\\N");
        assert_eq!(tsv(Cell::Str("\\N")), "\\\\N");
        assert_eq!(tsv(Cell::Str("a\tb\nc\rd\0e\\f")), "a\\tb\\nc\\rd\\0e\\\\f");
        assert_eq!(tsv(Cell::Str("héllo")), "héllo");
        assert_eq!(tsv(Cell::Bytes(&[0, 0xff, 0x10])), "00ff10");
        assert_eq!(tsv(Cell::Bool(true)), "1");
        assert_eq!(tsv(Cell::Float(0.1)), "0.1");
        assert_eq!(tsv(Cell::Float(1e300)), "1e300");
        assert_eq!(tsv(Cell::Float(-2.5e-7)), "-2.5e-7");
        assert_eq!(tsv(Cell::Float32(0.5)), "0.5");
        assert_eq!(tsv(Cell::Float32(f32::MAX)), "3.4028234663852886e38");
        assert_eq!(tsv(Cell::Decimal(-12345, 2)), "-123.45");
        assert_eq!(tsv(Cell::Date(19_723)), "2024-01-01");
        assert_eq!(
            tsv(Cell::Timestamp(1_500_000)),
            "1970-01-01 00:00:01.500000"
        );
        for v in [0.1, 1e300, -2.5e-7, 123456.789, f64::MIN_POSITIVE, f64::MAX] {
            let mut s = String::new();
            write_f64(&mut s, v);
            assert_eq!(s.parse::<f64>().unwrap(), v, "{s}");
        }
    }

    #[test]
    fn binary_columns_go_through_unhex() {
        let layout = OnlineLayout {
            table: "t".into(),
            columns: vec![
                OnlineColumn {
                    name: "id".into(),
                    ftype: FeatureType::BigInt,
                },
                OnlineColumn {
                    name: "b".into(),
                    ftype: FeatureType::Binary,
                },
            ],
            primary_keys: vec!["id".into()],
            timestamp_key: None,
        };
        let sql = load_data_sql("s", &layout, false);
        assert!(sql.ends_with("(`id`, @v1) SET `b` = UNHEX(@v1)"), "{sql}");
        assert!(sql.contains("'fstore-stream' INTO TABLE `s`"), "{sql}");
        let sql = load_data_sql("s", &layout, true);
        assert!(
            sql.contains("'fstore-stream' REPLACE INTO TABLE `s`"),
            "{sql}"
        );
        assert_eq!(
            load_info("Records: 3  Deleted: 1  Skipped: 0  Warnings: 0"),
            Some((3, 1, 0))
        );
        assert_eq!(load_info(""), None);
        assert!(
            sql.contains("FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\'"),
            "{sql}"
        );
        assert_eq!(
            insert_sql("s", &layout, 2),
            "INSERT INTO `s` (`id`, `b`) VALUES (?, ?), (?, ?)"
        );
        assert_eq!(rows_per_insert(10), 2000);
        assert_eq!(rows_per_insert(100), 655);
    }

    #[test]
    fn cells_bind_as_binary_protocol_values() {
        let mut s = String::new();
        assert_eq!(
            cell_value(Cell::Timestamp(86_400_000_000 + 3_723_000_004), &mut s),
            MyValue::Date(1970, 1, 2, 1, 2, 3, 4)
        );
        assert_eq!(
            cell_value(Cell::Date(0), &mut s),
            MyValue::Date(1970, 1, 1, 0, 0, 0, 0)
        );
        assert_eq!(
            cell_value(Cell::Decimal(5, 3), &mut s),
            MyValue::Bytes(b"0.005".to_vec())
        );
    }
}
