//! What the engine writes into audit payloads, and how a durable log
//! replays the authority state when it is reopened.
//!
//! A payload is one line of JSON describing the event, then (for a publish)
//! a newline and the artifact bytes, so that a reopened engine can serve
//! every snapshot again. Execution state (enrolments, heartbeats) is not
//! replayed: the fleet rebuilds it with its next heartbeats.

use serde::{Deserialize, Serialize};

use crate::audit::{AuditAction, AuditRecord};
use crate::cluster::ClusterSpec;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::policy::{Policy, PolicyScope};
use crate::snapshot::Snapshot;
use crate::workspace::WorkspaceSpec;

/// One authority event, as stored in an audit payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum AuthorityEvent {
    Workspace { spec: WorkspaceSpec },
    Cluster { spec: ClusterSpec },
    Publish { snapshot: Snapshot },
    Force { target: String },
    AutoReconcile { node: String, to: String },
    Policy { policy: Policy },
    RemovePolicy { scope: PolicyScope, id: String },
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

    fn decode(payload: &[u8]) -> Result<(AuthorityEvent, &[u8])> {
        let (json, bytes) = match payload.iter().position(|&b| b == b'\n') {
            Some(i) => (&payload[..i], &payload[i + 1..]),
            None => (payload, &payload[payload.len()..]),
        };
        let event = serde_json::from_slice(json)
            .map_err(|e| Error::invalid(format!("audit payload is not an authority event: {e}")))?;
        Ok((event, bytes))
    }
}

impl Engine {
    /// Replays the authority events of a reopened log, in order.
    pub(crate) fn replay(&self, records: &[std::sync::Arc<AuditRecord>]) -> Result<()> {
        for record in records {
            let (event, bytes) = AuthorityEvent::decode(&record.payload)
                .map_err(|e| e.context(format_args!("audit record {}", record.seq)))?;
            let applied = match (record.action, event) {
                (AuditAction::UpsertWorkspace, AuthorityEvent::Workspace { spec }) => self.apply_workspace(spec),
                (AuditAction::UpsertCluster, AuthorityEvent::Cluster { spec }) => self.apply_cluster(spec),
                (AuditAction::Publish, AuthorityEvent::Publish { snapshot }) => self.restore_snapshot(snapshot, bytes),
                (
                    AuditAction::ForceSyncNode | AuditAction::ForceSyncCluster | AuditAction::GlobalOverwrite,
                    AuthorityEvent::Force { .. },
                )
                | (AuditAction::AutoReconcile, AuthorityEvent::AutoReconcile { .. }) => Ok(()),
                (AuditAction::UpsertPolicy, AuthorityEvent::Policy { policy }) => {
                    self.policies.upsert(policy).map(drop)
                }
                (AuditAction::RemovePolicy, AuthorityEvent::RemovePolicy { scope, id }) => {
                    self.policies.remove(&scope, &id).map(drop)
                }
                (action, event) => Err(Error::invalid(format!("action {action} does not match its payload {event:?}"))),
            };
            applied.map_err(|e| e.context(format_args!("replaying audit record {}", record.seq)))?;
        }
        Ok(())
    }
}
