//! Attestations: what every node of a cluster ran at one moment, as an
//! in-toto Statement v1 in a DSSE envelope signed with the audit log's key.
//!
//! The statement (its JSON keys in this order, no whitespace):
//!
//! ```json
//! {"_type":"https://in-toto.io/Statement/v1",
//!  "subject":[{"name":"<cluster>/<node>","digest":{"blake3":"<applied hash, hex>"}}, ...],
//!  "predicateType":"https://fleetgov.dev/attestation/v1",
//!  "predicate":{"cluster":"<cluster>","t":<unix ms>,
//!               "desired":{"snapshot":"<cluster>@r<n>","hash":"<blake3 hex>"} | null,
//!               "checkpoint":{"origin":"<log origin>","size":<records>,"root":"<base64 SHA-256 root>"}}}
//! ```
//!
//! One subject per node that had applied something at `t`, in node-id order.
//! The envelope is [`sign_envelope`](crate::governance::audit::sign_envelope)'s with
//! payload type `application/vnd.in-toto+json`. docs/attestation.md is the
//! full description.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::execution::history::AppliedAt;
use crate::governance::audit::{
    CheckpointSigner, CheckpointVerifier, TreeHash, TreeHead, open_envelope, sign_envelope,
};
use crate::hash::ContentHash;

/// The `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The `predicateType` of a fleetgov attestation.
pub const PREDICATE_TYPE: &str = "https://fleetgov.dev/attestation/v1";
/// The DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The snapshot a cluster should have run at the attested moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredSnapshot {
    /// Its id, `<cluster>@r<revision>`.
    pub snapshot: String,
    /// `blake3` of its bytes.
    pub hash: ContentHash,
}

/// What a verified attestation states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestedFleet {
    /// The cluster.
    pub cluster: String,
    /// The moment (unix ms).
    pub at_ms: u64,
    /// Each node that had applied something, with the hash it reported, by node id.
    pub nodes: Vec<(String, ContentHash)>,
    /// The snapshot the cluster should have run (`None`: nothing published yet).
    pub desired: Option<DesiredSnapshot>,
    /// The audit log's origin (the checkpoint key's name).
    pub origin: String,
    /// The audit log as it stood at the moment.
    pub checkpoint: TreeHead,
}

/// A signed statement of what every node of a cluster ran at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attestation {
    /// The cluster.
    pub cluster: String,
    /// The moment (unix ms).
    pub at_ms: u64,
    /// What each node ran then, by node id (nodes with nothing applied are left out).
    pub nodes: Vec<AppliedAt>,
    /// The snapshot the cluster should have run then.
    pub desired: Option<DesiredSnapshot>,
    /// The audit log as it stood then (records stamped at or before the moment).
    pub checkpoint: TreeHead,
    /// The DSSE envelope (JSON) of the in-toto statement: what a third party checks.
    pub envelope: String,
}

impl Attestation {
    /// Checks the envelope with `verifier` and that its statement states
    /// this attestation's cluster, moment, nodes and hashes, desired
    /// snapshot and checkpoint. `AuditTampered` otherwise. (A node's
    /// snapshot id and `since_ms` are not part of the statement.)
    ///
    /// ```
    /// let t = 1_700_000_000_000;
    /// let e = fleetgov::demo::engine(t).unwrap();
    /// let a = e.attest("eks-prod-us", t).unwrap();
    /// a.verify(&e.checkpoint_verifier().unwrap()).unwrap();
    /// ```
    pub fn verify(&self, verifier: &CheckpointVerifier) -> Result<()> {
        let stated = verify_attestation(&self.envelope, verifier)?;
        let nodes = self.nodes.iter().map(|n| n.hash.map(|h| (n.node.clone(), h))).collect::<Option<Vec<_>>>();
        stated.check(&self.cluster, self.at_ms, &nodes.ok_or_else(tampered)?)?;
        if stated.desired != self.desired || stated.checkpoint != self.checkpoint {
            return Err(tampered());
        }
        Ok(())
    }
}

impl AttestedFleet {
    /// Checks that this states `cluster` at `at_ms` with exactly `nodes`
    /// (ids and hashes, in order). `AuditTampered` otherwise.
    pub fn check(&self, cluster: &str, at_ms: u64, nodes: &[(String, ContentHash)]) -> Result<()> {
        if self.cluster != cluster || self.at_ms != at_ms || self.nodes != nodes {
            return Err(tampered());
        }
        Ok(())
    }
}

