//! `fstore quickstart`: the walk-through on the embedded default, with sample data it makes
//! itself — Titanic-style passenger features, the table of the original walk-through.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use arrow::array::{Float64Array, Int32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use fstore_core::{TableName, TableSpec, Value};
use fstore_offline::WriteMode as OfflineMode;
use fstore_online::{OnlineReader, WriteMode};
use fstore_publish::stores::{open_reader, open_writer};
use fstore_publish::{PublishOptions, publish};

use crate::context::Context;
use crate::progress::CliProgress;

#[derive(clap::Args)]
pub struct Args {
    /// Number of sample passengers.
    #[arg(long, default_value_t = 891, value_parser = clap::value_parser!(u32).range(10..=10_000_000))]
    pub rows: u32,
    /// Online store to publish to (default: the only configured store; `local` without config).
    #[arg(long)]
    pub store: Option<String>,
}

const TABLE: &str = "default.online_feature_table";

pub async fn run(a: Args, ctx: &Context) -> anyhow::Result<()> {
    let name = TableName::parse(TABLE)?;
    let offline = ctx.offline()?;
    let (store_name, store_cfg) = ctx.config.store(a.store.as_deref())?;
    println!("fstore quickstart");
    println!("  offline store (Delta Lake): {}", ctx.config.offline.root);
    println!(
        "  online store `{store_name}`: {}",
        describe_store(store_cfg)
    );

    // 1. Sample data, also saved as Parquet so the README's commands can be tried by hand.
    let features = sample_features(a.rows as usize, 0);
    let changes = sample_changes(&features)?;
    let samples = sample_dir(ctx);
    std::fs::create_dir_all(&samples)
        .with_context(|| format!("cannot create {}", samples.display()))?;
    write_parquet(&samples.join("features.parquet"), &features)?;
    write_parquet(&samples.join("changes.parquet"), &changes)?;
    println!(
        "1. generated {} passengers → {}",
        a.rows,
        samples.join("features.parquet").display()
    );

    // 2. The offline feature table (re-running replaces the sample rows).
    let exists = offline.open(&name).await.is_ok();
    let version = if exists {
        offline
            .write(&name, vec![features.clone()], OfflineMode::Overwrite)
            .await?
            .version
    } else {
        let mut spec = TableSpec::new(vec!["PassengerId".into()], None)?;
        spec.description = Some("Titanic passenger features (fstore quickstart sample)".into());
        spec.tags.insert("source".into(), "quickstart".into());
        offline
            .create(
                &name,
                spec,
                features.schema(),
                vec![features.clone()],
                vec![],
            )
            .await?
            .version
    };
    println!(
        "2. {} feature table {TABLE} (primary key PassengerId), Delta version {version}",
        if exists { "overwrote" } else { "created" }
    );

    // 3. A merge: some passengers' features change.
    let out = offline
        .write(&name, vec![changes.clone()], OfflineMode::Merge)
        .await?;
    println!(
        "3. merged {} changed rows, Delta version {}",
        changes.num_rows(),
        out.version
    );

    // 4. Publish.
    let (_, store) = open_writer(&ctx.config, Some(&store_name)).await?;
    let progress = CliProgress::new(ctx.interactive, true);
    let report = publish(
        &offline,
        &store,
        &name,
        &PublishOptions {
            mode: WriteMode::Merge,
            ..Default::default()
        },
        &progress,
    )
    .await?;
    progress.finish();
    println!(
        "4. published {TABLE} → {store_name}:{} (merge): {} rows, {} inserted, {} updated, Delta version {} online, {:.2}s",
        report.online_table,
        report.rows_read,
        report.write.inserted,
        report.write.updated,
        report.delta_version,
        report.elapsed.as_secs_f64()
    );

    // 5. Look features up by key, with the read identity.
    let (_, reader) = open_reader(&ctx.config, Some(&store_name)).await?;
    let keys = vec![
        vec![Value::Int(1)],
        vec![Value::Int(2)],
        vec![Value::Int(1_000_000_000)],
    ];
    let result = reader.lookup(&report.online_table, &keys, None).await?;
    println!("5. looked up PassengerId 1, 2 and 1000000000:");
    for (key, row) in keys.iter().zip(&result.rows) {
        match row {
            Some(vals) => {
                let parts: Vec<String> = result
                    .columns
                    .iter()
                    .zip(vals)
                    .map(|((n, _), v)| format!("{n}={}", v.render()))
                    .collect();
                println!("   PassengerId={}: {}", key[0].render(), parts.join(" "));
            }
            None => println!("   PassengerId={}: not found (null)", key[0].render()),
        }
    }
    let cfg_flag = match &ctx.config.source {
        Some(p) => format!(" --config {}", p.display()),
        None => String::new(),
    };
    println!(
        "\nNext, try (with `cargo run --bin fstore --` in place of `fstore` until you `cargo install --path crates/fstore-cli`):\n  fstore{cfg_flag} tables describe {TABLE}\n  fstore{cfg_flag} tables history {TABLE}\n  fstore{cfg_flag} tables read {TABLE} --version 0 --limit 5\n  fstore{cfg_flag} lookup {TABLE} --key PassengerId=3 --format json\n  fstore{cfg_flag} publish {TABLE} --store {store_name} --mode overwrite"
    );
    if let fstore_core::config::StoreConfig::Sqlite(s) = store_cfg {
        println!(
            "  sqlite3 {} 'SELECT * FROM {} LIMIT 5'",
            s.path.display(),
            report.online_table
        );
    }
    Ok(())
}

