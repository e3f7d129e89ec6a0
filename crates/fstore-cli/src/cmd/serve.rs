//! `fstore serve` and `fstore ui`: the HTTP feature server (fstore-serve) on one online store,
//! with the read identity only, and its web page (fstore-ui) on `/ui`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use fstore_core::config::DEFAULT_DATA_DIR;
use fstore_publish::stores::open_reader;
use fstore_secrets::{SecretStore, Secrets};
use fstore_serve::{ListenOptions, LookupOptions, Lookups, ServerOptions};

use crate::context::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Online store name (default: the only configured store).
    #[arg(long)]
    pub store: Option<String>,
    /// Address to listen on (`127.0.0.1:0` picks a free port and prints it).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    /// Require `Authorization: Bearer <token>` on lookups, with the token read from this
    /// environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "token_secret")]
    pub token_env: Option<String>,
    /// Require a bearer token on lookups, read from the secret scope: `<scope>/<key>`.
    #[arg(long, value_name = "SCOPE/KEY")]
    pub token_secret: Option<String>,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_body_bytes: usize,
    /// Most keys in one table lookup (and rows in one vector lookup).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_keys: usize,
    /// Most tables in one vector lookup.
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub max_lookups: usize,
    /// Answer 504 to requests that take longer than this.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    pub timeout_ms: u64,
    /// How often a table's layout is re-read from the store's bookkeeping table.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    pub layout_refresh_ms: u64,
    /// Lookup queries to one table running at once; under more load, waiting requests share the
    /// next query (one `IN (...)` for all their keys). 0 = one query per request, no limit.
    #[arg(long, default_value_t = fstore_serve::lookups::DEFAULT_MAX_QUERIES_PER_TABLE, value_name = "N")]
    pub max_queries_per_table: usize,
    /// Threads serving requests; 0 = one per CPU. Where fstore shares a small machine with the
    /// database (or the clients), `--workers 1` runs everything on one thread and saves the
    /// hand-offs between threads on every request.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub workers: usize,
    /// Keep a serving thread polling for I/O instead of sleeping while requests run, and for
    /// this many microseconds after the last one: lower latency and more lookups per second
    /// under load, for one core's time while there is traffic. For hosts with a core to spare
    /// (not under a tight CPU quota). 0 = off.
    #[arg(long, default_value_t = 0, value_name = "MICROS")]
    pub busy_poll_us: u64,
    /// On SIGINT/SIGTERM, how long requests in flight may take to finish.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub shutdown_grace_secs: u64,
    /// Close a connection that takes longer than this to send a request's headers, or that
    /// stays idle this long between requests (keep-alive).
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub header_timeout_secs: u64,
}

/// `fstore serve`: the API, with the web page on `/ui`.
pub async fn run(a: Args, ctx: &Context) -> anyhow::Result<()> {
    run_as(a, ctx, false).await
}

/// `fstore ui`: the same server, announced by its web page's address.
pub async fn run_ui(a: Args, ctx: &Context) -> anyhow::Result<()> {
    run_as(a, ctx, true).await
}

async fn run_as(a: Args, ctx: &Context, ui_first: bool) -> anyhow::Result<()> {
    if a.max_keys == 0
        || a.max_lookups == 0
        || a.max_body_bytes == 0
        || a.timeout_ms == 0
        || a.header_timeout_secs == 0
    {
        bail!(
            "--max-keys, --max-lookups, --max-body-bytes, --timeout-ms and --header-timeout-secs must be at least 1"
        );
    }
    let token = token(&a, ctx)?;
    let (store_name, store) = open_reader(&ctx.config, a.store.as_deref()).await?;
    let kind = store.kind();
    let lookups = Lookups::new(
        store,
        LookupOptions {
            max_keys: a.max_keys,
            max_lookups: a.max_lookups,
            layout_ttl: Duration::from_millis(a.layout_refresh_ms),
            max_queries_per_table: a.max_queries_per_table,
            ..Default::default()
        },
    );
    if let Err(e) = lookups.health().await {
        tracing::warn!(store = %store_name, error = %e, "the store is not reachable yet; /readyz answers 503 until it is");
    }
    // The page reads feature tables through the offline store; when it cannot be opened the
    // page says why, and lookups are served all the same.
    let offline = fstore_publish::stores::open_offline(&ctx.config).map_err(|e| e.to_string());
    let ui = fstore_ui::router(fstore_ui::Ui {
        lookups: lookups.clone(),
        offline,
        store_name: store_name.clone(),
    });
    let app = fstore_serve::router_with_ui(
        lookups,
        ServerOptions {
            max_body_bytes: a.max_body_bytes,
            request_timeout: Duration::from_millis(a.timeout_ms),
            token: token.clone(),
            busy_poll: Duration::from_micros(a.busy_poll_us),
        },
        Some(ui),
    );
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    let addr = listener.local_addr()?;
    if ui_first {
        ctx.say(format!("web page: http://{addr}/ui"));
    }
    ctx.say(format!(
        "serving store `{store_name}` ({kind}) on http://{addr} (web page /ui, API /v1, /openapi.json; auth: {}); Ctrl-C stops",
        if token.is_some() {
            "bearer token"
        } else {
            "none"
        }
    ));
    tracing::info!(store = %store_name, %addr, "listening");
    fstore_serve::serve(
        listener,
        app,
        fstore_serve::shutdown_signal(),
        ListenOptions {
            header_timeout: Duration::from_secs(a.header_timeout_secs),
            shutdown_grace: Duration::from_secs(a.shutdown_grace_secs),
        },
    )
    .await?;
    ctx.say("stopped");
    Ok(())
}

fn token(a: &Args, ctx: &Context) -> anyhow::Result<Option<String>> {
    let token = if let Some(var) = &a.token_env {
        Some(std::env::var(var).with_context(|| {
            format!("--token-env {var}: the environment variable is not set (or not UTF-8)")
        })?)
    } else if let Some(spec) = &a.token_secret {
        let (scope, key) = spec
            .split_once('/')
            .with_context(|| format!("--token-secret `{spec}` is not <scope>/<key>"))?;
        let secrets = Secrets::from_config(&ctx.config.secrets, Path::new(DEFAULT_DATA_DIR))?;
        Some(secrets.get(scope, key)?.expose_secret().to_string())
    } else {
        None
    };
    match token {
        Some(t) if t.trim().is_empty() => bail!("the bearer token is empty"),
        Some(t) if t.trim() != t || t.chars().any(char::is_control) => {
            bail!("the bearer token has surrounding spaces or control characters")
        }
        other => Ok(other),
    }
}
