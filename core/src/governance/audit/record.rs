//! Audit records: what was done, by whom, why, and how it chains to the past.
//!
//! # Entries: the canonical encoding
//!
//! A record's *entry* is the canonical encoding below, and its leaf in the
//! Merkle tree is `SHA-256(0x00 || entry)` (RFC 6962). Integers are
//! big-endian; strings are UTF-8 preceded by their byte length. Every valid
//! record has exactly one encoding and [`AuditRecord::decode`] accepts
//! nothing else.
//!
//! ```text
//! u8        format version, 2
//! u64       seq             0-based, dense
//! u64       time_ms         unix milliseconds
//! u8        role            1 viewer, 2 operator, 3 admin
//! u8        action          AuditAction::code (1 publish ... 11 remove_node)
//! u16 + n   actor           1..=256 bytes
//! u16 + n   target          1..=256 bytes
//! u16 + n   justification   0..=4096 bytes
//! [32]      payload_hash    blake3(payload)
//! [32]      prev_hash       leaf hash of record seq-1; 32 zero bytes for seq 0
//! ```
//!
//! The payload itself (the change's description, with artifact bytes for a
//! publish) is not part of the entry, only its hash: an entry is at most
//! [`MAX_ENTRY_LEN`] bytes, so it fits a C2SP `tlog-tiles` entry bundle, and
//! a record can be proven to a third party without disclosing the payload.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::hasher::{Rfc6962, TreeHash, TreeHasher};
use crate::error::{Error, Result};
use crate::{ContentHash, Role};

/// The encoding version written in the first byte of every record. Version 1
/// (a blake3 tree) is no longer read.
const RECORD_VERSION: u8 = 2;
pub use crate::text::{MAX_ACTOR_LEN, MAX_JUSTIFICATION_LEN};
/// The longest target, in bytes.
pub const MAX_TARGET_LEN: usize = 256;
/// The largest payload, in bytes (16 MiB).
pub const MAX_PAYLOAD_LEN: usize = 16 << 20;
/// The longest canonical encoding of a record.
pub(crate) const MAX_RECORD_LEN: usize =
    1 + 8 + 8 + 1 + 1 + 3 * 2 + MAX_ACTOR_LEN + MAX_TARGET_LEN + MAX_JUSTIFICATION_LEN + 32 + 32;
/// The longest log entry (a record's canonical encoding) that a C2SP
/// `tlog-tiles` entry bundle can carry: its length is a big-endian `u16`.
/// Every record's entry is shorter.
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;
const _: () = assert!(MAX_RECORD_LEN <= MAX_ENTRY_LEN);

/// A governance action: what an audit record records.
///
/// ```
/// use fleetgov::audit::AuditAction;
/// assert_eq!(AuditAction::parse("force_sync_node").unwrap(), AuditAction::ForceSyncNode);
/// assert!(AuditAction::ForceSyncNode.is_override());
/// assert!(!AuditAction::Publish.is_override());
/// assert_eq!(serde_json::to_string(&AuditAction::GlobalOverwrite).unwrap(), "\"global_overwrite\"");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditAction {
    /// A snapshot was published: a cluster's authority changed.
    Publish,
    /// A workspace was created or changed (authority mode, minimum version, policies).
    UpsertWorkspace,
    /// A cluster was created or changed (environment, owner, auto-reconcile).
    UpsertCluster,
    /// One node was forced to resync (an override).
    ForceSyncNode,
    /// Every node of one cluster was forced to resync (an override).
    ForceSyncCluster,
    /// Every cluster of a workspace, or of the fleet, was forced to resync (an override).
    GlobalOverwrite,
    /// The engine answered a divergent node with a reconcile directive.
    AutoReconcile,
    /// An org- or workspace-scoped policy was created or changed.
    UpsertPolicy,
    /// An org- or workspace-scoped policy was removed.
    RemovePolicy,
    /// A segment of the execution journal was sealed: the record commits to
    /// its hash, transition count and time range (see the data directory).
    SealJournal,
    /// A node was removed from its cluster (its enrolment ended).
    RemoveNode,
    /// Sealed journal segments older than the retention horizon were
    /// dropped: the record names how many transitions, their time range,
    /// and the hash of the file of bases (each node's last transition
    /// before them) that replaces them.
    CompactJournal,
    /// A rollout changed (target `cluster:<id>`): a wave started, it
    /// halted, rolled back or completed, or an operator paused, resumed,
    /// aborted or promoted it (see [`crate::rollout`]).
    Rollout,
}

