//! The agent's synchronisation primitives, in one place so that `--cfg fleetgov_loom`
//! can swap them for loom's and the model checker runs the agent's own code.
//!
//! Normally [`Published`] is an [`arc_swap::ArcSwap`]: readers load it
//! without a lock and without touching the value's reference count. arc-swap
//! is not loom-aware, so under loom `Published` is a loom mutex around the
//! `Arc`: the same contract (every load returns one whole value that some
//! store put there, stores are atomic and totally ordered), with every
//! interleaving of loads and stores explored by the checker. What the model
//! checks is the agent's protocol on top of that contract: which state is
//! published when, and by whom.

#[cfg(not(fleetgov_loom))]
mod imp {
    use std::sync::Arc;

    use arc_swap::ArcSwap;

    pub(crate) use parking_lot::{Mutex, MutexGuard};
    pub(crate) use std::sync::atomic::AtomicU32;

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
mod imp {
    use std::sync::Arc;

    pub(crate) use loom::sync::MutexGuard;
    pub(crate) use loom::sync::atomic::AtomicU32;

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

pub(crate) use imp::{AtomicU32, Mutex, MutexGuard, Published};
