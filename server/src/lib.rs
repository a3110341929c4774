//! # fleetgov-server
//!
//! The seeds' HTTP API and Cluster Manager over the embedded fleetgov engine:
//! JSON endpoints under `/api/v1` (camelCase keys), bearer-token auth from a
//! configuration file, Server-Sent Events of fleet transitions, Prometheus
//! metrics, an OpenAPI document, and the `/cluster` and
//! `/dashboard/observe` pages served from the binary itself. A simulated
//! fleet keeps the demo moving. The `fleet_server` command keeps the
//! engine's state in a data directory ([`storage`]), so a restart, even
//! after a crash, loses nothing it acknowledged.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use std::sync::Arc;
//! let config = fleetgov_server::ServerConfig::demo();
//! let engine = Arc::new(fleetgov::Engine::new());
//! fleetgov_server::demo::seed(&engine, engine.clock().now_ms()).unwrap();
//! let state = fleetgov_server::AppState::new(engine, &config);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! fleetgov_server::serve(listener, state, &config, std::future::pending()).await
//! # }
//! ```
#![warn(missing_docs, unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod authority;
mod cli;
pub mod config;
mod connections;
mod dashboard;
pub mod demo;
mod error;
pub mod events;
pub mod metrics;
mod oversized;
pub mod rollouts;
pub mod simulation;
mod state;
pub mod storage;
mod stream_slots;
mod tls;
mod token_hash;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;

pub use cli::{main_entry, run_with_args};
pub use config::ServerConfig;
pub use error::{ApiError, ApiResult};
pub use state::AppState;

/// The whole application: the API, the dashboard, the body limit and timeout, and JSON errors.
pub fn app(state: AppState, config: &ServerConfig) -> Router {
    // Layers listed later wrap the earlier ones: the JSON-error mapping is
    // outermost so it also sees the body-limit layer's own 413 and the 500
    // that a panicking handler is turned into (the server keeps serving).
    api::router()
        .merge(dashboard::router())
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(config.body_limit_bytes))
        .layer(axum::middleware::from_fn({
            let limit = config.body_limit_bytes;
            move |request, next| oversized::refuse(limit, request, next)
        }))
        .layer(RequestBodyTimeoutLayer::new(Duration::from_millis(config.limits.idle_timeout_ms)))
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::map_response(error::json_errors))
        .with_state(state)
}

/// Serves the application on `listener` until `shutdown` completes, with the
/// change-feed forwarder of the event stream and the rollout timer
/// ([`rollouts::advance`]) running beside it, under the
/// configuration's connection limits (see [`config::LimitsConfig`]), over
/// HTTPS when the configuration names a certificate and key
/// ([`config::TlsConfig`]; an error of kind `InvalidInput` if they cannot be
/// loaded, before anything is served).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tls = match &config.tls {
        Some(tls) => Some(tls::acceptor(tls).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?),
        None => None,
    };
    serve_with(listener, state, config, tls, shutdown).await
}

/// [`serve`] with the TLS acceptor already loaded (`None`: plain HTTP).
pub(crate) async fn serve_with(
    listener: TcpListener,
    state: AppState,
    config: &ServerConfig,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let forwarder = {
        let (engine, hub, stop) = (state.engine.clone(), state.events.clone(), stop.clone());
        let period = Duration::from_millis(config.event_poll_ms);
        std::thread::Builder::new()
            .name("fleetgov-events".into())
            .spawn(move || events::forward(&engine, &hub, period, &stop))?
    };
    let timer = {
        let (engine, stop) = (state.engine.clone(), stop.clone());
        std::thread::Builder::new().name("fleetgov-rollouts".into()).spawn(move || rollouts::advance(&engine, &stop))
    };
    let timer = match timer {
        Ok(timer) => timer,
        Err(e) => {
            // Relaxed: a stop flag, read within one period.
            stop.store(true, Ordering::Relaxed);
            let _ = tokio::task::spawn_blocking(move || forwarder.join()).await;
            return Err(e);
        }
    };
    let result = connections::serve(listener, app(state, config), &config.limits, tls, shutdown).await;
    // Relaxed: a stop flag, read within one period (the timer is woken to read it).
    stop.store(true, Ordering::Relaxed);
    timer.thread().unpark();
    let _ = tokio::task::spawn_blocking(move || {
        let _ = timer.join();
        forwarder.join()
    })
    .await;
    result
}
