//! Controlled rollouts: a snapshot reaches a cluster in waves, each wave
//! bakes before the next starts, and a failure budget halts it.
//!
//! This module holds the rollout's model, free of the engine's state:
//! - [`RolloutPlan`] (plan.rs): the waves, the bake time, the failure budget
//!   and whether a halt rolls back, validated once;
//! - [`Rank`] (rank.rs): each node's stable place in a rollout, a pure
//!   function of (cluster, target revision, node id), so two engines put the
//!   same nodes in the same waves;
//! - [`Gate`] (gate.rs): the pure step that, from per-wave counts and the
//!   time, decides whether the next wave starts, the rollout bakes, halts or
//!   completes;
//! - [`Rollout`] (progress.rs): one cluster's rollout, which turns the
//!   per-bucket counts its counters keep into each node's desired revision,
//!   the verified count and the per-wave figures its gate reads.

mod gate;
mod plan;
mod progress;
mod rank;

pub use gate::{Gate, Phase, Step, WaveCounts};
pub use plan::RolloutPlan;
pub(crate) use progress::BucketRule;
pub use progress::{BucketCounts, Rollout, RolloutChange, Steer};
pub use rank::{BUCKETS, RANKS, Rank, WaveSpan};
