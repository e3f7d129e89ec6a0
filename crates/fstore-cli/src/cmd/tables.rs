//! `fstore tables …`: offline feature tables on Delta Lake.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use fstore_core::{FeatureType, TableName, TableSpec};
use fstore_offline::{TimeTravel, WriteMode};

use crate::context::Context;
use crate::output::{Format, write_stream};

#[derive(clap::Subcommand)]
pub enum TablesCommand {
    /// Create a feature table from a file (Parquet, CSV, JSON lines) or an explicit schema.
    #[command(
        after_help = "Examples:\n  fstore tables create default.online_feature_table --primary-key PassengerId --from features.parquet\n  fstore tables create default.trips --primary-key driver_id --timestamp-key ts --from trips.csv\n  fstore tables create default.users --primary-key user_id --schema 'user_id:bigint,age:int,country:string'"
    )]
    Create(CreateArgs),

    /// Write rows into a feature table: merge (upsert by key) or overwrite.
    #[command(
        after_help = "Examples:\n  fstore tables write default.online_feature_table --from changes.parquet --mode merge\n  fstore tables write default.online_feature_table --from all.csv --mode overwrite"
    )]
    Write(WriteArgs),

    /// Read a feature table, optionally as of an earlier version or time.
    #[command(
        after_help = "Examples:\n  fstore tables read default.online_feature_table --limit 10\n  fstore tables read default.online_feature_table --version 0 --format csv\n  fstore tables read default.online_feature_table --as-of 2026-01-01T00:00:00Z --format parquet --out old.parquet"
    )]
    Read(ReadArgs),

    /// Show a feature table's keys, columns, version and metadata.
    #[command(after_help = "Example:\n  fstore tables describe default.online_feature_table")]
    Describe(NameArg),

    /// List the feature tables under the offline root.
    #[command(after_help = "Example:\n  fstore tables list")]
    List,

    /// Show a feature table's Delta history, one line per version saying what changed
    /// (`MERGE  10 inserted, 90 updated, from 100 rows`, `WRITE (overwrite)  1000 rows`,
    /// `DELETE  3 rows`); `--raw` prints the operation parameters and metrics instead.
    #[command(
        after_help = "Examples:\n  fstore tables history default.online_feature_table --limit 5\n  fstore tables history default.online_feature_table --raw"
    )]
    History(HistoryArgs),

    /// Delete a feature table from the offline store (online copies are left alone).
    #[command(after_help = "Example:\n  fstore tables drop default.online_feature_table --yes")]
    Drop(DropArgs),

    /// Adopt an existing Delta table (written by Spark, Databricks, …) as a feature table.
    #[command(
        after_help = "Examples:\n  fstore tables register default.rides --primary-key ride_id\n  fstore tables register default.rides --primary-key ride_id --timestamp-key ts --path /data/delta/rides"
    )]
    Register(RegisterArgs),
}

#[derive(clap::Args)]
pub struct NameArg {
    /// Feature table name, `<schema>.<table>`.
    pub name: TableName,
}

#[derive(clap::Args)]
pub struct CreateArgs {
    /// Feature table name, `<schema>.<table>`.
    pub name: TableName,
    /// Primary key column (repeat for a composite key).
    #[arg(
        long = "primary-key",
        short = 'k',
        required = true,
        value_name = "COLUMN"
    )]
    pub primary_keys: Vec<String>,
    /// Event-time column: makes this a time-series table (one row per key and time).
    #[arg(long, value_name = "COLUMN")]
    pub timestamp_key: Option<String>,
    /// Initial rows: a .parquet, .csv or .jsonl file.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "schema",
        required_unless_present = "schema"
    )]
    pub from: Option<PathBuf>,
    /// Explicit schema instead of a file: `name:type,...` or Spark DDL `name TYPE, ...`, with types
    /// smallint, int, bigint, float, double, decimal(p,s), boolean, string, binary, date, timestamp.
    #[arg(long, value_name = "COLUMNS")]
    pub schema: Option<String>,
    /// Partition the Delta table by these columns.
    #[arg(long = "partition-by", value_name = "COLUMN")]
    pub partition_by: Vec<String>,
    /// Description kept in the Delta table's metadata.
    #[arg(long)]
    pub description: Option<String>,
    /// Tag `key=value` (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// Do not record Delta's change data feed (`delta.enableChangeDataFeed`, on by default).
    /// Without it an incremental publish reads every data file a change rewrote, not just the
    /// changed rows; writes are a little cheaper.
    #[arg(long)]
    pub no_change_data_feed: bool,
}