fn describe_store(cfg: &fstore_core::config::StoreConfig) -> String {
    match cfg {
        fstore_core::config::StoreConfig::Sqlite(s) => format!("SQLite {}", s.path.display()),
        fstore_core::config::StoreConfig::Mysql(m) => {
            format!("MySQL {}:{}/{}", m.host, m.port, m.database)
        }
        fstore_core::config::StoreConfig::Postgres(p) => {
            format!(
                "PostgreSQL {}:{}/{}.{}",
                p.host, p.port, p.database, p.schema
            )
        }
    }
}

fn sample_dir(ctx: &Context) -> PathBuf {
    let root = PathBuf::from(&ctx.config.offline.root);
    match root.parent() {
        Some(p) if !ctx.config.offline.root.contains("://") => p.join("samples"),
        _ => PathBuf::from(fstore_core::config::DEFAULT_DATA_DIR).join("samples"),
    }
}

fn write_parquet(path: &std::path::Path, batch: &RecordBatch) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None)?;
    w.write(batch)?;
    w.close()?;
    Ok(())
}

/// A small deterministic generator (SplitMix64), so every quickstart shows the same passengers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The walk-through's feature table: `PassengerId` plus demographic and ticket features.
pub fn sample_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("PassengerId", DataType::Int64, false),
        Field::new("Age", DataType::Float64, true),
        Field::new("NameMultiple", DataType::Int32, true),
        Field::new("NamePrefix", DataType::Utf8, true),
        Field::new("Sex", DataType::Utf8, true),
        Field::new("SibSp", DataType::Int32, true),
        Field::new("CabinChar", DataType::Utf8, true),
        Field::new("CabinMulti", DataType::Int32, true),
        Field::new("Embarked", DataType::Utf8, true),
        Field::new("FareRounded", DataType::Float64, true),
        Field::new("Parch", DataType::Int32, true),
        Field::new("Pclass", DataType::Int32, true),
    ]))
}

