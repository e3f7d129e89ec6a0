//! Accepting connections: [`serve`] runs the accept loop itself, on hyper's HTTP/1 connection
//! builder, rather than `axum::serve`, because axum 0.8's loop leaves out what a server facing
//! real clients needs:
//!
//! - `TCP_NODELAY` on every accepted socket. Without it, an answer larger than one segment
//!   (a batch lookup over a real network) can wait for the client's delayed ACK before its last
//!   segment leaves.
//! - A header timeout. A connection has [`ListenOptions::header_timeout`] to send a request's
//!   headers, and a keep-alive connection as long for its next request; past it the connection
//!   is closed. Without one, a client that opens connections and sends nothing (or a header a
//!   byte at a time) holds them, and their file descriptors, for ever. The request timeout
//!   (`ServerOptions::request_timeout`) starts only once the headers are in.
//!
//! Shutdown is graceful: once `shutdown` completes the listener closes, idle connections close,
//! requests in flight finish (for at most [`ListenOptions::shutdown_grace`]).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt as _;

/// Connection-level settings for [`serve`].
#[derive(Clone, Debug)]
pub struct ListenOptions {
    /// How long a connection may take to send a request's headers, and how long an idle
    /// keep-alive connection stays open waiting for its next request (default 30 s).
    pub header_timeout: Duration,
    /// After the shutdown signal, how long requests in flight may take to finish (default 10 s).
    pub shutdown_grace: Duration,
}

impl Default for ListenOptions {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting connections and
/// lets requests in flight finish, for at most `opts.shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    opts: ListenOptions,
) -> std::io::Result<()> {
    // Every connection task holds a receiver: it learns of the shutdown through it, and the
    // sender's `closed()` tells when the last connection has ended.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            conn = accept(&listener) => conn,
        };
        let svc = TowerToHyperService::new(app.clone().map_request(
            move |req: axum::http::Request<Incoming>| {
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            },
        ));
        let conn = builder.serve_connection(TokioIo::new(stream), svc);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            tokio::pin!(conn);
            let ended = tokio::select! {
                r = conn.as_mut() => r,
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                // Clients that go away, and connections closed for the header timeout.
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(true);
    tokio::select! {
        () = stop_tx.closed() => {}
        () = tokio::time::sleep(opts.shutdown_grace) => {
            tracing::warn!(
                grace_secs = opts.shutdown_grace.as_secs_f64(),
                "requests still running after the grace period; stopping anyway"
            );
        }
    }
    Ok(())
}

/// The next connection, with `TCP_NODELAY` set. Errors that concern one connection (it was
/// reset before it was accepted) are skipped; others (out of file descriptors) are logged and
/// retried after a pause, so the server outlives them.
async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
                }
                return (stream, peer);
            }
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                tracing::error!(error = %e, "cannot accept connections; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// Waits for SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received; shutting down"),
        () = term => tracing::info!("SIGTERM received; shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_sockets_have_nodelay() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = TcpStream::connect(addr).await.expect("connect");
        let (server_side, peer) = accept(&listener).await;
        assert_eq!(peer, client.local_addr().expect("client addr"));
        assert!(server_side.nodelay().expect("nodelay"));
    }
}
