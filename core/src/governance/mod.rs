//! Governance: who may change what, and the proof of it. Forced syncs and
//! their justifications, the tamper-evident audit log with its signed
//! checkpoints, and attestations of what ran.

pub mod attestation;
pub mod audit;
pub(crate) mod overrides;