/// `rows` sample passengers with ids starting at 1.
pub fn sample_features(rows: usize, seed: u64) -> RecordBatch {
    let mut rng = Rng(seed ^ 0x005E_EDF5_704E);
    let mut ids = Vec::with_capacity(rows);
    let mut ages = Vec::with_capacity(rows);
    let mut name_multiple = Vec::with_capacity(rows);
    let mut prefixes = Vec::with_capacity(rows);
    let mut sexes = Vec::with_capacity(rows);
    let mut sibsp = Vec::with_capacity(rows);
    let mut cabin = Vec::with_capacity(rows);
    let mut cabin_multi = Vec::with_capacity(rows);
    let mut embarked = Vec::with_capacity(rows);
    let mut fare = Vec::with_capacity(rows);
    let mut parch = Vec::with_capacity(rows);
    let mut pclass = Vec::with_capacity(rows);
    for i in 0..rows {
        let female = rng.below(100) < 35;
        let age = (rng.below(5) != 0).then(|| (rng.unit() * 70.0 + 1.0).round());
        let class = [1, 2, 3, 3, 3][rng.below(5) as usize];
        ids.push(i as i64 + 1);
        ages.push(age);
        name_multiple.push((rng.below(10) == 0) as i32);
        let prefix = match (female, age) {
            (false, Some(a)) if a < 14.0 => "Master",
            (false, _) => ["Mr", "Mr", "Mr", "Dr", "Rev"][rng.below(5) as usize],
            (true, Some(a)) if a < 25.0 => "Miss",
            (true, _) => ["Mrs", "Mrs", "Miss"][rng.below(3) as usize],
        };
        prefixes.push(prefix.to_string());
        sexes.push(if female { "female" } else { "male" }.to_string());
        sibsp.push(rng.below(4) as i32 * (rng.below(3) == 0) as i32);
        cabin.push(
            (class == 1 || rng.below(6) == 0)
                .then(|| ["A", "B", "C", "D", "E", "F"][rng.below(6) as usize].to_string()),
        );
        cabin_multi.push((rng.below(20) == 0) as i32);
        embarked.push(["S", "S", "S", "C", "Q"][rng.below(5) as usize].to_string());
        let base = match class {
            1 => 60.0,
            2 => 20.0,
            _ => 8.0,
        };
        fare.push((base * (0.5 + rng.unit() * 1.5)).round());
        parch.push(rng.below(3) as i32 * (rng.below(4) == 0) as i32);
        pclass.push(class);
    }
    RecordBatch::try_new(
        sample_schema(),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(Float64Array::from(ages)),
            Arc::new(Int32Array::from(name_multiple)),
            Arc::new(StringArray::from(prefixes)),
            Arc::new(StringArray::from(sexes)),
            Arc::new(Int32Array::from(sibsp)),
            Arc::new(StringArray::from(cabin)),
            Arc::new(Int32Array::from(cabin_multi)),
            Arc::new(StringArray::from(embarked)),
            Arc::new(Float64Array::from(fare)),
            Arc::new(Int32Array::from(parch)),
            Arc::new(Int32Array::from(pclass)),
        ],
    )
    .expect("sample columns match the sample schema")
}

/// Changes for the merge step: every 10th passenger has a new fare and age, and ten new
/// passengers arrive. Only the changed columns are present, so merge leaves the rest alone.
fn sample_changes(features: &RecordBatch) -> anyhow::Result<RecordBatch> {
    let n = features.num_rows() as i64;
    let ids: Vec<i64> = (1..=n).step_by(10).chain(n + 1..=n + 10).collect();
    let ages: Vec<Option<f64>> = ids.iter().map(|i| Some(20.0 + (i % 40) as f64)).collect();
    let fares: Vec<Option<f64>> = ids.iter().map(|i| Some(10.0 + (i % 90) as f64)).collect();
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("PassengerId", DataType::Int64, false),
            Field::new("Age", DataType::Float64, true),
            Field::new("FareRounded", DataType::Float64, true),
        ])),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(Float64Array::from(ages)),
            Arc::new(Float64Array::from(fares)),
        ],
    )?)
}
