//! Publishing N rows (default 1,000,000) × 10 features to SQLite, beside a plain SQLite bulk insert
//! of the same rows (one transaction, one prepared INSERT, values bound from the Arrow arrays).
//!
//! `cargo run --release -p fstore-bench --bin publish_sqlite -- [ROWS]`

use std::time::Instant;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int64Type};
use fstore_bench::{batches, report, schema, timed};
use fstore_core::{NoProgress, TableName, TableSpec};
use fstore_offline::OfflineStore;
use fstore_online::OnlineStore;
use fstore_online::sqlite::SqliteStore;
use fstore_publish::{PublishOptions, publish};

fn raw_insert(
    path: &std::path::Path,
    data: &[arrow::record_batch::RecordBatch],
) -> anyhow::Result<()> {
    let mut db = rusqlite::Connection::open(path)?;
    db.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")?;
    db.execute_batch(
        "CREATE TABLE t (id INTEGER NOT NULL PRIMARY KEY, f0 REAL, f1 REAL, f2 REAL, f3 REAL, f4 REAL, f5 REAL, n0 INTEGER, n1 INTEGER, s0 TEXT, b0 INTEGER) STRICT, WITHOUT ROWID",
    )?;
    let tx = db.transaction()?;
    {
        let mut st = tx.prepare("INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?,?,?)")?;
        for b in data {
            let id = b.column(0).as_primitive::<Int64Type>();
            let f: Vec<_> = (1..7)
                .map(|i| b.column(i).as_primitive::<Float64Type>())
                .collect();
            let n0 = b.column(7).as_primitive::<Int64Type>();
            let n1 = b.column(8).as_primitive::<Int64Type>();
            let s0 = b.column(9).as_string::<i32>();
            let b0 = b.column(10).as_boolean();
            for r in 0..b.num_rows() {
                st.execute(rusqlite::params![
                    id.value(r),
                    f[0].value(r),
                    f[1].value(r),
                    f[2].value(r),
                    f[3].value(r),
                    f[4].value(r),
                    f[5].value(r),
                    (!n0.is_null(r)).then(|| n0.value(r)),
                    (!n1.is_null(r)).then(|| n1.value(r)),
                    s0.value(r),
                    b0.value(r) as i64,
                ])?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let rows = fstore_bench::rows_arg()?;
    let dir = tempfile::tempdir()?;
    let rt = tokio::runtime::Runtime::new()?;
    println!("publish to SQLite: {rows} rows × 10 features (6 double, 2 bigint, 1 string, 1 bool)");

    let data = batches(rows, 65_536, 0);
    let t = Instant::now();
    let offline = OfflineStore::new(
        dir.path().join("offline").to_str().unwrap_or("offline"),
        Default::default(),
    )?;
    let name = TableName::parse("bench.features")?;
    rt.block_on(offline.create(
        &name,
        TableSpec::new(vec!["id".into()], None)?,
        schema(),
        data.clone(),
        vec![],
    ))?;
    println!(
        "(setup: Delta table written in {:.2}s)",
        t.elapsed().as_secs_f64()
    );

    let (r, raw) = timed(|| raw_insert(&dir.path().join("raw.db"), &data));
    r?;
    let raw_rate = report("raw SQLite prepared INSERT, one transaction", rows, raw);

    let store = OnlineStore::Sqlite(SqliteStore::open(&dir.path().join("online.db"))?);
    let (r, first) = timed(|| {
        rt.block_on(publish(
            &offline,
            &store,
            &name,
            &PublishOptions::default(),
            &NoProgress,
        ))
    });
    r?;
    let first_rate = report("fstore publish (first, Delta → SQLite)", rows, first);

    let changed = batches(rows, 65_536, 1);
    rt.block_on(offline.write(&name, changed, fstore_offline::WriteMode::Overwrite))?;
    let (r, merge) = timed(|| {
        rt.block_on(publish(
            &offline,
            &store,
            &name,
            &PublishOptions::default(),
            &NoProgress,
        ))
    });
    r?;
    let merge_rate = report("fstore publish (merge, every row changed)", rows, merge);

    println!(
        "ratio first publish / raw insert: {:.2}x (target ≥ 0.5x)",
        first_rate / raw_rate
    );
    println!(
        "ratio merge publish / raw insert: {:.2}x",
        merge_rate / raw_rate
    );
    Ok(())
}
