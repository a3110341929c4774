//! The wake-up handshake between the change feed's writers and its
//! waiting subscribers: a writer that stores an event never leaves a
//! subscriber asleep that checked for it too early, and a writer with no
//! subscriber asleep takes no lock.
//!
//! Under `--cfg fleetgov_loom` the same code runs on loom's atomics, mutex
//! and condition variable (a wait then has no deadline, so a lost wake-up
//! shows as a deadlock the model checker reports); see `crate::sync`.

use std::sync::atomic::Ordering;
use std::time::Instant;

#[cfg(not(fleetgov_loom))]
use parking_lot::{Condvar, Mutex};
#[cfg(not(fleetgov_loom))]
use std::sync::atomic::{AtomicUsize, fence};

#[cfg(fleetgov_loom)]
use loom::sync::atomic::{AtomicUsize, fence};
#[cfg(fleetgov_loom)]
use loom::sync::{Condvar, Mutex};

/// Subscribers waiting for an event, and what wakes them.
pub(crate) struct Wake {
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    cond: Condvar,
}

impl Wake {
    pub(crate) fn new() -> Wake {
        Wake { sleepers: AtomicUsize::new(0), lock: Mutex::new(()), cond: Condvar::new() }
    }

    /// Whether a subscriber waits (for tests that need the wait path taken).
    #[cfg(test)]
    pub(crate) fn is_waited_on(&self) -> bool {
        // Relaxed: polled until true.
        self.sleepers.load(Ordering::Relaxed) != 0
    }

    /// Wakes the waiting subscribers, if any. Call after the event is stored.
    pub(crate) fn notify(&self) {
        // SeqCst fence against the waiter's fence in `wait_until`: either the
        // waiter sees the stored event when it checks again, or this load
        // sees it asleep and wakes it.
        fence(Ordering::SeqCst);
        // Relaxed: ordered by the fences.
        if self.sleepers.load(Ordering::Relaxed) != 0 {
            let _serial = lock(&self.lock);
            self.cond.notify_all();
        }
    }

    /// Waits until `ready` gives an item or `deadline` passes (then `ready`
    /// is asked once more).
    pub(crate) fn wait_until<T>(&self, deadline: Instant, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
        let mut guard = lock(&self.lock);
        // Relaxed: ordered by the fences (see `notify`).
        self.sleepers.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let item = loop {
            if let Some(item) = ready() {
                break Some(item);
            }
            let (next, timed_out) = wait(&self.cond, guard, deadline);
            guard = next;
            if timed_out {
                break ready();
            }
        };
        // Relaxed: a waiter counted a little too long costs one spurious lock in `notify`.
        self.sleepers.fetch_sub(1, Ordering::Relaxed);
        drop(guard);
        item
    }
}

#[cfg(not(fleetgov_loom))]
type Guard<'a> = parking_lot::MutexGuard<'a, ()>;
#[cfg(fleetgov_loom)]
type Guard<'a> = loom::sync::MutexGuard<'a, ()>;

#[cfg(not(fleetgov_loom))]
fn lock(m: &Mutex<()>) -> Guard<'_> {
    m.lock()
}

#[cfg(fleetgov_loom)]
fn lock(m: &Mutex<()>) -> Guard<'_> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One wait on `cond`; `true` when the deadline passed.
#[cfg(not(fleetgov_loom))]
fn wait<'a>(cond: &Condvar, mut guard: Guard<'a>, deadline: Instant) -> (Guard<'a>, bool) {
    let timed_out = cond.wait_until(&mut guard, deadline).timed_out();
    (guard, timed_out)
}

/// One wait on `cond`, without a deadline (see the module docs).
#[cfg(fleetgov_loom)]
fn wait<'a>(cond: &Condvar, guard: Guard<'a>, _deadline: Instant) -> (Guard<'a>, bool) {
    (cond.wait(guard).unwrap_or_else(|e| e.into_inner()), false)
}

/// loom model of the wake-up handshake (see `crate::sync`).
#[cfg(all(test, fleetgov_loom))]
mod loom_model {
    use loom::sync::Arc;
    use loom::sync::atomic::AtomicBool;
    use loom::thread;

    use super::*;

    /// A writer stores an event and notifies while a subscriber checks and
    /// goes to sleep: in every interleaving the subscriber gets the event
    /// (a lost wake-up would leave it asleep: loom reports the deadlock).
    #[test]
    fn a_stored_event_always_wakes_its_waiter() {
        loom::model(|| {
            let wake = Arc::new(Wake::new());
            let stored = Arc::new(AtomicBool::new(false));
            let writer = {
                let (wake, stored) = (Arc::clone(&wake), Arc::clone(&stored));
                thread::spawn(move || {
                    stored.store(true, Ordering::Release);
                    wake.notify();
                })
            };
            let far = Instant::now() + std::time::Duration::from_secs(3600);
            let got = wake.wait_until(far, || stored.load(Ordering::Acquire).then_some(()));
            assert_eq!(got, Some(()));
            writer.join().unwrap();
        });
    }
}