const ACTIONS: [AuditAction; 13] = [
    AuditAction::Publish,
    AuditAction::UpsertWorkspace,
    AuditAction::UpsertCluster,
    AuditAction::ForceSyncNode,
    AuditAction::ForceSyncCluster,
    AuditAction::GlobalOverwrite,
    AuditAction::AutoReconcile,
    AuditAction::UpsertPolicy,
    AuditAction::RemovePolicy,
    AuditAction::SealJournal,
    AuditAction::RemoveNode,
    AuditAction::CompactJournal,
    AuditAction::Rollout,
];

impl AuditAction {
    /// The snake_case name used in JSON and the bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Publish => "publish",
            AuditAction::UpsertWorkspace => "upsert_workspace",
            AuditAction::UpsertCluster => "upsert_cluster",
            AuditAction::ForceSyncNode => "force_sync_node",
            AuditAction::ForceSyncCluster => "force_sync_cluster",
            AuditAction::GlobalOverwrite => "global_overwrite",
            AuditAction::AutoReconcile => "auto_reconcile",
            AuditAction::UpsertPolicy => "upsert_policy",
            AuditAction::RemovePolicy => "remove_policy",
            AuditAction::SealJournal => "seal_journal",
            AuditAction::RemoveNode => "remove_node",
            AuditAction::CompactJournal => "compact_journal",
            AuditAction::Rollout => "rollout",
        }
    }

    /// The stable one-byte code of the canonical encoding (1 to 13).
    pub fn code(self) -> u8 {
        match self {
            AuditAction::Publish => 1,
            AuditAction::UpsertWorkspace => 2,
            AuditAction::UpsertCluster => 3,
            AuditAction::ForceSyncNode => 4,
            AuditAction::ForceSyncCluster => 5,
            AuditAction::GlobalOverwrite => 6,
            AuditAction::AutoReconcile => 7,
            AuditAction::UpsertPolicy => 8,
            AuditAction::RemovePolicy => 9,
            AuditAction::SealJournal => 10,
            AuditAction::RemoveNode => 11,
            AuditAction::CompactJournal => 12,
            AuditAction::Rollout => 13,
        }
    }

    /// The action with encoding `code`, if any.
    pub fn from_code(code: u8) -> Option<Self> {
        ACTIONS.into_iter().find(|a| a.code() == code)
    }

    /// Parses a snake_case name such as `force_sync_cluster`.
    pub fn parse(s: &str) -> Result<Self> {
        ACTIONS
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| Error::invalid(format!("{s:?} is not an audit action")))
    }

    /// Whether the action overrides the normal flow and so needs a non-blank
    /// justification: force sync of a node or a cluster, global overwrite.
    pub fn is_override(self) -> bool {
        matches!(self, AuditAction::ForceSyncNode | AuditAction::ForceSyncCluster | AuditAction::GlobalOverwrite)
    }

    /// Whether the action changes the authority (what should run): publish,
    /// workspace, cluster, policy and rollout changes. Replaying only these records
    /// rebuilds an engine's authority state.
    ///
    /// ```
    /// use fleetgov::audit::AuditAction;
    /// assert!(AuditAction::Publish.changes_authority());
    /// assert!(!AuditAction::AutoReconcile.changes_authority());
    /// ```
    pub fn changes_authority(self) -> bool {
        matches!(
            self,
            AuditAction::Publish
                | AuditAction::UpsertWorkspace
                | AuditAction::UpsertCluster
                | AuditAction::UpsertPolicy
                | AuditAction::RemovePolicy
                | AuditAction::Rollout
        )
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn role_code(role: Role) -> u8 {
    match role {
        Role::Viewer => 1,
        Role::Operator => 2,
        Role::Admin => 3,
    }
}

fn role_from_code(code: u8) -> Option<Role> {
    [Role::Viewer, Role::Operator, Role::Admin].into_iter().find(|r| role_code(*r) == code)
}

/// What a caller asks the log to record; the log adds sequence number and
/// hashes and returns an [`AuditRecord`].
///
/// ```
/// use fleetgov::audit::{AuditAction, AuditEntry};
/// use fleetgov::{ErrorKind, Role};
/// let e = AuditEntry::new(1_700_000_000_000, "alice", Role::Operator, AuditAction::ForceSyncNode, "gw-1");
/// assert_eq!(e.validate().unwrap_err().kind(), ErrorKind::JustificationRequired);
/// let e = e.justification("Node re-provisioning after hardware failure");
/// assert!(e.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// When it happened, unix milliseconds.
    pub time_ms: u64,
    /// Who did it (a user or service id).
    pub actor: String,
    /// The role the actor acted in.
    pub role: Role,
    /// What was done.
    pub action: AuditAction,
    /// What it was done to: a workspace, cluster or node id, or a scope such
    /// as a workspace for a global overwrite.
    pub target: String,
    /// Why; required (non-blank) for [overrides](AuditAction::is_override).
    pub justification: String,
    /// An opaque description of the change (the engine stores JSON from
    /// which reopening replays the authority state).
    pub payload: Vec<u8>,
}

