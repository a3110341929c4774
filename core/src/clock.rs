//! The engine's clock: the system clock, or a manual one for tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where "now" comes from when the engine checks for heartbeats from the
/// future. Every query that depends on time takes `now` as an argument; the
/// clock is used only where a call has no `now` of its own.
///
/// ```
/// use fleetgov::Clock;
/// let clock = Clock::manual(1_000);
/// clock.set(2_000);
/// assert_eq!(clock.now_ms(), 2_000);
/// ```
#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// Wall-clock time.
    #[default]
    System,
    /// A clock that moves only when told to.
    Manual(Arc<AtomicU64>),
}

impl Clock {
    /// A manual clock reading `ms`.
    pub fn manual(ms: u64) -> Self {
        Clock::Manual(Arc::new(AtomicU64::new(ms)))
    }

    /// Unix milliseconds now.
    pub fn now_ms(&self) -> u64 {
        match self {
            Clock::System => SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
            // Relaxed: the clock value is a standalone number; nothing else is published with it.
            Clock::Manual(ms) => ms.load(Ordering::Relaxed),
        }
    }

    /// Sets a manual clock; no effect on the system clock.
    pub fn set(&self, ms: u64) {
        if let Clock::Manual(m) = self {
            // Relaxed: see `now_ms`.
            m.store(ms, Ordering::Relaxed);
        }
    }
}
