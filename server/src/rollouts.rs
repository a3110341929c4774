//! The rollout timer: a bake ends, and the next wave starts, with no
//! heartbeat to notice it, because the server evaluates every active
//! rollout's gates once a second ([`Engine::advance_rollouts`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fleetgov::Engine;

/// How often the gates of every active rollout are evaluated.
pub const TICK: Duration = Duration::from_secs(1);

/// Evaluates the gates of every active rollout every [`TICK`] until `stop`
/// is set; runs on a thread of its own, which the one that sets `stop`
/// unparks so that it ends at once. A step whose audit record cannot be
/// written changes nothing and is tried again at the next tick.
pub fn advance(engine: &Engine, stop: &AtomicBool) {
    // Relaxed: a stop flag; the unpark that follows the store wakes the thread.
    while !stop.load(Ordering::Relaxed) {
        std::thread::park_timeout(TICK);
        // Relaxed: as above.
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let _ = engine.advance_rollouts(engine.clock().now_ms());
    }
}