impl AuditEntry {
    /// An entry with an empty justification and payload.
    pub fn new(
        time_ms: u64,
        actor: impl Into<String>,
        role: Role,
        action: AuditAction,
        target: impl Into<String>,
    ) -> Self {
        AuditEntry {
            time_ms,
            actor: actor.into(),
            role,
            action,
            target: target.into(),
            justification: String::new(),
            payload: Vec::new(),
        }
    }

    /// The same entry with `justification`.
    pub fn justification(mut self, justification: impl Into<String>) -> Self {
        self.justification = justification.into();
        self
    }

    /// The same entry with `payload`.
    pub fn payload(mut self, payload: impl Into<Vec<u8>>) -> Self {
        self.payload = payload.into();
        self
    }

    /// Checks the entry: actor and target visible text of at most 256 bytes
    /// free of control characters; justification at most 4096 bytes, free of
    /// control characters and, for overrides, holding visible text
    /// ([`JustificationRequired`](crate::ErrorKind::JustificationRequired) if not);
    /// payload at most 16 MiB. See [the free-text rules](crate::validate_justification).
    pub fn validate(&self) -> Result<()> {
        check_fields(self.action, &self.actor, &self.target, &self.justification, &self.payload)
    }
}

/// The rules of [`AuditEntry::validate`], shared with records read back:
/// actor and justification follow [the free-text rules](crate::validate_justification), the
/// target is a label of the same kind.
fn check_fields(action: AuditAction, actor: &str, target: &str, justification: &str, payload: &[u8]) -> Result<()> {
    crate::text::validate_actor("actor", actor)?;
    crate::text::check_label("target", target, MAX_TARGET_LEN)?;
    crate::text::validate_justification(justification, action.is_override()).map_err(|e| {
        if e.kind() == crate::ErrorKind::JustificationRequired {
            e.context(format_args!("{action} of {target:?}"))
        } else {
            e
        }
    })?;
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(Error::invalid(format!("payload is larger than {MAX_PAYLOAD_LEN} bytes")));
    }
    Ok(())
}

