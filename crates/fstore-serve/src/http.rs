//! The HTTP layer: the axum [`router`], its handlers, and the middleware every request goes
//! through (bearer-token auth, timeout, panic guard, metrics, access log). Connections are
//! accepted by [`crate::listen`].
//!
//! Errors are JSON `{"error": "..."}` with a 4xx status for anything the caller can fix, and a
//! generic message with a 5xx status otherwise (the detail is logged with the request id, which
//! every response carries in `x-request-id`).

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use futures::FutureExt as _;
use serde::Serialize;

use crate::busy_poll::BusyPoll;
use crate::error::{ErrorKind, ServeError};
use crate::lookups::Lookups;
use crate::metrics::Route;
use crate::request::{TableLookupRequest, VectorLookupRequest, decode};

/// HTTP-level settings. `Debug` never shows the token.
#[derive(Clone)]
pub struct ServerOptions {
    /// Largest accepted request body (default 1 MiB).
    pub max_body_bytes: usize,
    /// Longest time to answer a request (default 5 s); past it the answer is a 504.
    pub request_timeout: Duration,
    /// Bearer token required on `/v1/...` routes and the web page (`/ui`); `None` leaves them
    /// open. Health, metrics and `/openapi.json` never need it.
    pub token: Option<String>,
    /// Keep polling for I/O, instead of sleeping, while requests run and for this long after
    /// the last one (see [`crate::busy_poll`]); zero (the default) never polls.
    pub busy_poll: Duration,
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("request_timeout", &self.request_timeout)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("busy_poll", &self.busy_poll)
            .finish()
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            request_timeout: Duration::from_secs(5),
            token: None,
            busy_poll: Duration::ZERO,
        }
    }
}

/// What every handler shares. One `Arc`: axum clones the state for each request (the
/// middleware and every extractor), so one reference count, not one per field.
#[derive(Clone)]
struct AppState(Arc<Shared>);

