//! `fstore online …`: what is published in an online store.

use fstore_online::Backend;
use fstore_publish::stores::{Identity, open_store};

use crate::context::Context;

#[derive(clap::Subcommand)]
pub enum OnlineCommand {
    /// List the tables published in an online store, with their Delta versions.
    #[command(after_help = "Example:\n  fstore online list --store local")]
    List {
        /// Online store name (default: the only configured store).
        #[arg(long)]
        store: Option<String>,
    },
    /// Drop a published online table (the offline feature table is left alone).
    #[command(after_help = "Example:\n  fstore online drop online_feature_table --store local --yes")]
    Drop {
        /// Online table name.
        table: String,
        #[arg(long)]
        store: Option<String>,
        /// Really drop it.
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(cmd: OnlineCommand, ctx: &Context) -> anyhow::Result<()> {
    match cmd {
        OnlineCommand::List { store } => {
            let (_, s) = open_store(&ctx.config, store.as_deref(), Identity::Reader).await?;
            for t in s.list().await? {
                println!(
                    "{:<32} from {:<40} version {:<6} ({}, {} columns)",
                    t.layout.table,
                    t.feature_table,
                    t.delta_version,
                    t.mode,
                    t.layout.columns.len()
                );
            }
        }
        OnlineCommand::Drop { table, store, yes } => {
            if !yes {
                anyhow::bail!("dropping online table `{table}` removes it for every reader; pass --yes to confirm");
            }
            let (name, s) = open_store(&ctx.config, store.as_deref(), Identity::Writer).await?;
            s.drop_table(&table).await?;
            ctx.say(format!("dropped online table {table} from {name}"));
        }
    }
    Ok(())
}
