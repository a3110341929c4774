//! What the engine writes into audit payloads: one line of JSON describing
//! the authority event, then (for a publish) a newline and the artifact
//! bytes, so that a reopened engine can serve every snapshot again.

use serde::{Deserialize, Serialize};

use crate::authority::cluster_spec::ClusterSpec;
use crate::authority::policy::{Policy, PolicyScope};
use crate::authority::rollout::{RolloutChange, RolloutPlan};
use crate::authority::snapshot::Snapshot;
use crate::authority::workspace::WorkspaceSpec;
use crate::error::{Error, Result};

/// One authority event, as stored in an audit payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum AuthorityEvent {
    Workspace {
        spec: WorkspaceSpec,
    },
    Cluster {
        spec: ClusterSpec,
    },
    Publish {
        snapshot: Snapshot,
        /// The rollout the publish starts, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rollout: Option<RolloutPlan>,
    },
    /// A change of the rollout of `cluster` to revision `target`.
    Rollout {
        cluster: String,
        target: u32,
        change: RolloutChange,
    },
    Force {
        target: String,
    },
    /// A reconciliation wave: the cluster's first directive toward `to`.
    AutoReconcile {
        cluster: String,
        to: String,
    },
    Policy {
        policy: Policy,
    },
    RemovePolicy {
        scope: PolicyScope,
        id: String,
    },
    /// A node's enrolment ended: it left `cluster`.
    RemoveNode {
        node: String,
        cluster: String,
    },
    /// A sealed journal segment: entries `first..first + count`, their
    /// times, and the blake3 hash of the segment file.
    JournalSegment {
        first: u64,
        count: u64,
        from_ms: u64,
        to_ms: u64,
        hash: crate::hash::ContentHash,
    },
    /// A journal compaction: the sealed segments before entry `first` were
    /// dropped (`dropped` transitions, from `from_ms` to `to_ms`), replaced
    /// by the file of `bases` bases whose blake3 hash is `hash`.
    JournalCompaction {
        first: u64,
        dropped: u64,
        from_ms: u64,
        to_ms: u64,
        bases: u64,
        hash: crate::hash::ContentHash,
    },
}

impl AuthorityEvent {
    /// The payload: JSON, then a newline and `bytes` if any.
    pub(crate) fn encode(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = serde_json::to_vec(self).unwrap_or_default();
        if !bytes.is_empty() {
            out.push(b'\n');
            out.extend_from_slice(bytes);
        }
        out
    }

    pub(crate) fn decode(payload: &[u8]) -> Result<(AuthorityEvent, &[u8])> {
        let (json, bytes) = match payload.iter().position(|&b| b == b'\n') {
            Some(i) => (&payload[..i], &payload[i + 1..]),
            None => (payload, &payload[payload.len()..]),
        };
        let event = serde_json::from_slice(json)
            .map_err(|e| Error::invalid(format!("audit payload is not an authority event: {e}")))?;
        Ok((event, bytes))
    }
}
