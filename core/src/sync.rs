//! The synchronisation primitives the model checker covers, in one place, so
//! that `--cfg fleetgov_loom` swaps them for loom's and the checker runs the
//! project's own code (as crossbeam and arc-swap do): the atomics of the
//! engine's hot path (a node's slot and its sequence lock, a cluster's
//! counters, the transition journal) and the agent's lock and published
//! state.
//!
//! ```text
//! RUSTFLAGS="--cfg fleetgov_loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test --release --lib -- loom_model
//! ```
//!
//! The cfg is the project's own: a plain `--cfg loom` would also switch
//! tokio (a dependency of the test suites) into its loom mode, which
//! leaves out its networking.
//!
//! The models live next to the code they check, in `loom_model` test modules
//! (execution/slot.rs, execution/counters.rs, execution/bucket_counters.rs, execution/journal.rs,
//! authority/steering.rs and authority/cluster.rs for a cluster's rollout, and
//! wake.rs for the change feed's wake-up); the agent's in `tests/agent_loom.rs`.
//!
//! Normally [`Published`] is an [`arc_swap::ArcSwap`]: readers load it
//! without a lock and without touching the value's reference count. arc-swap
//! is not loom-aware, so under loom `Published` is a loom mutex around the
//! `Arc`: the same contract (every load returns one whole value that some
//! store put there, stores are atomic and totally ordered), with every
//! interleaving of loads and stores explored by the checker. What the agent's
//! model checks is its protocol on top of that contract: which state is
//! published when, and by whom.

#[cfg(not(fleetgov_loom))]
pub(crate) use std::hint::spin_loop;
#[cfg(not(fleetgov_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, fence};

#[cfg(fleetgov_loom)]
pub(crate) use loom::hint::spin_loop;
#[cfg(fleetgov_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, fence};

#[cfg(not(fleetgov_loom))]
mod published {
    use std::sync::Arc;

    use arc_swap::ArcSwap;

    pub(crate) use parking_lot::{Mutex, MutexGuard};

    /// A shared `Arc<T>` that readers load lock-free and writers replace whole.
    pub(crate) struct Published<T>(ArcSwap<T>);

    impl<T> Published<T> {
        pub(crate) fn new(value: Arc<T>) -> Self {
            Published(ArcSwap::new(value))
        }

        /// Runs `f` on the current value; no lock, no reference-count traffic.
        pub(crate) fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
            f(&self.0.load())
        }

        /// The current value, owned.
        pub(crate) fn load_full(&self) -> Arc<T> {
            self.0.load_full()
        }

        /// Replaces the value. Readers see the old one or the new one, whole.
        pub(crate) fn store(&self, value: Arc<T>) {
            self.0.store(value);
        }
    }
}

#[cfg(fleetgov_loom)]
mod published {
    use std::sync::Arc;

    pub(crate) use loom::sync::MutexGuard;

    /// loom's mutex behind `parking_lot`'s interface (no poisoning: a hook's
    /// panic unwinds through the lock before anything changed, so a poisoned
    /// lock is still sound).
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }

    /// The model of `ArcSwap`: see the module docs.
    pub(crate) struct Published<T>(loom::sync::Mutex<Arc<T>>);

    impl<T> Published<T> {
        pub(crate) fn new(value: Arc<T>) -> Self {
            Published(loom::sync::Mutex::new(value))
        }

        pub(crate) fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
            let value = self.load_full();
            f(&value)
        }

        pub(crate) fn load_full(&self) -> Arc<T> {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
        }

        pub(crate) fn store(&self, value: Arc<T>) {
            *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = value;
        }
    }
}

pub(crate) use published::{Mutex, MutexGuard, Published};
