//! The `fstore` command: parses arguments, loads `fstore.toml`, runs one command, prints the
//! result, and maps failures to exit codes. No business logic lives here.
//!
//! Exit codes: 0 success (also when stdout is closed early, e.g. `| head`), 1 the command failed
//! (bad input, unreachable database, …; the message says which), 2 bad command-line usage.

mod cmd;
mod context;
mod output;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::context::Context;

/// fstore — a feature store: feature tables on Delta Lake, published to MySQL/Aurora or SQLite,
/// served by key.
#[derive(Parser)]
// `about` is spelled out: a bare `about` takes the package description, which says what this
// crate is (the command's plumbing), not what fstore is.
#[command(
    name = "fstore",
    version,
    about = "fstore — a feature store: feature tables on Delta Lake, published to MySQL/Aurora or SQLite, served by key.",
    long_about = None
)]
#[command(
    after_help = "Start with:\n  fstore quickstart\n\nConfiguration: --config FILE, $FSTORE_CONFIG, or ./fstore.toml; without one, everything lives under ./fstore-data."
)]
struct Cli {
    /// Configuration file (default: $FSTORE_CONFIG, else ./fstore.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Offline store root (a directory or s3://bucket/prefix); overrides [offline] root.
    #[arg(
        long,
        global = true,
        value_name = "DIR|URL",
        env = "FSTORE_OFFLINE_ROOT"
    )]
    offline_root: Option<String>,

    /// Print only results, no status lines or progress.
    #[arg(long, short, global = true)]
    quiet: bool,

    /// More log output (-v info, -vv debug). Logs go to stderr.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole path on the embedded default: sample data → Delta table → SQLite → lookup.
    #[command(after_help = "Example:\n  fstore quickstart\n  fstore quickstart --rows 10000")]
    Quickstart(cmd::quickstart::Args),

    /// Create, write, read and manage offline feature tables (Delta Lake).
    #[command(subcommand)]
    Tables(cmd::tables::TablesCommand),

    /// Publish a feature table to an online store.
    #[command(
        after_help = "Examples:\n  fstore publish default.online_feature_table --store local --mode merge\n  fstore publish default.online_feature_table --store aurora --mode overwrite\n  fstore publish default.rides --features fare,distance --filter \"city = 'Paris'\"\n  fstore publish default.rides --store aurora --watch --interval 5s --metrics-listen 127.0.0.1:9464"
    )]
    Publish(cmd::publish::Args),

    /// Look up feature vectors by primary key in an online store.
    #[command(
        after_help = "Examples:\n  fstore lookup default.online_feature_table --key PassengerId=1\n  fstore lookup default.online_feature_table --key PassengerId=1 --key PassengerId=2 --features Age,Sex\n  fstore lookup default.trips --key driver_id=7,city=Paris --format json"
    )]
    Lookup(cmd::lookup::Args),

    /// List what is published in an online store.
    #[command(after_help = "Example:\n  fstore online list --store local")]
    #[command(subcommand)]
    Online(cmd::online::OnlineCommand),

    /// Serve feature lookups over HTTP (JSON) from an online store, with the read identity.
    #[command(
        after_help = "Examples:\n  fstore serve --store local\n  fstore serve --store aurora --listen 0.0.0.0:8080 --token-env FSTORE_SERVE_TOKEN\n  fstore serve --store aurora --listen 0.0.0.0:8080 --busy-poll-us 200   # a dedicated host: lower latency for a core\n  curl -s localhost:8080/v1/feature-tables/default.titanic/lookup -d '{\"keys\":[{\"PassengerId\":1}]}'"
    )]
    Serve(cmd::serve::Args),

    /// Open the web page: feature tables, online status, publish history, lookups. The same
    /// server as `fstore serve` (API included), on the embedded default unless told otherwise.
    #[command(
        after_help = "Examples:\n  fstore ui              # then open http://127.0.0.1:8080/ui\n  fstore ui --store local --listen 127.0.0.1:0"
    )]
    Ui(cmd::serve::Args),

    /// Manage secret scopes (credentials for online stores).
    #[command(subcommand)]
    Secrets(cmd::secrets::SecretsCommand),

    /// Build a point-in-time correct training set: a spine joined with feature lookups.
    #[command(name = "training-set", after_help = cmd::training_set::AFTER_HELP)]
    TrainingSet(cmd::training_set::Args),
}

/// mimalloc instead of glibc's malloc: serving allocates and frees small buffers per request
/// (hyper, serde, mysql_async), and glibc's allocator took about a sixth of `fstore serve`'s CPU
/// time under load (`perf`; see the serving notes).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.log_format);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = fstore_core::config::Config::load(cli.config.as_deref())?;
    if let Some(root) = cli.offline_root {
        config.offline.root = root;
    }
    let ctx = Context::new(config, cli.quiet);
    if let Command::Secrets(c) = cli.command {
        // Secrets commands are synchronous and need no runtime.
        return cmd::secrets::run(c, &ctx);
    }
    let rt = match &cli.command {
        // One thread runs everything: no hand-offs between threads on each request (what a
        // server sharing its cores with the database wants; see `fstore serve --help`).
        Command::Serve(a) if a.workers == 1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        Command::Serve(a) if a.workers > 1 => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(a.workers)
            .enable_all()
            .build()?,
        _ => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?,
    };
    rt.block_on(async move {
        match cli.command {
            Command::Quickstart(a) => cmd::quickstart::run(a, &ctx).await,
            Command::Tables(c) => cmd::tables::run(c, &ctx).await,
            Command::Publish(a) => cmd::publish::run(a, &ctx).await,
            Command::Lookup(a) => cmd::lookup::run(a, &ctx).await,
            Command::Online(c) => cmd::online::run(c, &ctx).await,
            Command::Serve(a) => cmd::serve::run(a, &ctx).await,
            Command::Ui(a) => cmd::serve::run_ui(a, &ctx).await,
            Command::TrainingSet(a) => cmd::training_set::run(a, &ctx).await,
            Command::Secrets(_) => unreachable!("handled above"),
        }
    })
}

fn init_logging(verbose: u8, format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    // Library crates (deltalake, DataFusion) log internal details at warn; users see only ours.
    let default = match verbose {
        0 => {
            "error,fstore_cli=warn,fstore_publish=warn,fstore_online=warn,fstore_offline=warn,fstore_serve=warn,fstore_training=warn"
        }
        1 => {
            "warn,fstore_cli=info,fstore_publish=info,fstore_online=info,fstore_offline=info,fstore_serve=info,fstore_training=info"
        }
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("FSTORE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_an_example() {
        fn walk(cmd: &clap::Command, path: &str) {
            for sub in cmd.get_subcommands() {
                let p = format!("{path} {}", sub.get_name());
                if sub.get_subcommands().next().is_some() {
                    walk(sub, &p);
                } else {
                    let help = sub
                        .get_after_help()
                        .map(|h| h.to_string())
                        .unwrap_or_default();
                    assert!(
                        help.contains("fstore"),
                        "`{p}` has no example in its --help"
                    );
                }
            }
        }
        walk(&super::Cli::command(), "fstore");
    }
}
