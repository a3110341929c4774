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
//! Only HTTP/1.1 is served: the timeouts above are HTTP/1's, and no client
//! of this server speaks cleartext HTTP/2.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_io_timeout::TimeoutStream;

use crate::config::LimitsConfig;
use crate::error::ApiError;

/// Refusals answered at once; connections beyond are closed unanswered.
pub const REFUSALS: usize = 64;

/// How long open connections may finish their requests after shutdown.
const DRAIN: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` under `limits` until `shutdown` completes, then
/// lets open connections finish for a few seconds.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &LimitsConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let refusing = Arc::new(Semaphore::new(REFUSALS));
    let idle = Duration::from_millis(limits.idle_timeout_ms);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms));
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
        match open.clone().try_acquire_owned() {
            Ok(permit) => {
                let conn =
                    graceful.watch(http.serve_connection(io(stream, idle), TowerToHyperService::new(app.clone())));
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop(permit);
                });
            }
            Err(_) => {
                if let Ok(slot) = refusing.clone().try_acquire_owned() {
                    tokio::spawn(refuse(http.clone(), stream, slot));
                }
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
    Ok(())
}

/// The connection's socket with writes that give up after `idle`.
fn io(stream: TcpStream, idle: Duration) -> TokioIo<std::pin::Pin<Box<TimeoutStream<TcpStream>>>> {
    let _ = stream.set_nodelay(true);
    let mut stream = TimeoutStream::new(stream);
    stream.set_write_timeout(Some(idle));
    TokioIo::new(Box::pin(stream))
}

/// Answers one request on a connection over the cap with 503 and closes it.
async fn refuse(mut http: http1::Builder, stream: TcpStream, _slot: OwnedSemaphorePermit) {
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
