//! The atomics of the engine's hot path — a node's slot (its sequence lock),
//! a cluster's counters and the transition journal — in one place, so that
//! `--cfg fleetgov_loom` swaps them for loom's and the model checker runs the
//! engine's own code (as crossbeam and arc-swap do).
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
//! (execution/slot.rs, execution/counters.rs, execution/journal.rs, and
//! wake.rs for the change feed's wake-up). The agent has a shim of its own
//! (`agent/sync.rs`).

#[cfg(not(fleetgov_loom))]
pub(crate) use std::hint::spin_loop;
#[cfg(not(fleetgov_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, fence};

#[cfg(fleetgov_loom)]
pub(crate) use loom::hint::spin_loop;
#[cfg(fleetgov_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, fence};
