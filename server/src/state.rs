//! What every handler shares: the engine, the tokens, the metrics and the
//! event hub.

use std::sync::Arc;

use fleetgov::Engine;

use crate::auth::Tokens;
use crate::config::ServerConfig;
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
    /// Whether the engine keeps a data directory ([`AppState::durable`]).
    pub(crate) durable: bool,
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
            durable: false,
            engine,
        }
    }

    /// Says that the engine keeps a data directory (`new` assumes it does
    /// not), as `POST /api/v1/admin/sync` reports.
    pub fn durable(mut self) -> Self {
        self.durable = true;
        self
    }

    /// Unix milliseconds now, by the engine's clock.
    pub fn now_ms(&self) -> u64 {
        self.engine.clock().now_ms()
    }
}