#[derive(clap::Args)]
pub struct WriteArgs {
    /// Feature table name, `<schema>.<table>`.
    pub name: TableName,
    /// Rows to write: a .parquet, .csv or .jsonl file.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// merge: upsert by key, updating only the columns in the file; overwrite: replace all rows.
    #[arg(long, value_enum, default_value = "merge")]
    pub mode: ModeArg,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ModeArg {
    Merge,
    Overwrite,
}

#[derive(clap::Args)]
pub struct ReadArgs {
    /// Feature table name, `<schema>.<table>`.
    pub name: TableName,
    /// Read this Delta version.
    #[arg(long, conflicts_with = "as_of")]
    pub version: Option<i64>,
    /// Read the version current at this time (RFC 3339, e.g. 2026-01-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Keep rows matching this SQL predicate, e.g. "Age > 30 AND Sex = 'female'".
    #[arg(long, value_name = "PREDICATE")]
    pub filter: Option<String>,
    /// Only these columns (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    pub columns: Option<Vec<String>>,
    /// At most this many rows.
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct HistoryArgs {
    /// Feature table name, `<schema>.<table>`.
    pub name: TableName,
    /// Show at most this many versions (newest first).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Print each version's raw Delta operation parameters and metrics.
    #[arg(long)]
    pub raw: bool,
}

#[derive(clap::Args)]
pub struct DropArgs {
    /// Feature table name, `<schema>.<table>`.
    pub name: TableName,
    /// Really delete the table and its files.
    #[arg(long)]
    pub yes: bool,
}

#[derive(clap::Args)]
pub struct RegisterArgs {
    /// Feature table name to register it under, `<schema>.<table>`.
    pub name: TableName,
    /// Primary key column (repeat for a composite key).
    #[arg(
        long = "primary-key",
        short = 'k',
        required = true,
        value_name = "COLUMN"
    )]
    pub primary_keys: Vec<String>,
    /// Event-time column for time-series tables.
    #[arg(long, value_name = "COLUMN")]
    pub timestamp_key: Option<String>,
    /// Where the Delta table is, if not at `<root>/<schema>/<table>`.
    #[arg(long, value_name = "PATH|URL")]
    pub path: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    /// Tag `key=value` (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
}