/// One immutable record of the audit log.
///
/// Its serde form carries the payload in base64 and the hashes in hex, so
/// an exported log can be checked with [`verify_records`](super::verify_records).
///
/// ```
/// use fleetgov::audit::{AuditAction, AuditEntry, AuditLog, AuditRecord};
/// use fleetgov::Role;
/// let log = AuditLog::in_memory();
/// let r = log.append(AuditEntry::new(5, "alice", Role::Admin, AuditAction::Publish, "eks-prod-us")
///     .payload(&b"{\"revision\":1}"[..])).unwrap();
/// assert_eq!(r.seq, 0);
/// let bytes = r.encode();
/// assert_eq!(AuditRecord::decode(&bytes, r.payload.clone()).unwrap(), *r);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the log, from 0, without gaps.
    pub seq: u64,
    /// When it happened, unix milliseconds.
    pub time_ms: u64,
    /// Who did it.
    pub actor: String,
    /// The role the actor acted in.
    pub role: Role,
    /// What was done.
    pub action: AuditAction,
    /// What it was done to.
    pub target: String,
    /// Why (empty only for actions that are not overrides).
    pub justification: String,
    /// The opaque description of the change.
    #[serde(serialize_with = "payload_to_base64", deserialize_with = "payload_from_base64")]
    pub payload: Vec<u8>,
    /// `blake3(payload)`.
    pub payload_hash: ContentHash,
    /// The leaf hash of record `seq - 1` (all zero for record 0): the hash chain.
    pub prev_hash: TreeHash,
}

impl AuditRecord {
    /// The record that `entry` becomes at position `seq` after a record whose
    /// leaf hash is `prev_hash`.
    pub(crate) fn chain(entry: AuditEntry, seq: u64, prev_hash: TreeHash) -> Self {
        AuditRecord {
            seq,
            time_ms: entry.time_ms,
            payload_hash: ContentHash::of(&entry.payload),
            actor: entry.actor,
            role: entry.role,
            action: entry.action,
            target: entry.target,
            justification: entry.justification,
            payload: entry.payload,
            prev_hash,
        }
    }

    /// Checks the record against the rules every appended entry obeys
    /// ([`AuditEntry::validate`]).
    pub fn validate(&self) -> Result<()> {
        check_fields(self.action, &self.actor, &self.target, &self.justification, &self.payload)
    }

    /// The canonical encoding: the record's log entry, which its leaf hash,
    /// the tiles and the proofs are over (see [the format](mod@crate::governance::audit::format)).
    /// The payload is represented by its hash only. Defined for records that pass
    /// [`validate`](Self::validate), as every record of a log does.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            1 + 8 + 8 + 2 + 6 + self.actor.len() + self.target.len() + self.justification.len() + 64,
        );
        self.encode_into(&mut out);
        out
    }

    /// Appends the canonical encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(RECORD_VERSION);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        out.push(role_code(self.role));
        out.push(self.action.code());
        for s in [&self.actor, &self.target, &self.justification] {
            // Lengths were validated on append (at most 4096) or on decode.
            out.extend_from_slice(&(s.len() as u16).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        out.extend_from_slice(self.payload_hash.as_bytes());
        out.extend_from_slice(&self.prev_hash.0);
    }

    /// Decodes a canonical encoding, with the `payload` stored beside it.
    ///
    /// Anything that is not exactly one valid encoding (truncated, trailing
    /// bytes, unknown version, role or action, over-long or non-UTF-8
    /// strings) is [`InvalidInput`](crate::ErrorKind::InvalidInput). The payload is
    /// not checked against its hash here; [`verify_records`](super::verify_records) does that.
    pub fn decode(bytes: &[u8], payload: Vec<u8>) -> Result<Self> {
        let mut r = Reader { bytes, pos: 0 };
        let version = r.u8()?;
        if version == 1 {
            return Err(Error::invalid(
                "record format version 1 (a blake3 audit tree) is no longer supported: this fleetgov reads \
                 version 2 (an RFC 6962 SHA-256 tree) only; start a new audit log",
            ));
        }
        if version != RECORD_VERSION {
            return Err(Error::invalid(format!("record format version {version} is not {RECORD_VERSION}")));
        }
        let seq = r.u64()?;
        let time_ms = r.u64()?;
        let role_byte = r.u8()?;
        let role = role_from_code(role_byte).ok_or_else(|| Error::invalid(format!("unknown role code {role_byte}")))?;
        let action_byte = r.u8()?;
        let action = AuditAction::from_code(action_byte)
            .ok_or_else(|| Error::invalid(format!("unknown action code {action_byte}")))?;
        let actor = r.string("actor", MAX_ACTOR_LEN)?;
        let target = r.string("target", MAX_TARGET_LEN)?;
        let justification = r.string("justification", MAX_JUSTIFICATION_LEN)?;
        let payload_hash = ContentHash(r.array()?);
        let prev_hash = TreeHash(r.array()?);
        if r.pos != bytes.len() {
            return Err(Error::invalid(format!("{} bytes after the end of the record", bytes.len() - r.pos)));
        }
        Ok(AuditRecord { seq, time_ms, actor, role, action, target, justification, payload, payload_hash, prev_hash })
    }

    /// The record's leaf hash in the audit tree: `SHA-256(0x00 || encode())`.
    pub fn leaf_hash(&self) -> TreeHash {
        Rfc6962::leaf(&self.encode())
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| Error::invalid("record is truncated"))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u64(&mut self) -> Result<u64> {
        self.array().map(u64::from_be_bytes)
    }

    fn string(&mut self, what: &str, max: usize) -> Result<String> {
        let len = usize::from(u16::from_be_bytes(self.array()?));
        if len > max {
            return Err(Error::invalid(format!("{what} is {len} bytes, more than {max}")));
        }
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::invalid(format!("{what} is not UTF-8")))
    }
}

