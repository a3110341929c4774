//! What every handler shares: the engine, the tokens, the metrics and the
//! event hub.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use fleetgov::Engine;

use crate::auth::{Principal, Tokens, bearer};
use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::events::EventHub;
use crate::metrics::Metrics;
use crate::stream_slots::StreamSlots;

/// The shared state of the server (cheap to clone).
///
/// ```
/// use std::sync::Arc;
/// let engine = Arc::new(fleetgov::demo::engine(1_700_000_000_000).unwrap());
/// let state = fleetgov_server::AppState::new(engine, &fleetgov_server::ServerConfig::demo());
/// assert_eq!(state.tokens.demo().map(<[_]>::len), Some(3));
/// ```
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The configured bearer tokens.
    pub tokens: Arc<Tokens>,
    /// The Prometheus registry.
    pub metrics: Arc<Metrics>,
    /// Live fleet events for `/api/v1/events`.
    pub events: EventHub,
    /// The event streams each token holds, capped.
    pub(crate) streams: Arc<StreamSlots>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("tokens", &self.tokens).finish_non_exhaustive()
    }
}

impl AppState {
    /// The state for `engine` under `config`.
    pub fn new(engine: Arc<Engine>, config: &ServerConfig) -> Self {
        AppState {
            metrics: Arc::new(Metrics::new(engine.clone())),
            tokens: Arc::new(Tokens::new(&config.tokens, config.demo)),
            events: EventHub::new(),
            streams: StreamSlots::new(config.limits.max_event_streams_per_token),
            engine,
        }
    }

    /// Unix milliseconds now, by the engine's clock.
    pub fn now_ms(&self) -> u64 {
        self.engine.clock().now_ms()
    }
}

/// A handler's caller: the token of its `Authorization: Bearer` header,
/// checked against the state's tokens.
impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        state.tokens.authenticate(bearer(parts)?)
    }
}