fn tampered() -> Error {
    Error::new(ErrorKind::AuditTampered, "attestation does not match its signed statement")
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Statement {
    #[serde(rename = "_type")]
    kind: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: Predicate,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Subject {
    name: String,
    digest: Digest,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Digest {
    blake3: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Predicate {
    cluster: String,
    t: u64,
    desired: Option<Desired>,
    checkpoint: StatedCheckpoint,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Desired {
    snapshot: String,
    hash: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatedCheckpoint {
    origin: String,
    size: u64,
    root: String,
}

/// Builds and signs the attestation of `nodes` (each with a hash).
pub(crate) fn attest(
    signer: &CheckpointSigner,
    cluster: &str,
    at_ms: u64,
    nodes: Vec<AppliedAt>,
    desired: Option<DesiredSnapshot>,
    checkpoint: TreeHead,
) -> Result<Attestation> {
    let subject = nodes
        .iter()
        .map(|n| {
            let hash = n.hash.ok_or_else(|| Error::invalid(format!("node '{}' has no hash to attest", n.node)))?;
            Ok(Subject { name: format!("{cluster}/{}", n.node), digest: Digest { blake3: hash.to_string() } })
        })
        .collect::<Result<Vec<_>>>()?;
    let statement = Statement {
        kind: STATEMENT_TYPE.to_owned(),
        subject,
        predicate_type: PREDICATE_TYPE.to_owned(),
        predicate: Predicate {
            cluster: cluster.to_owned(),
            t: at_ms,
            desired: desired.as_ref().map(|d| Desired { snapshot: d.snapshot.clone(), hash: d.hash.to_string() }),
            checkpoint: StatedCheckpoint {
                origin: signer.name().to_owned(),
                size: checkpoint.size,
                root: BASE64.encode(checkpoint.root.as_bytes()),
            },
        },
    };
    let body = serde_json::to_vec(&statement).map_err(|e| Error::invalid(format!("statement: {e}")))?;
    let envelope = sign_envelope(signer, IN_TOTO_PAYLOAD_TYPE, &body)?;
    Ok(Attestation { cluster: cluster.to_owned(), at_ms, nodes, desired, checkpoint, envelope })
}

/// Checks an attestation's DSSE `envelope` with `verifier` alone and
/// returns what its statement states.
///
/// Malformed envelopes or statements (another `_type` or `predicateType`,
/// a subject outside the cluster, a digest that is not a blake3 hash, a
/// checkpoint of a log other than the key's own) are
/// [`InvalidInput`](ErrorKind::InvalidInput); a signature that is missing
/// or does not verify is [`AuditTampered`](ErrorKind::AuditTampered).
///
/// ```
/// let t = 1_700_000_000_000;
/// let e = fleetgov::demo::engine(t).unwrap();
/// let a = e.attest("gke-stage-eu", t).unwrap();
/// let stated = fleetgov::verify_attestation(&a.envelope, &e.checkpoint_verifier().unwrap()).unwrap();
/// assert_eq!((stated.cluster.as_str(), stated.nodes.len()), ("gke-stage-eu", 4));
/// ```
pub fn verify_attestation(envelope: &str, verifier: &CheckpointVerifier) -> Result<AttestedFleet> {
    let body = open_envelope(envelope, IN_TOTO_PAYLOAD_TYPE, verifier)?;
    let bad = |why: String| Error::invalid(format!("not a fleetgov attestation: {why}"));
    let s: Statement = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
    if s.kind != STATEMENT_TYPE || s.predicate_type != PREDICATE_TYPE {
        return Err(bad(format!("statement {:?} of predicate {:?}", s.kind, s.predicate_type)));
    }
    let p = s.predicate;
    if p.checkpoint.origin != verifier.name() {
        return Err(bad(format!("the checkpoint of log {:?}, not of this key's", p.checkpoint.origin)));
    }
    let prefix = format!("{}/", p.cluster);
    let nodes = s
        .subject
        .into_iter()
        .map(|sub| {
            let node = sub.name.strip_prefix(&prefix).ok_or_else(|| bad(format!("subject {:?}", sub.name)))?;
            let hash =
                ContentHash::from_hex(&sub.digest.blake3).map_err(|_| bad(format!("digest of {:?}", sub.name)))?;
            Ok((node.to_owned(), hash))
        })
        .collect::<Result<Vec<_>>>()?;
    let desired = p
        .desired
        .map(|d| {
            let hash = ContentHash::from_hex(&d.hash).map_err(|_| bad("desired hash".into()))?;
            Ok::<_, Error>(DesiredSnapshot { snapshot: d.snapshot, hash })
        })
        .transpose()?;
    let root = BASE64
        .decode(&p.checkpoint.root)
        .ok()
        .and_then(|raw| <[u8; 32]>::try_from(raw).ok())
        .map(TreeHash)
        .ok_or_else(|| bad("the checkpoint root is not base64 of 32 bytes".into()))?;
    Ok(AttestedFleet {
        cluster: p.cluster,
        at_ms: p.t,
        nodes,
        desired,
        origin: p.checkpoint.origin,
        checkpoint: TreeHead { size: p.checkpoint.size, root },
    })
}

impl Engine {
    /// A signed attestation of what `cluster` ran at `t_ms`: each node that
    /// had applied something, with its hash; the snapshot desired then (the
    /// last revision published at or before `t_ms`); the audit log as it
    /// stood then. The same `(cluster, t_ms)` gives the same envelope, byte
    /// for byte, while the journal covering `t_ms` is retained (see the
    /// module's notes on sealing). Times are checked as by
    /// [`what_ran`](Engine::what_ran): nothing is signed about the future.
    pub fn attest(&self, cluster: &str, t_ms: u64) -> Result<Attestation> {
        let state = self.cluster_state(cluster)?;
        let nodes: Vec<AppliedAt> = self.fleet_at(cluster, t_ms)?.into_iter().filter(|n| n.hash.is_some()).collect();
        let desired = (1..=state.authority.latest())
            .rev()
            .filter_map(|r| state.authority.snapshot(r))
            .find(|s| s.published_at_ms <= t_ms)
            .map(|s| DesiredSnapshot { snapshot: s.id.clone(), hash: s.hash });
        let checkpoint = self.governance.audit().head_at(t_ms)?;
        attest(self.signer()?, cluster, t_ms, nodes, desired, checkpoint)
    }
}