struct Shared {
    lookups: Lookups,
    opts: ServerOptions,
    next_id: AtomicU64,
    busy_poll: Option<Arc<BusyPoll>>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What a handler tells the middleware beyond the response: the error (for metrics and the
/// log) and how many keys it looked up.
#[derive(Clone, Debug)]
struct Outcome {
    error: Option<ServeError>,
    keys: usize,
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body<'a> {
            error: &'a str,
        }
        let body = serde_json::to_vec(&Body {
            error: &self.message,
        })
        .unwrap_or_else(|_| b"{\"error\":\"internal error\"}".to_vec());
        let mut resp = json_response(self.status(), body);
        match self.kind {
            ErrorKind::Unauthorized => {
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            // The rest of the body was never read, so the connection cannot carry another
            // request: say so, or a client may reuse it and see it closed under its next one.
            ErrorKind::PayloadTooLarge => {
                resp.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        resp.extensions_mut().insert(Outcome {
            error: Some(self),
            keys: 0,
        });
        resp
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn ok_json<T: Serialize>(value: &T, keys: usize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut resp = json_response(StatusCode::OK, body);
            resp.extensions_mut().insert(Outcome { error: None, keys });
            resp
        }
        Err(e) => ServeError::server(
            ErrorKind::Internal,
            format!("serializing the response: {e}"),
        )
        .into_response(),
    }
}

/// The OpenAPI 3.1 document of this API, served at `GET /openapi.json`. Hand-written (the
/// responses are serialized by hand for speed, so derived schemas would describe nothing);
/// a test keeps it in step with [`ROUTES`] and runs its examples against a real server.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// Every route of [`router`] as (method, path): the router is built from this list, so the
/// OpenAPI document's test compares the document with what is really routed.
pub const ROUTES: [(&str, &str); 6] = [
    ("POST", "/v1/feature-tables/{name}/lookup"),
    ("POST", "/v1/feature-vectors/lookup"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
];

/// The handler of one entry of [`ROUTES`].
fn handler(path: &str) -> MethodRouter<AppState> {
    match path {
        "/v1/feature-tables/{name}/lookup" => post(table_lookup),
        "/v1/feature-vectors/lookup" => post(vector_lookup),
        "/healthz" => get(healthz),
        "/readyz" => get(readyz),
        "/metrics" => get(metrics),
        "/openapi.json" => get(openapi),
        other => unreachable!("ROUTES names {other} but no handler serves it"),
    }
}

/// The router: [`ROUTES`], with nothing mounted under `/ui`.
pub fn router(lookups: Lookups, opts: ServerOptions) -> Router {
    router_with_ui(lookups, opts, None)
}

/// The router: [`ROUTES`], plus `ui` (a stateless router, e.g. `fstore_ui::router`) nested
/// under `/ui`. The UI goes through the same middleware: the bearer token is required there
/// as on `/v1/`, and its requests are counted in the metrics.
pub fn router_with_ui(lookups: Lookups, opts: ServerOptions, ui: Option<Router>) -> Router {
    let max_body = opts.max_body_bytes;
    let busy_poll = (!opts.busy_poll.is_zero()).then(|| BusyPoll::new(opts.busy_poll));
    let state = AppState(Arc::new(Shared {
        lookups,
        opts,
        next_id: AtomicU64::new(1),
        busy_poll,
    }));
    let mut app = Router::new();
    for (method, path) in ROUTES {
        let _ = method;
        app = app.route(path, handler(path));
    }
    let mut app = app.with_state(state.clone());
    if let Some(ui) = ui {
        app = app.nest("/ui", ui);
    }
    app.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(state, observe))
}

fn too_large(limit: usize) -> ServeError {
    ServeError::new(
        ErrorKind::PayloadTooLarge,
        format!(
            "request body is larger than the limit of {limit} bytes; send fewer keys per request"
        ),
    )
}

/// A request whose `Content-Length` announces more than the limit is refused before its body
/// is read: waiting for a body that will be refused anyway would hold the connection until the
/// request timeout (and answer 504). The response closes the connection (see
/// [`ServeError::into_response`]), so the unread bytes are never taken for a next request.
/// Bodies without a length (chunked) are counted as they arrive, by `DefaultBodyLimit`.
fn check_length(req: &Request, limit: usize) -> Result<(), ServeError> {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match announced {
        Some(n) if n > limit as u64 => Err(too_large(limit)),
        _ => Ok(()),
    }
}

fn body_error(e: BytesRejection, limit: usize) -> ServeError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(limit)
    } else {
        ServeError::bad_request(format!("cannot read the request body: {}", e.body_text()))
    }
}

async fn table_lookup(
    State(st): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServeError> {
    let Path(name) = name.map_err(|e| ServeError::bad_request(e.body_text()))?;
    let body = body.map_err(|e| body_error(e, st.opts.max_body_bytes))?;
    let req: TableLookupRequest = decode(&body)?;
    let resp = st.lookups.lookup_table(&name, &req).await?;
    Ok(ok_json(&resp, resp.keys.len()))
}

async fn vector_lookup(
    State(st): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServeError> {
    let body = body.map_err(|e| body_error(e, st.opts.max_body_bytes))?;
    let req: VectorLookupRequest = decode(&body)?;
    let resp = st.lookups.lookup_vectors(&req).await?;
    let keys = resp.parts.iter().map(|p| p.result.rows.len()).sum();
    Ok(ok_json(&resp, keys))
}

async fn healthz() -> Response {
    ok_json(&serde_json::json!({"status": "ok"}), 0)
}

async fn readyz(State(st): State<AppState>) -> Result<Response, ServeError> {
    st.lookups.health().await?;
    Ok(ok_json(&serde_json::json!({"status": "ready"}), 0))
}

async fn metrics(State(st): State<AppState>) -> Response {
    let mut text = st.lookups.metrics().render();
    crate::freshness::render_freshness(&st.lookups.cached_tables(), &mut text);
    crate::freshness::metrics_response(text)
}

async fn openapi() -> Response {
    let mut resp = json_response(StatusCode::OK, OPENAPI_JSON.as_bytes().to_vec());
    resp.extensions_mut().insert(Outcome {
        error: None,
        keys: 0,
    });
    resp
}

async fn not_found() -> ServeError {
    let routes: Vec<String> = ROUTES.iter().map(|(m, p)| format!("{m} {p}")).collect();
    ServeError::not_found(format!(
        "no such route; the routes are {} (and GET /openapi.json describes them)",
        routes.join(", ")
    ))
}

async fn method_not_allowed(method: Method) -> ServeError {
    ServeError::new(
        ErrorKind::MethodNotAllowed,
        format!(
            "method {} is not allowed here (lookups are POST, health and metrics GET)",
            method.as_str().chars().take(16).collect::<String>()
        ),
    )
}

/// Compares in time independent of where the strings differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn check_token(req: &Request, token: &str) -> Result<(), ServeError> {
    let header = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ServeError::new(
            ErrorKind::Unauthorized,
            "missing bearer token: send `Authorization: Bearer <token>`",
        )
    })?;
    let given = header
        .to_str()
        .ok()
        .and_then(|h| {
            let (scheme, rest) = h.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .ok_or_else(|| {
            ServeError::new(
                ErrorKind::Unauthorized,
                "the Authorization header is not `Bearer <token>`",
            )
        })?;
    if same_secret(given.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(ServeError::new(
            ErrorKind::Unauthorized,
            "wrong bearer token",
        ))
    }
}

/// Auth, timeout, panic guard, metrics and the access log around every request.
async fn observe(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let metrics = st.lookups.metrics();
    let _in_flight = metrics.start_request();
    let _busy = st.busy_poll.as_ref().map(BusyPoll::enter);
    let id = st.next_id.fetch_add(1, Ordering::Relaxed);
    let route = Route::of_path(req.uri().path());
    // What the access log needs, kept only when it can write (ERROR is the least it logs).
    let request_line = tracing::enabled!(target: "fstore_serve::access", tracing::Level::ERROR)
        .then(|| {
            let peer = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0);
            (req.method().clone(), req.uri().clone(), peer)
        });

    let path = req.uri().path();
    let needs_auth = path.starts_with("/v1/") || path == "/ui" || path.starts_with("/ui/");
    let admitted = match &st.opts.token {
        Some(token) if needs_auth => check_token(&req, token),
        _ => Ok(()),
    }
    .and_then(|()| check_length(&req, st.opts.max_body_bytes));
    let mut resp = match admitted {
        Err(e) => e.into_response(),
        Ok(()) => {
            let run = AssertUnwindSafe(next.run(req)).catch_unwind();
            match tokio::time::timeout(st.opts.request_timeout, run).await {
                Ok(Ok(resp)) => resp,
                Ok(Err(panic)) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    ServeError::server(ErrorKind::Internal, format!("handler panicked: {what}"))
                        .into_response()
                }
                Err(_) => ServeError::new(
                    ErrorKind::Timeout,
                    format!(
                        "the request took longer than {} ms; retry, or send fewer keys",
                        st.opts.request_timeout.as_millis()
                    ),
                )
                .into_response(),
            }
        }
    };
    let elapsed = start.elapsed();
    let status = resp.status().as_u16();
    metrics.observe_request(route, status, elapsed);
    let outcome = resp.extensions_mut().remove::<Outcome>();
    let keys = outcome.as_ref().map_or(0, |o| o.keys);
    resp.headers_mut()
        .insert("x-request-id", HeaderValue::from(id));
    let latency_us = elapsed.as_micros() as u64;
    let error = outcome.and_then(|o| o.error);
    if let Some(e) = &error {
        metrics.count_error(e.kind);
    }
    let level = match &error {
        Some(e) if e.kind.is_server_error() => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    };
    let logging = match level {
        tracing::Level::ERROR => {
            tracing::enabled!(target: "fstore_serve::access", tracing::Level::ERROR)
        }
        _ => tracing::enabled!(target: "fstore_serve::access", tracing::Level::INFO),
    };
    let Some((method, uri, peer)) = request_line.filter(|_| logging) else {
        return resp;
    };
    let path: String = uri.path().chars().take(200).collect();
    let peer = peer.map_or_else(|| "-".to_string(), |p| p.to_string());
    let peer = peer.as_str();
    match error {
        None => tracing::info!(
            target: "fstore_serve::access",
            request_id = id, method = %method, path = %path, route = route.label(),
            status, latency_us, keys, peer,
            "request"
        ),
        Some(e) => {
            if e.kind.is_server_error() {
                tracing::error!(
                    target: "fstore_serve::access",
                    request_id = id, method = %method, path = %path, route = route.label(),
                    status, latency_us, peer,
                    error = %e.message, detail = e.detail.as_deref().unwrap_or(""),
                    "request failed"
                );
            } else {
                tracing::info!(
                    target: "fstore_serve::access",
                    request_id = id, method = %method, path = %path, route = route.label(),
                    status, latency_us, peer,
                    error = %e.message,
                    "request rejected"
                );
            }
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(!same_secret(b"", b"a"));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let o = ServerOptions {
            token: Some("s3cret-token".into()),
            ..Default::default()
        };
        let shown = format!("{o:?}");
        assert!(
            !shown.contains("s3cret-token") && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}
