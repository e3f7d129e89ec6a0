//! `fstore training-set`: join a spine with feature lookups, point-in-time correct, into a file.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use fstore_core::TableName;
use fstore_offline::TimeTravel;
use fstore_training::{FeatureLookup, OutputFormat, Spine, TrainingOptions};

use crate::context::Context;
use crate::progress::CliProgress;

pub const AFTER_HELP: &str = "\
Lookup syntax (one --lookup per feature table use):
  <schema>.<table>[:lookup_key=COL[,COL...]][:timestamp_lookup_key=COL][:features=F[,F...]]
                  [:rename=F->OUT[,F->OUT...]][:lookback=DURATION]
  lookup_key             spine columns matched BY POSITION to the table's primary keys
                         (default: the spine columns named like the primary keys)
  timestamp_lookup_key   spine event-time column; required for time-series tables (as-of join:
                         latest feature row with feature_ts <= spine_ts), refused otherwise
  features               features to join (default: every non-key column)
  rename                 output names for features
  lookback               as-of joins ignore rows older than this: 7d, 12h, 30m, 45s, 250ms, 1us, 1d12h

Output columns: spine columns, then features in lookup order, then labels. A feature whose output
name is already a spine column is not joined (the spine's value wins).

Examples:
  fstore training-set --spine labels.parquet \\
      --lookup 'default.users:lookup_key=user_id:features=age,country:rename=age->user_age' \\
      --lookup 'default.trips:lookup_key=driver:timestamp_lookup_key=event_ts:lookback=7d' \\
      --label churned --out train.parquet
  fstore training-set --spine default.labels --lookup default.users:lookup_key=user_id \\
      --label churned --exclude user_id --as-of-version default.users=3 --out train.csv";

#[derive(clap::Args)]
pub struct Args {
    /// The spine: a .parquet, .csv or .jsonl file, or a feature table `<schema>.<table>`.
    #[arg(long, value_name = "FILE|TABLE")]
    pub spine: String,

    /// A feature lookup (repeatable); see the syntax below.
    #[arg(long = "lookup", value_name = "SPEC")]
    pub lookups: Vec<String>,

    /// Label column of the spine (repeatable, or comma-separated); placed last.
    #[arg(long, value_delimiter = ',', value_name = "COLUMN")]
    pub label: Vec<String>,

    /// Leave this column out of the output (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "COLUMN")]
    pub exclude: Vec<String>,

    /// Read tables at this Delta version: `N` for every table, or `<schema>.<table>=N` for one
    /// (repeatable). Unnamed tables are read at their latest version.
    #[arg(long = "as-of-version", value_name = "[TABLE=]VERSION")]
    pub as_of_version: Vec<String>,

    /// Output file: .parquet, .csv or .jsonl.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// Spine rows joined per batch.
    #[arg(long, default_value_t = fstore_training::DEFAULT_BATCH_SIZE, value_name = "ROWS")]
    pub batch_size: usize,

    /// Memory the feature tables' indexes may take (e.g. 256MiB, 2GiB); past it, tables are
    /// spilled to disk by key partition and joined one partition at a time (same output).
    #[arg(long, default_value = "256MiB", value_name = "SIZE")]
    pub memory_limit: String,

    /// Directory for spill files (a fresh subdirectory, removed at the end); default: TMPDIR.
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
}

pub async fn run(a: Args, ctx: &Context) -> anyhow::Result<()> {
    if a.lookups.is_empty() {
        bail!("give at least one --lookup, e.g. --lookup 'default.users:lookup_key=user_id'");
    }
    if a.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    OutputFormat::from_path(&a.out)?;
    let memory_limit = fstore_training::parse_size(&a.memory_limit)
        .map_err(|e| anyhow::anyhow!("--memory-limit {e}"))?;
    let lookups = a
        .lookups
        .iter()
        .map(|s| s.parse::<FeatureLookup>())
        .collect::<Result<Vec<_>, _>>()?;
    let spine = Spine::parse(&a.spine)?;
    let mut opts = TrainingOptions {
        label: a.label,
        exclude: a.exclude,
        batch_size: a.batch_size,
        memory_limit,
        spill_dir: a.spill_dir,
        ..Default::default()
    };
    for v in &a.as_of_version {
        match v.split_once('=') {
            Some((table, n)) => {
                let name = TableName::parse(table.trim())
                    .with_context(|| format!("--as-of-version `{v}`"))?;
                opts.table_versions
                    .insert(name, TimeTravel::Version(parse_version(v, n)?));
            }
            None => {
                if opts.as_of != TimeTravel::Latest {
                    bail!("--as-of-version without a table name is given twice");
                }
                opts.as_of = TimeTravel::Version(parse_version(v, v)?);
            }
        }
    }
    let progress = Arc::new(CliProgress::new(ctx.interactive, ctx.quiet));
    opts.progress = progress.clone();

    let offline = ctx.offline()?;
    let result = async {
        let set = fstore_training::training_set(&offline, spine, lookups, opts).await?;
        let tables = set.tables_read().to_vec();
        let summary = set.write(&a.out).await?;
        anyhow::Ok((tables, summary))
    }
    .await;
    progress.finish();
    let (tables, summary) = result?;
    for t in &tables {
        ctx.say(format!("read {} at version {}", t.name, t.version));
    }
    ctx.say(format!(
        "wrote {} rows to {}",
        summary.rows,
        summary.path.display()
    ));
    Ok(())
}

fn parse_version(arg: &str, n: &str) -> anyhow::Result<i64> {
    n.trim()
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .with_context(|| {
            format!("--as-of-version `{arg}`: expected a version number N or <schema>.<table>=N")
        })
}
