//! Shared pieces of the benchmarks in `bench/`: the synthetic feature table and timing helpers.
//! Every benchmark measures the raw limit (a hand-written bulk insert) in the same run and prints
//! fstore's rate beside it, so figures compare like with like on whatever machine runs them.

pub mod pg;

use std::sync::Arc;
use std::time::{Duration, Instant};

use std::io::Write;

use arrow::array::{AsArray, BooleanArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

/// The benchmark table: key `id` (bigint) and 10 features — 6 doubles, 2 bigints, 1 string, 1 bool.
pub fn schema() -> SchemaRef {
    let mut fields = vec![Field::new("id", DataType::Int64, false)];
    for i in 0..6 {
        fields.push(Field::new(format!("f{i}"), DataType::Float64, true));
    }
    fields.push(Field::new("n0", DataType::Int64, true));
    fields.push(Field::new("n1", DataType::Int64, true));
    fields.push(Field::new("s0", DataType::Utf8, true));
    fields.push(Field::new("b0", DataType::Boolean, true));
    Arc::new(Schema::new(fields))
}

/// The raw limit's MySQL table: the column types fstore's MySQL store gives the benchmark table
/// (`BIT(1)` booleans and `LONGTEXT` strings, as Databricks' publisher writes them).
pub const RAW_MYSQL_COLUMNS: &str = "id BIGINT NOT NULL, f0 DOUBLE, f1 DOUBLE, f2 DOUBLE, f3 DOUBLE, f4 DOUBLE, f5 DOUBLE, n0 BIGINT, n1 BIGINT, s0 LONGTEXT, b0 BIT(1), PRIMARY KEY (id)";

/// The column list of the raw `LOAD DATA` of [`write_csv`]'s file into [`RAW_MYSQL_COLUMNS`]:
/// the boolean goes through a variable, as in fstore's own bulk path (`LOAD DATA` would assign
/// the text `1` to a `BIT(1)` column as the byte `'1'`, which does not fit).
pub const RAW_LOAD_COLUMNS: &str =
    "(id, f0, f1, f2, f3, f4, f5, n0, n1, s0, @b0) SET b0 = CAST(@b0 AS UNSIGNED)";

/// Appends the rows of a benchmark batch to `w` as the comma-separated text the raw `LOAD DATA`
/// reads (booleans as 0/1; the generated strings hold no comma).
pub fn write_csv(w: &mut impl Write, b: &RecordBatch) -> anyhow::Result<()> {
    let id = b.column(0).as_primitive::<Int64Type>();
    let f: Vec<_> = (1..7)
        .map(|i| b.column(i).as_primitive::<Float64Type>())
        .collect();
    let n0 = b.column(7).as_primitive::<Int64Type>();
    let n1 = b.column(8).as_primitive::<Int64Type>();
    let s0 = b.column(9).as_string::<i32>();
    let b0 = b.column(10).as_boolean();
    for r in 0..b.num_rows() {
        writeln!(
            w,
            "{},{},{},{},{},{},{},{},{},{},{}",
            id.value(r),
            f[0].value(r),
            f[1].value(r),
            f[2].value(r),
            f[3].value(r),
            f[4].value(r),
            f[5].value(r),
            n0.value(r),
            n1.value(r),
            s0.value(r),
            b0.value(r) as u8
        )?;
    }
    Ok(())
}

/// `rows` rows in batches of `batch` rows; `salt` changes every value (for "changed rows" runs).
pub fn batches(rows: usize, batch: usize, salt: u64) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < rows {
        let n = batch.min(rows - start);
        let ids: Vec<i64> = (start..start + n).map(|i| i as i64).collect();
        out.push(rows_for(&ids, salt));
        start += n;
    }
    out
}

/// The rows of `ids` (the same values [`batches`] gives them for `salt`).
pub fn rows_for(ids: &[i64], salt: u64) -> RecordBatch {
    let mut cols: Vec<arrow::array::ArrayRef> = vec![Arc::new(Int64Array::from(ids.to_vec()))];
    for f in 0..6u64 {
        cols.push(Arc::new(Float64Array::from_iter_values(ids.iter().map(
            |&i| ((i as u64 * 31 + f * 7 + salt) % 10_007) as f64 / 7.0,
        ))));
    }
    for f in 0..2u64 {
        cols.push(Arc::new(Int64Array::from_iter_values(
            ids.iter().map(|&i| (i as u64 * 17 + f + salt) as i64),
        )));
    }
    cols.push(Arc::new(StringArray::from_iter_values(
        ids.iter()
            .map(|&i| format!("category-{}", (i as u64 + salt) % 1000)),
    )));
    cols.push(Arc::new(BooleanArray::from_iter(
        ids.iter()
            .map(|&i| Some((i as u64 + salt).is_multiple_of(2))),
    )));
    RecordBatch::try_new(schema(), cols).expect("columns match schema")
}

/// Runs `f` and returns its result and duration.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

/// Prints one result line: name, seconds, rows/s.
pub fn report(name: &str, rows: usize, d: Duration) -> f64 {
    let rate = rows as f64 / d.as_secs_f64();
    println!("{name:<44} {:>8.2}s {:>12.0} rows/s", d.as_secs_f64(), rate);
    rate
}

/// The row count from the first argument (default 1,000,000), with a clear error otherwise.
pub fn rows_arg() -> anyhow::Result<usize> {
    match std::env::args().nth(1) {
        None => Ok(1_000_000),
        Some(a) => a
            .parse()
            .map_err(|_| anyhow::anyhow!("the argument is a row count, e.g. 1000000; got `{a}`")),
    }
}