pub async fn run(cmd: TablesCommand, ctx: &Context) -> anyhow::Result<()> {
    let offline = ctx.offline()?;
    match cmd {
        TablesCommand::Create(a) => {
            let mut spec = TableSpec::new(a.primary_keys, a.timestamp_key)?;
            spec.description = a.description;
            spec.tags = parse_tags(&a.tags)?;
            let offline = offline.with_change_data_feed(!a.no_change_data_feed);
            // A file streams into the table: it is never held in memory whole.
            let t = match (&a.from, &a.schema) {
                (Some(path), _) => {
                    let file = fstore_offline::input::InputFile::open(path)?;
                    offline
                        .create_from_file(&a.name, spec, &file, a.partition_by)
                        .await?
                }
                (None, Some(s)) => {
                    let schema = Arc::new(fstore_core::parse_schema(s)?);
                    offline
                        .create(&a.name, spec, schema, Vec::new(), a.partition_by)
                        .await?
                }
                (None, None) => bail!("give --from FILE or --schema COLUMNS"),
            };
            let rows = t.row_count()?.unwrap_or(0);
            ctx.say(format!(
                "created {} at {} (version {}, {rows} rows)",
                a.name, t.location, t.version
            ));
        }
        TablesCommand::Write(a) => {
            let file = fstore_offline::input::InputFile::open(&a.from)?;
            let mode = match a.mode {
                ModeArg::Merge => WriteMode::Merge,
                ModeArg::Overwrite => WriteMode::Overwrite,
            };
            let out = offline.write_file(&a.name, &file, mode).await?;
            ctx.say(format!(
                "wrote {} rows to {} ({}), now at version {}",
                out.rows,
                a.name,
                match a.mode {
                    ModeArg::Merge => "merge",
                    ModeArg::Overwrite => "overwrite",
                },
                out.version
            ));
        }
        TablesCommand::Read(a) => {
            let at = match (a.version, &a.as_of) {
                (Some(v), _) => TimeTravel::Version(v),
                (None, Some(t)) => TimeTravel::Timestamp(
                    chrono::DateTime::parse_from_rfc3339(t)
                        .with_context(|| {
                            format!(
                                "--as-of `{t}` is not an RFC 3339 time such as 2026-01-01T00:00:00Z"
                            )
                        })?
                        .with_timezone(&chrono::Utc),
                ),
                (None, None) => TimeTravel::Latest,
            };
            let t = offline.open_at(&a.name, at).await?;
            // The limit goes into the scan and the rows stream to the output.
            let read = t
                .scan_stream(a.columns.as_deref(), a.filter.as_deref(), a.limit)
                .await?;
            write_stream(read.schema, read.batches, a.format, a.out.as_deref()).await?;
        }
        TablesCommand::Describe(a) => {
            let t = offline.open(&a.name).await?;
            println!("table:         {}", t.name);
            println!("location:      {}", t.location);
            println!("version:       {}", t.version);
            println!("primary keys:  {}", t.spec.primary_keys.join(", "));
            println!(
                "timestamp key: {}",
                t.spec.timestamp_key.as_deref().unwrap_or("(none)")
            );
            println!(
                "change feed:   {}",
                if t.change_data_feed() { "on" } else { "off" }
            );
            if let Some(d) = &t.spec.description {
                println!("description:   {d}");
            }
            for (k, v) in &t.spec.tags {
                println!("tag:           {k}={v}");
            }
            println!("columns:");
            for f in t.schema.fields() {
                let ft = FeatureType::from_arrow(f.name(), f.data_type())
                    .map(|t| t.name())
                    .unwrap_or_else(|_| "unsupported".into());
                let role = if t.spec.primary_keys.contains(f.name()) {
                    " (primary key)"
                } else if t.spec.timestamp_key.as_deref() == Some(f.name()) {
                    " (timestamp key)"
                } else {
                    ""
                };
                println!("  {:<24} {ft}{role}", f.name());
            }
        }
        TablesCommand::List => {
            for name in offline.list().await? {
                println!("{name}");
            }
        }
        TablesCommand::History(a) => {
            for h in offline.history(&a.name, a.limit).await? {
                if a.raw {
                    println!("{h}");
                } else {
                    println!("{}", h.summary_line());
                }
            }
        }
        TablesCommand::Drop(a) => {
            if !a.yes {
                bail!(
                    "dropping {} deletes its Delta files; pass --yes to confirm (online copies are not touched)",
                    a.name
                );
            }
            offline.drop(&a.name).await?;
            ctx.say(format!("dropped {}", a.name));
        }
        TablesCommand::Register(a) => {
            let mut spec = TableSpec::new(a.primary_keys, a.timestamp_key)?;
            spec.description = a.description;
            spec.tags = parse_tags(&a.tags)?;
            let t = offline.register(&a.name, a.path.as_deref(), spec).await?;
            ctx.say(format!(
                "registered {} at {} (version {})",
                a.name, t.location, t.version
            ));
        }
    }
    Ok(())
}

fn parse_tags(tags: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    tags.iter()
        .map(|t| {
            t.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| anyhow::anyhow!("tag `{t}` is not KEY=VALUE"))
        })
        .collect()
}