fn payload_to_base64<S: Serializer>(payload: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    use base64::Engine as _;
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(payload))
}

fn payload_from_base64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<u8>, D::Error> {
    use base64::Engine as _;
    let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    base64::engine::general_purpose::STANDARD.decode(text.as_bytes()).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn sample() -> AuditRecord {
        let entry = AuditEntry::new(
            1_700_000_000_123,
            "alice@example.com",
            Role::Operator,
            AuditAction::ForceSyncCluster,
            "gke-stage-eu",
        )
        .justification("Rollback due to failed deployment")
        .payload(&b"{\"cluster\":\"gke-stage-eu\"}"[..]);
        AuditRecord::chain(entry, 41, TreeHash([9; 32]))
    }

    #[test]
    fn encoding_has_the_documented_layout() {
        let r = sample();
        let b = r.encode();
        assert_eq!(b[0], 2);
        assert_eq!(&b[1..9], &41u64.to_be_bytes());
        assert_eq!(&b[9..17], &1_700_000_000_123u64.to_be_bytes());
        assert_eq!(b[17], 2, "operator");
        assert_eq!(b[18], 5, "force_sync_cluster");
        assert_eq!(&b[19..21], &17u16.to_be_bytes());
        assert_eq!(&b[21..38], b"alice@example.com");
        assert_eq!(&b[b.len() - 64..b.len() - 32], ContentHash::of(&r.payload).as_bytes());
        assert_eq!(&b[b.len() - 32..], &[9; 32]);
        assert_eq!(b.len(), 1 + 8 + 8 + 1 + 1 + 2 + 17 + 2 + 12 + 2 + 33 + 32 + 32);
    }

    #[test]
    fn decode_inverts_encode_and_rejects_anything_else() {
        let r = sample();
        let b = r.encode();
        assert_eq!(AuditRecord::decode(&b, r.payload.clone()).unwrap(), r);
        for cut in 0..b.len() {
            assert_eq!(AuditRecord::decode(&b[..cut], vec![]).unwrap_err().kind(), ErrorKind::InvalidInput);
        }
        let mut longer = b.clone();
        longer.push(0);
        assert!(AuditRecord::decode(&longer, vec![]).is_err());
        for (at, value) in [(0, 3u8), (17, 0), (17, 4), (18, 0), (18, 14)] {
            let mut bad = b.clone();
            bad[at] = value;
            assert!(AuditRecord::decode(&bad, vec![]).is_err(), "byte {at} = {value}");
        }
        let mut bad_utf8 = b.clone();
        bad_utf8[21] = 0xff;
        assert!(AuditRecord::decode(&bad_utf8, vec![]).is_err());
    }

    #[test]
    fn a_version_1_record_is_refused_with_a_clear_message() {
        let mut v1 = sample().encode();
        v1[0] = 1;
        let e = AuditRecord::decode(&v1, vec![]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains("version 1 (a blake3 audit tree) is no longer supported"), "{e}");
    }

    #[test]
    fn the_longest_entry_fits_a_tile_entry_bundle() {
        let entry = AuditEntry::new(
            u64::MAX,
            "a".repeat(MAX_ACTOR_LEN),
            Role::Admin,
            AuditAction::GlobalOverwrite,
            "t".repeat(MAX_TARGET_LEN),
        )
        .justification("j".repeat(MAX_JUSTIFICATION_LEN))
        .payload(vec![7; 1 << 20]);
        entry.validate().unwrap();
        let record = AuditRecord::chain(entry, u64::MAX, TreeHash([1; 32]));
        assert_eq!(record.encode().len(), MAX_RECORD_LEN);
        assert!(record.encode().len() <= MAX_ENTRY_LEN);
    }

    #[test]
    fn action_codes_and_names_are_stable_and_distinct() {
        for (i, a) in ACTIONS.into_iter().enumerate() {
            assert_eq!(usize::from(a.code()), i + 1);
            assert_eq!(AuditAction::from_code(a.code()), Some(a));
            assert_eq!(AuditAction::parse(a.as_str()).unwrap(), a);
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{a}\""));
        }
        assert_eq!(AuditAction::from_code(0), None);
        assert_eq!(AuditAction::from_code(14), None);
        assert!(AuditAction::parse("Publish").is_err());
    }

    #[test]
    fn entry_rules() {
        let ok = AuditEntry::new(1, "alice", Role::Admin, AuditAction::Publish, "c");
        ok.validate().unwrap();
        let bad = [
            (ok.clone().payload(vec![0; MAX_PAYLOAD_LEN + 1]), ErrorKind::InvalidInput),
            (AuditEntry { actor: " ".into(), ..ok.clone() }, ErrorKind::InvalidInput),
            (AuditEntry { target: "".into(), ..ok.clone() }, ErrorKind::InvalidInput),
            (AuditEntry { actor: "a".repeat(MAX_ACTOR_LEN + 1), ..ok.clone() }, ErrorKind::InvalidInput),
            (AuditEntry { target: "a\nb".into(), ..ok.clone() }, ErrorKind::InvalidInput),
            (ok.clone().justification("x".repeat(MAX_JUSTIFICATION_LEN + 1)), ErrorKind::InvalidInput),
            (AuditEntry { action: AuditAction::GlobalOverwrite, ..ok.clone() }, ErrorKind::JustificationRequired),
            (
                AuditEntry { action: AuditAction::ForceSyncNode, ..ok.clone() }.justification(" \u{3000}\u{200b}"),
                ErrorKind::JustificationRequired,
            ),
            (
                AuditEntry { action: AuditAction::ForceSyncNode, ..ok.clone() }.justification("a\tb"),
                ErrorKind::InvalidInput,
            ),
            (ok.clone().justification("line1\nline2\0"), ErrorKind::InvalidInput),
        ];
        for (entry, kind) in bad {
            assert_eq!(entry.validate().unwrap_err().kind(), kind, "{entry:?}");
        }
        ok.clone().justification("x".repeat(MAX_JUSTIFICATION_LEN)).validate().unwrap();
    }

    #[test]
    fn json_round_trip() {
        let r = sample();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["action"], "force_sync_cluster");
        assert_eq!(json["role"], "operator");
        assert_eq!(json["payload"], "eyJjbHVzdGVyIjoiZ2tlLXN0YWdlLWV1In0=");
        assert_eq!(json["prev_hash"], "09".repeat(32));
        assert_eq!(serde_json::from_value::<AuditRecord>(json).unwrap(), r);
    }
}
