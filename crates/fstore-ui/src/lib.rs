//! The web page of `fstore serve` (`/ui`) and `fstore ui`: server-rendered HTML over the
//! serving process's own read-only view of the feature store.
//!
//! - [`router`]: an axum router to nest under `/ui` (`fstore_serve::router_with_ui`), so the
//!   bearer token, limits and metrics of the serving API apply to it too.
//! - Pages (`pages.rs`): feature tables (Delta, through fstore-offline), online tables (the
//!   bookkeeping row and publish history, through the [`ReadStore`] the server already holds:
//!   the reader identity, nothing here writes), a lookup form that calls the serving API's
//!   lookup endpoint, and the server's own request counts and latency.
//! - Charts are inline SVG (`chart.rs`); the stylesheet and the lookup form's script are
//!   compiled in (`assets/`) and nothing is fetched from elsewhere (the CSP says so too).
//!
//! [`ReadStore`]: fstore_online::ReadStore

mod chart;
pub mod html;
mod pages;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fstore_offline::OfflineStore;
use fstore_serve::Lookups;

/// What the pages read: the server's lookups (its reader store and metrics) and the offline
/// store (or why it could not be opened: the pages then say so instead of failing).
#[derive(Clone)]
pub struct Ui {
    pub lookups: Lookups,
    pub offline: Result<OfflineStore, String>,
    /// The online store's name in `fstore.toml`, shown in the pages.
    pub store_name: String,
}

/// The `/ui` router (its paths are relative to where it is nested).
pub fn router(ui: Ui) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/tables/{name}", get(feature_table))
        .route("/online/{table}", get(online_table))
        .route("/lookup", get(lookup))
        .route("/server", get(server))
        .route("/assets/style.css", get(style))
        .route("/assets/lookup.js", get(script))
        .with_state(ui)
}

/// Pages load only what this binary serves: no inline script, no other origin.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn asset(ctype: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

async fn index(State(ui): State<Ui>) -> Response {
    html(StatusCode::OK, pages::index(&ui).await)
}

async fn feature_table(State(ui): State<Ui>, Path(name): Path<String>) -> Response {
    let (status, body) = pages::feature_table(&ui, &name).await;
    html(status, body)
}

async fn online_table(State(ui): State<Ui>, Path(table): Path<String>) -> Response {
    let (status, body) = pages::online_table(&ui, &table).await;
    html(status, body)
}

async fn lookup(State(ui): State<Ui>) -> Response {
    html(StatusCode::OK, pages::lookup(&ui).await)
}

async fn server(State(ui): State<Ui>) -> Response {
    html(StatusCode::OK, pages::server(&ui))
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", include_str!("assets/style.css"))
}

async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/lookup.js"),
    )
}
