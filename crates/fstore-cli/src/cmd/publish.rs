//! `fstore publish`: offline feature table → online store.

use fstore_core::TableName;
use fstore_online::WriteMode;
use fstore_publish::stores::{Identity, open_store};
use fstore_publish::{PublishOptions, PublishReport, publish};

use crate::cmd::tables::ModeArg;
use crate::context::Context;
use crate::progress::CliProgress;

#[derive(clap::Args)]
pub struct Args {
    /// Feature table to publish, `<schema>.<table>`.
    pub name: TableName,
    /// Online store name from fstore.toml (default: the only configured store).
    #[arg(long)]
    pub store: Option<String>,
    /// merge: upsert by key, leave other rows; overwrite: replace the online table atomically.
    #[arg(long, value_enum, default_value = "merge")]
    pub mode: ModeArg,
    /// Publish only rows matching this SQL predicate, e.g. "Pclass = 1".
    #[arg(long, value_name = "PREDICATE")]
    pub filter: Option<String>,
    /// Publish only these features (comma-separated; keys are always included). Merge only.
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    pub features: Option<Vec<String>>,
    /// Online table name (default: the feature table's name without the schema).
    #[arg(long, value_name = "NAME")]
    pub online_table: Option<String>,
}

pub async fn run(a: Args, ctx: &Context) -> anyhow::Result<()> {
    let offline = ctx.offline()?;
    let (store_name, store) = open_store(&ctx.config, a.store.as_deref(), Identity::Writer).await?;
    let opts = PublishOptions {
        mode: match a.mode {
            ModeArg::Merge => WriteMode::Merge,
            ModeArg::Overwrite => WriteMode::Overwrite,
        },
        online_table: a.online_table,
        filter: a.filter,
        features: a.features,
    };
    let progress = CliProgress::new(ctx.interactive, ctx.quiet);
    let result = publish(&offline, &store, &a.name, &opts, &progress).await;
    progress.finish();
    let report = result?;
    print_report(ctx, &store_name, &report);
    Ok(())
}

/// The closing summary of a publish.
pub fn print_report(ctx: &Context, store: &str, r: &PublishReport) {
    let w = &r.write;
    let secs = r.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        r.rows_read as f64 / secs
    } else {
        0.0
    };
    ctx.say(format!(
        "published {} (Delta version {}) to {store}:{} in {} mode\n  rows: {} read, {} inserted, {} updated, {} skipped (online newer), {} deleted\n  {:.1} MB in {:.2}s ({:.0} rows/s)",
        r.feature_table,
        r.delta_version,
        r.online_table,
        r.mode.as_str(),
        r.rows_read,
        w.inserted,
        w.updated,
        w.skipped_older,
        w.deleted,
        w.bytes as f64 / 1e6,
        secs,
        rate,
    ));
}
