//! The fence of a partition: whether it may still be served, checked by
//! every request handler and by the audit store before it writes on the
//! partition's behalf.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Whether a partition may still be served: open until its lease's
/// deadline, closed at once when the lease is lost or let go. Cheap to
/// check; every request handler of the partition checks it before it
/// admits a request.
#[derive(Clone, Debug)]
pub(crate) struct Fence {
    base: Instant,
    /// The deadline, in nanoseconds after `base`; 0: closed.
    until: Arc<AtomicU64>,
}

impl Fence {
    pub(crate) fn open_until(base: Instant, deadline: Instant) -> Fence {
        let fence = Fence { base, until: Arc::new(AtomicU64::new(0)) };
        fence.extend(deadline);
        fence
    }

    /// Whether the partition may be served now.
    pub(crate) fn is_open(&self) -> bool {
        // Relaxed: the deadline is a value checked on its own; no other
        // memory is published through it. A request admitted just before
        // it closes is answered, which the safety margin covers.
        let until = self.until.load(Ordering::Relaxed);
        until != 0 && self.base.elapsed().as_nanos() < u128::from(until)
    }

    pub(crate) fn extend(&self, deadline: Instant) {
        let nanos = u64::try_from(deadline.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX);
        // Relaxed: see `is_open`.
        self.until.store(nanos.max(1), Ordering::Relaxed);
    }

    pub(crate) fn close(&self) {
        // Relaxed: see `is_open`.
        self.until.store(0, Ordering::Relaxed);
    }
}
