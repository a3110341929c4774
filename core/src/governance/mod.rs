//! Governance: who may change what, and the proof of it. Forced syncs and
//! their justifications, the tamper-evident audit log with its signed
//! checkpoints, and attestations of what ran.

pub mod attestation;
pub mod audit;
pub(crate) mod audit_query;
pub(crate) mod journal_seal;
pub(crate) mod overrides;
pub(crate) mod rollouts;

use std::sync::{Arc, OnceLock};

use crate::error::{Error, ErrorKind, Result};
use crate::governance::audit::{AuditLog, CheckpointSigner};

/// The governance state: the audit log and the key that signs its
/// checkpoints and attestations. Private to this part; the engine asks
/// through [`audit`](Governance::audit) and [`signer`](Governance::signer).
pub(crate) struct Governance {
    audit: Arc<AuditLog>,
    /// Signs checkpoints and attestations; made on first use when no seed was given.
    signer: OnceLock<CheckpointSigner>,
    signing_seed: Option<[u8; 32]>,
    origin: String,
}

impl Governance {
    pub(crate) fn new(audit: AuditLog, signing_seed: Option<[u8; 32]>, origin: String) -> Governance {
        Governance { audit: Arc::new(audit), signer: OnceLock::new(), signing_seed, origin }
    }

    /// The audit log.
    pub(crate) fn audit(&self) -> &Arc<AuditLog> {
        &self.audit
    }

    /// The checkpoint signer, made from the configured seed or generated on first use.
    pub(crate) fn signer(&self) -> Result<&CheckpointSigner> {
        if let Some(signer) = self.signer.get() {
            return Ok(signer);
        }
        let signer = match self.signing_seed {
            Some(seed) => CheckpointSigner::from_seed(&self.origin, seed)?,
            None => CheckpointSigner::generate(&self.origin)?,
        };
        // A racing first use may have set another key; either way one key wins for good.
        let _ = self.signer.set(signer);
        self.signer.get().ok_or_else(|| Error::new(ErrorKind::Io, "checkpoint signer unavailable"))
    }
}
