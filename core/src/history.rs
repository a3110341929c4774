//! History: what each node ran, and when, so the engine can prove what was
//! running at any moment.
//!
//! The engine journals a node's applied-state *transitions* (the applied
//! revision or hash changed), never every heartbeat. `what_ran` and
//! `fleet_at` answer from the journal; an attestation of a cluster at time
//! `t` is a Merkle root (RFC 6962, SHA-256) over every node's `(id, applied
//! hash)` at `t`, signed like an audit checkpoint.

use base64::Engine as _;
use serde::Serialize;

use crate::audit::{CheckpointVerifier, MerkleTree, TreeHash};
use crate::cluster_state::ClusterState;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::hash::ContentHash;
use crate::journal::HashRef;
use crate::snapshot::snapshot_id;

/// What a node ran at some moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedAt {
    /// The node.
    pub node: String,
    /// The snapshot it reported (`None`: none, or not a published snapshot
    /// of its cluster).
    pub snapshot: Option<String>,
    /// The hash it computed over what it applied (`None`: it applied nothing).
    pub hash: Option<ContentHash>,
    /// Since when: the time the heartbeat that reported the change counted
    /// at (its stamp, or the engine's clock at arrival if earlier).
    pub since_ms: u64,
}

/// A signed statement of what every node of a cluster ran at one moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attestation {
    /// The cluster.
    pub cluster: String,
    /// The moment (unix ms).
    pub at_ms: u64,
    /// What each node ran then, by node id (nodes with no report yet are left out).
    pub nodes: Vec<AppliedAt>,
    /// Merkle root over the leaves `node id || 0x00 || hash`, in node-id order.
    pub root: String,
    /// The signed note (text + signature) that binds cluster, moment, count and root.
    pub note: String,
}

impl Attestation {
    /// Checks the note's signature with `verifier`, that the note states this
    /// attestation's cluster, moment and size, and that the root matches the
    /// node list. `AuditTampered` otherwise.
    ///
    /// ```
    /// let t = 1_700_000_000_000;
    /// let e = fleetgov::demo::engine(t).unwrap();
    /// let a = e.attest("eks-prod-us", t).unwrap();
    /// a.verify(&e.checkpoint_verifier().unwrap()).unwrap();
    /// ```
    pub fn verify(&self, verifier: &CheckpointVerifier) -> Result<()> {
        let text = verifier.open_note(&self.note)?;
        let root = attestation_root(&self.nodes)?;
        if text != attestation_text(&self.cluster, self.at_ms, self.nodes.len(), &root) {
            return Err(Error::new(ErrorKind::AuditTampered, "attestation does not match its signed note"));
        }
        Ok(())
    }
}

fn encode_root(root: &TreeHash) -> String {
    base64::engine::general_purpose::STANDARD.encode(root.as_bytes())
}

fn attestation_root(nodes: &[AppliedAt]) -> Result<TreeHash> {
    let mut tree: MerkleTree = MerkleTree::new();
    for n in nodes {
        let hash = n.hash.ok_or_else(|| Error::invalid(format!("node '{}' has no hash to attest", n.node)))?;
        let mut leaf = n.node.as_bytes().to_vec();
        leaf.push(0);
        leaf.extend_from_slice(hash.as_bytes());
        tree.push_leaf(&leaf);
    }
    Ok(tree.root())
}

fn attestation_text(cluster: &str, at_ms: u64, nodes: usize, root: &TreeHash) -> String {
    format!("fleetgov attestation\ncluster {cluster}\nat {at_ms}\nnodes {nodes}\nroot {}\n", encode_root(root))
}

impl Engine {
    fn applied_at(&self, slot: u32, cluster: &ClusterState, t: u64) -> Option<AppliedAt> {
        let latest = self.nodes.slot(slot)?.read().last_transition;
        let tr = self.journal.at(latest, t)?;
        let hash = match tr.hash {
            HashRef::None => None,
            HashRef::Verified => cluster.snapshot(tr.revision).map(|s| s.hash),
            odd => self.journal.odd_hash(odd),
        };
        Some(AppliedAt {
            node: self.nodes.id(slot).to_owned(),
            snapshot: (tr.revision != 0).then(|| snapshot_id(&cluster.id, tr.revision)),
            hash,
            since_ms: tr.at_ms,
        })
    }

    /// What node `node` ran at `t_ms` (`None`: it had reported nothing yet).
    ///
    /// ```
    /// let t = 1_700_000_000_000;
    /// let e = fleetgov::demo::engine(t).unwrap();
    /// let ran = e.what_ran("gw-stage-eu-4", t).unwrap().unwrap();
    /// assert_eq!(ran.snapshot.as_deref(), Some("gke-stage-eu@r1"));
    /// assert!(e.what_ran("gw-stage-eu-4", t - 3_600_000).unwrap().is_none());
    /// ```
    pub fn what_ran(&self, node: &str, t_ms: u64) -> Result<Option<AppliedAt>> {
        let slot = self.node_handle(node).and_then(|h| self.slot_of(h))?;
        let cluster =
            self.nodes.slot(slot).map(|s| self.cluster_at(s.cluster())).ok_or_else(|| Error::not_found(node))?;
        Ok(self.applied_at(slot, cluster, t_ms))
    }

    /// What every node of `cluster` ran at `t_ms`, by node id (nodes that had
    /// reported nothing yet are left out).
    pub fn fleet_at(&self, cluster: &str, t_ms: u64) -> Result<Vec<AppliedAt>> {
        let state = self.cluster_state(cluster)?;
        let mut out: Vec<AppliedAt> =
            state.members().into_iter().filter_map(|s| self.applied_at(s, state, t_ms)).collect();
        out.sort_by(|a, b| a.node.cmp(&b.node));
        Ok(out)
    }

    /// A signed attestation of what `cluster` ran at `t_ms`: nodes that ran
    /// something, and the Merkle root over their `(id, hash)`.
    pub fn attest(&self, cluster: &str, t_ms: u64) -> Result<Attestation> {
        let nodes: Vec<AppliedAt> = self.fleet_at(cluster, t_ms)?.into_iter().filter(|n| n.hash.is_some()).collect();
        let root = attestation_root(&nodes)?;
        let note = self.signer()?.sign_note(&attestation_text(cluster, t_ms, nodes.len(), &root))?;
        Ok(Attestation { cluster: cluster.to_owned(), at_ms: t_ms, root: encode_root(&root), nodes, note })
    }
}
