//! The audit log's documents: records and the proofs over them.

use base64::Engine as _;
use fleetgov::audit::{AuditAction, AuditRecord, ConsistencyProof, InclusionProof, TreeHash};
use fleetgov::{ContentHash, Role};
use serde::{Deserialize, Serialize};

/// An audit record ([`AuditRecord`]) with its Merkle leaf hash; the payload
/// in base64, the hashes in hex.
///
/// ```
/// use fleetgov::audit::{AuditAction, AuditEntry, AuditLog};
/// use fleetgov::Role;
/// use fleetgov_dto::AuditRecordJson;
/// let log = AuditLog::in_memory();
/// let r = log.append(AuditEntry::new(5, "alice", Role::Admin, AuditAction::Publish, "c").payload(&b"x"[..])).unwrap();
/// let json = serde_json::to_value(AuditRecordJson::from(&*r)).unwrap();
/// assert_eq!((json["timeMs"].as_u64(), json["payload"].as_str()), (Some(5), Some("eA==")));
/// assert_eq!(json["leafHash"], r.leaf_hash().to_string());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecordJson {
    /// [`AuditRecord::seq`].
    pub seq: u64,
    /// [`AuditRecord::time_ms`].
    pub time_ms: u64,
    /// [`AuditRecord::actor`].
    pub actor: String,
    /// [`AuditRecord::role`].
    pub role: Role,
    /// [`AuditRecord::action`].
    pub action: AuditAction,
    /// [`AuditRecord::target`].
    pub target: String,
    /// [`AuditRecord::justification`].
    pub justification: String,
    /// [`AuditRecord::payload`], base64.
    pub payload: String,
    /// [`AuditRecord::payload_hash`], hex.
    pub payload_hash: ContentHash,
    /// [`AuditRecord::prev_hash`], hex: the hash chain.
    pub prev_hash: TreeHash,
    /// This record's leaf hash in the audit Merkle tree, hex.
    pub leaf_hash: TreeHash,
}

impl From<&AuditRecord> for AuditRecordJson {
    fn from(r: &AuditRecord) -> Self {
        AuditRecordJson {
            seq: r.seq,
            time_ms: r.time_ms,
            actor: r.actor.clone(),
            role: r.role,
            action: r.action,
            target: r.target.clone(),
            justification: r.justification.clone(),
            payload: base64::engine::general_purpose::STANDARD.encode(&r.payload),
            payload_hash: r.payload_hash,
            prev_hash: r.prev_hash,
            leaf_hash: r.leaf_hash(),
        }
    }
}

/// An RFC 6962 inclusion proof ([`InclusionProof`]); a client reads it
/// back and checks it with the core's type.
///
/// ```
/// use fleetgov::audit::InclusionProof;
/// use fleetgov_dto::InclusionProofJson;
/// let json: InclusionProofJson = serde_json::from_str(r#"{"leafIndex":0,"treeSize":1,"path":[]}"#).unwrap();
/// assert_eq!(InclusionProof::from(json), InclusionProof { leaf_index: 0, tree_size: 1, path: vec![] });
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProofJson {
    /// [`InclusionProof::leaf_index`].
    pub leaf_index: u64,
    /// [`InclusionProof::tree_size`].
    pub tree_size: u64,
    /// [`InclusionProof::path`].
    pub path: Vec<TreeHash>,
}

impl From<&InclusionProof> for InclusionProofJson {
    fn from(p: &InclusionProof) -> Self {
        InclusionProofJson { leaf_index: p.leaf_index, tree_size: p.tree_size, path: p.path.clone() }
    }
}

/// An RFC 6962 consistency proof ([`ConsistencyProof`]); a client reads it
/// back and checks it with the core's type.
///
/// ```
/// use fleetgov::audit::ConsistencyProof;
/// use fleetgov_dto::ConsistencyProofJson;
/// let p = ConsistencyProof { old_size: 1, new_size: 2, path: vec![] };
/// let json = serde_json::to_string(&ConsistencyProofJson::from(&p)).unwrap();
/// assert_eq!(json, r#"{"oldSize":1,"newSize":2,"path":[]}"#);
/// assert_eq!(ConsistencyProof::from(serde_json::from_str::<ConsistencyProofJson>(&json).unwrap()), p);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsistencyProofJson {
    /// [`ConsistencyProof::old_size`].
    pub old_size: u64,
    /// [`ConsistencyProof::new_size`].
    pub new_size: u64,
    /// [`ConsistencyProof::path`].
    pub path: Vec<TreeHash>,
}

impl From<&ConsistencyProof> for ConsistencyProofJson {
    fn from(p: &ConsistencyProof) -> Self {
        ConsistencyProofJson { old_size: p.old_size, new_size: p.new_size, path: p.path.clone() }
    }
}

impl From<InclusionProofJson> for InclusionProof {
    fn from(p: InclusionProofJson) -> Self {
        InclusionProof { leaf_index: p.leaf_index, tree_size: p.tree_size, path: p.path }
    }
}

impl From<ConsistencyProofJson> for ConsistencyProof {
    fn from(p: ConsistencyProofJson) -> Self {
        ConsistencyProof { old_size: p.old_size, new_size: p.new_size, path: p.path }
    }
}
