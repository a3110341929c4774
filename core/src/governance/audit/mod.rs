//! The verifiable, crash-safe audit log.
//!
//! Every authority change and every override is recorded as an
//! [`AuditRecord`]: sequence number, time, actor, role, action, target,
//! justification, an opaque payload (the engine's JSON description of the
//! change, enough to replay the authority state) and two hashes: the
//! payload's, and the previous record's leaf hash (a hash chain).
//!
//! Record entries (their canonical encodings) are the leaves of an RFC 6962
//! / RFC 9162 Merkle tree hashed with SHA-256 ([`Rfc6962`]). From it the log
//! gives:
//!
//! - [`InclusionProof`]: record *n* is in the log of size *s*;
//! - [`ConsistencyProof`]: the log of size *s₁* is a prefix of the log of
//!   size *s₂* (nothing was rewritten, only appended);
//! - signed [`Checkpoint`]s: size and root signed with the owner's ed25519
//!   key in the C2SP signed-note format, so a third party holding only the
//!   [`CheckpointVerifier`] can check proofs ([`verify_inclusion`],
//!   [`verify_consistency`] are free functions that need nothing else);
//! - [`verify_records`] and [`verify_file`], which check a whole log and name
//!   the first bad record.
//!
//! [`AuditLog::open`] keeps the log in a file: framed records with
//! checksums, fsync before an append is acknowledged (group commit for
//! concurrent appenders), recovery that cuts a torn tail and refuses
//! corruption, and a failed write or fsync that stops all further appends.
//! The file layout is specified in [`format`](mod@format).
//!
//! ```
//! use fleetgov::audit::{AuditAction, AuditEntry, AuditLog, Checkpoint, CheckpointSigner};
//! use fleetgov::Role;
//!
//! let owner_key = CheckpointSigner::generate("fleetgov.example/audit").unwrap();
//! let log = AuditLog::in_memory();
//! log.append(AuditEntry::new(1_000, "alice", Role::Operator, AuditAction::Publish, "eks-prod-us")).unwrap();
//! let forced = log.append(
//!     AuditEntry::new(2_000, "bob", Role::Operator, AuditAction::ForceSyncNode, "gw-7")
//!         .justification("Node re-provisioning after hardware failure"),
//! ).unwrap();
//!
//! // What the owner publishes: a signed checkpoint, and proofs on request.
//! let note = log.checkpoint(&owner_key).unwrap();
//! let proof = log.inclusion_proof(forced.seq, log.size()).unwrap();
//!
//! // What an auditor does with only the public key.
//! let checkpoint = Checkpoint::open(&note, &owner_key.verifier()).unwrap();
//! assert_eq!(proof.tree_size, checkpoint.size);
//! proof.verify(&forced.leaf_hash(), &checkpoint.head()).unwrap();
//! ```

mod bundle;
mod checkpoint;
mod dsse;
mod file;
mod frame;
mod hasher;
mod log;
mod merkle;
mod note;
mod proof;
mod query;
mod record;
mod store;
mod tiles;
mod verify;

#[doc = include_str!("../../../../docs/audit-format.md")]
pub mod format {}

pub use bundle::TlogProof;
pub use checkpoint::Checkpoint;
pub use dsse::{DSSE_MEDIA_TYPE, open_envelope, pae, sign_envelope};
pub use file::{FileVerification, verify_file, verify_file_against};
pub use hasher::{Rfc6962, TreeHash, TreeHasher};
pub use log::AuditLog;
pub(crate) use log::Contention;
pub use merkle::MerkleTree;
pub use note::{CheckpointSigner, CheckpointVerifier};
pub use proof::{ConsistencyProof, InclusionProof, verify_consistency, verify_inclusion};
pub use query::{AUDIT_PAGE_MAX, AUDIT_SCAN_MAX, AuditQuery, AuditQueryPage};
pub use record::{
    AuditAction, AuditEntry, AuditRecord, MAX_ACTOR_LEN, MAX_ENTRY_LEN, MAX_JUSTIFICATION_LEN, MAX_PAYLOAD_LEN,
    MAX_TARGET_LEN,
};
pub use store::{AuditStore, Write};
pub use tiles::{TILE_WIDTH, Tile, TileKind, verify_tiles};
pub use verify::{TreeHead, verify_records};
