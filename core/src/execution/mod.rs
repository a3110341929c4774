//! The execution: what each node *does* run. The node registry and its
//! slots, the ingest decoders (heartbeats, binary records), the pure
//! transition step, the per-cluster counters' freshness, the transition
//! journal and the history read from it, sync-error details, and the
//! recount and columnar views over the slots.

pub(crate) mod batch;
pub mod freshness;
pub(crate) mod heartbeat;
pub(crate) mod history;
pub(crate) mod journal;
pub mod record;
pub(crate) mod recount;
pub(crate) mod registry;
pub(crate) mod slot;
pub(crate) mod sync_error;
pub mod table;
pub(crate) mod transition;
pub mod unmatched;
