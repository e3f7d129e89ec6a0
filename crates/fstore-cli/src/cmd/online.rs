//! `fstore online …`: what is published in an online store.

use fstore_online::{OnlineReader, OnlineWriter};
use fstore_publish::stores::{open_reader, open_writer};

use crate::context::Context;

#[derive(clap::Subcommand)]
pub enum OnlineCommand {
    /// Provision a MySQL/Aurora or PostgreSQL store: create its database (and, on PostgreSQL,
    /// its schema), a `writer` that owns the feature tables and a read-only `reader` with random
    /// passwords, and keep their credentials in the store's secret scopes. The administrator's
    /// password is read from a hidden prompt or stdin (empty: none, for PostgreSQL `trust`
    /// authentication on a development machine). On PostgreSQL the administrator needs
    /// CREATEROLE and CREATEDB (an RDS/Aurora master user will do), not superuser.
    #[command(
        after_help = "Examples:\n  fstore online init --store aurora --admin-user admin\n  terraform -chdir=deploy/terraform/aurora output -raw master_password | fstore online init --store aurora --admin-user admin\n  fstore online init --store aurora --admin-user admin --rotate\n  fstore online init --store pg --admin-user postgres </dev/null   # local PostgreSQL, trust auth\n  fstore online init --store pg --admin-user postgres --writer-user fstore_writer --reader-user fstore_reader"
    )]
    Init(InitArgs),
    /// List the tables published in an online store, with their Delta versions.
    #[command(after_help = "Example:\n  fstore online list --store local")]
    List {
        /// Online store name (default: the only configured store).
        #[arg(long)]
        store: Option<String>,
    },
    /// Show the publish history of an online table, newest first: one row per publish (each
    /// `publish --watch` cycle too) with its Delta versions, method and why, row counts, bytes,
    /// duration and outcome; failed publishes included.
    #[command(
        after_help = "Examples:\n  fstore online history online_feature_table --store local\n  fstore online history online_feature_table --store aurora --limit 5 --format json"
    )]
    History(crate::cmd::online_history::HistoryArgs),
    /// Show, per online table, the published Delta version, the feature table's latest version,
    /// the lag in versions and in time (between the two versions' commit times), and the last
    /// publish (when, method or error, seconds). Reads only the Delta log and the bookkeeping.
    #[command(
        after_help = "Examples:\n  fstore online status --store local\n  fstore online status --store aurora --format json"
    )]
    Status(crate::cmd::online_status::StatusArgs),
    /// Check that an online table still holds what its bookkeeping row says: compares it, key by
    /// key and column by column, with the published view (filter, columns, latest row per key)
    /// of the Delta version it records, and reports keys missing online, extra online, or with
    /// different values, with examples. Both sides stream in key order (bounded memory). Exit
    /// status 1 when anything differs, 0 when identical. Reader identity suffices.
    #[command(
        after_help = "Examples:\n  fstore online verify online_feature_table --store local\n  fstore online verify user_features --store aurora --examples 50\n  fstore online verify user_features --store aurora --json | jq .missing"
    )]
    Verify(crate::cmd::online_verify::VerifyArgs),
    /// Drop a published online table (the offline feature table is left alone).
    #[command(
        after_help = "Example:\n  fstore online drop online_feature_table --store local --yes"
    )]
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

#[derive(clap::Args)]
pub struct InitArgs {
    /// Store to provision (a `kind = "mysql"` or `kind = "postgres"` store with read and write
    /// secret prefixes).
    #[arg(long)]
    pub store: Option<String>,
    /// Administrator user (Terraform's or RDS's master user; `postgres` locally).
    #[arg(long, value_name = "USER")]
    pub admin_user: String,
    /// Name of the user (PostgreSQL: role) that publishes.
    #[arg(long, default_value = "writer", value_name = "USER")]
    pub writer_user: String,
    /// Name of the read-only user (PostgreSQL: role) that serves.
    #[arg(long, default_value = "reader", value_name = "USER")]
    pub reader_user: String,
    /// MySQL only: hosts the users may connect from (`%` = anywhere, the default, as in the
    /// walk-through). PostgreSQL decides that in pg_hba.conf.
    #[arg(long, value_name = "PATTERN")]
    pub user_host: Option<String>,
    /// Give both users new passwords and update the secret scopes.
    #[arg(long)]
    pub rotate: bool,
}

pub async fn run(cmd: OnlineCommand, ctx: &Context) -> anyhow::Result<()> {
    match cmd {
        OnlineCommand::Init(a) => {
            let admin_password = crate::cmd::secrets::read_hidden(&format!(
                "Password of administrator `{}` (hidden; empty for none): ",
                a.admin_user
            ))?;
            let report = fstore_publish::init::init_online_store(
                &ctx.config,
                a.store.as_deref(),
                fstore_publish::init::InitOptions {
                    admin_user: a.admin_user,
                    admin_password,
                    writer_user: a.writer_user,
                    reader_user: a.reader_user,
                    user_host: a.user_host,
                    rotate: a.rotate,
                },
            )
            .await?;
            let p = &report.provision;
            let created = |yes: bool| if yes { "created" } else { "already existed" };
            println!(
                "store `{}`: database `{}` {}",
                report.store,
                report.database,
                created(p.database_created)
            );
            if let Some(schema) = &report.schema {
                println!("schema `{schema}` {}", created(report.schema_created));
            }
            for u in &p.users_created {
                println!("created user {u}");
            }
            for u in &p.passwords_set {
                println!("set a new random password for {u}");
            }
            for s in &report.secrets_written {
                println!("stored secret {s}");
            }
            println!("grants:");
            for g in &p.grants {
                println!("  {g}");
            }
            for n in &report.notes {
                println!("note: {n}");
            }
        }
        OnlineCommand::List { store } => {
            let (_, s) = open_reader(&ctx.config, store.as_deref()).await?;
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
        OnlineCommand::History(a) => crate::cmd::online_history::run(a, ctx).await?,
        OnlineCommand::Status(a) => crate::cmd::online_status::run(a, ctx).await?,
        OnlineCommand::Verify(a) => crate::cmd::online_verify::run(a, ctx).await?,
        OnlineCommand::Drop { table, store, yes } => {
            if !yes {
                anyhow::bail!(
                    "dropping online table `{table}` removes it for every reader; pass --yes to confirm"
                );
            }
            let (name, s) = open_writer(&ctx.config, store.as_deref()).await?;
            s.drop_table(&table).await?;
            ctx.say(format!("dropped online table {table} from {name}"));
        }
    }
    Ok(())
}
