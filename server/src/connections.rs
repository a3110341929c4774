//! Accepting connections: HTTP/1.1 through hyper, with a header read
//! timeout, an idle timeout and a cap on open connections
//! ([`LimitsConfig`]).
//!
//! - The header read timeout is hyper's: it runs from the moment hyper waits
//!   for a request head (a new connection, or a kept-alive one between
//!   requests) until the head is complete; then the connection is closed.
//! - The idle timeout has two halves: a request body that stops arriving
//!   (tower-http's body timeout, reset by every frame) and a response the
//!   client stops reading (a write that cannot progress, through
//!   `tokio-io-timeout`). Neither fires on an event stream that simply has
//!   nothing to say.
//! - Over the cap, a connection is answered 503 `OVERLOADED` by a small
//!   refusal service (itself bounded: at most [`REFUSALS`] at once, each
//!   under the header read timeout) and closed; beyond that it is closed
//!   unanswered.
//!
//! - With TLS, each accepted connection first completes its handshake on its
//!   own task, within the header read timeout, then is served as above over
//!   the encrypted stream; a refusal over the cap is answered over TLS too.
//!
//! Only HTTP/1.1 is served (also over TLS, where ALPN offers `http/1.1`
//! alone): the timeouts above are HTTP/1's.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_io_timeout::TimeoutStream;
use tokio_rustls::TlsAcceptor;

use crate::config::LimitsConfig;
use crate::error::ApiError;

/// Refusals answered at once; connections beyond are closed unanswered.
pub const REFUSALS: usize = 64;

/// How long open connections may finish their requests after shutdown.
const DRAIN: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` under `limits`, over TLS when `tls` is given,
/// until `shutdown` completes, then lets open connections finish for a few
/// seconds.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &LimitsConfig,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let refusing = Arc::new(Semaphore::new(REFUSALS));
    let idle = Duration::from_millis(limits.idle_timeout_ms);
    let head = Duration::from_millis(limits.header_read_timeout_ms);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(head);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (http, tls) = (http.clone(), tls.clone());
        match open.clone().try_acquire_owned() {
            Ok(permit) => {
                let (app, watcher) = (app.clone(), graceful.watcher());
                tokio::spawn(async move {
                    if let Some(stream) = secure(stream, tls, head).await {
                        connection(http, stream, idle, app, watcher).await;
                    }
                    drop(permit);
                });
            }
            Err(_) => {
                if let Ok(slot) = refusing.clone().try_acquire_owned() {
                    tokio::spawn(async move {
                        if let Some(stream) = secure(stream, tls, head).await {
                            refuse(http, stream).await;
                        }
                        drop(slot);
                    });
                }
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
    Ok(())
}

/// A connection's byte stream: the socket itself, or TLS over it.
trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// The stream to speak HTTP on: `stream` itself without TLS, else the TLS
/// stream once its handshake is done; `None` (the socket is closed) if the
/// handshake fails or takes longer than `within`.
async fn secure(stream: TcpStream, tls: Option<TlsAcceptor>, within: Duration) -> Option<Box<dyn Io>> {
    match tls {
        None => Some(Box::new(stream)),
        Some(tls) => match tokio::time::timeout(within, tls.accept(stream)).await {
            Ok(Ok(stream)) => Some(Box::new(stream)),
            Ok(Err(_)) | Err(_) => None,
        },
    }
}

/// Serves one connection until it ends, its writes giving up after `idle`,
/// watched for a graceful shutdown.
async fn connection(http: http1::Builder, stream: Box<dyn Io>, idle: Duration, app: Router, watcher: Watcher) {
    let mut stream = TimeoutStream::new(stream);
    stream.set_write_timeout(Some(idle));
    let conn = http.serve_connection(TokioIo::new(Box::pin(stream)), TowerToHyperService::new(app));
    let _ = watcher.watch(conn).await;
}

/// Answers one request on a connection over the cap with 503 and closes it.
async fn refuse(mut http: http1::Builder, stream: Box<dyn Io>) {
    let answer = hyper::service::service_fn(|_request| async {
        let e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "OVERLOADED",
            "the server holds as many connections as it is configured to; retry later",
        );
        Ok::<_, Infallible>(e.into_response())
    });
    let _ = http.keep_alive(false).serve_connection(TokioIo::new(stream), answer).await;
}

/// An error from `accept`: a connection that failed before it was accepted
/// is skipped; anything else (out of file descriptors) waits a moment first.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if !matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        eprintln!("fleet_server: accept failed: {e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
