//! The audit record that seals a journal segment (`seal_journal`): its
//! transition count, time range and the blake3 hash of its bytes, so every
//! signed checkpoint after it commits to the execution history before it.
//! The data directory's writer seals its segment files with it, and
//! [`Engine::record_journal_segment`](crate::Engine::record_journal_segment)
//! seals segments kept elsewhere (a partition's journal in JetStream).

use crate::authority::event::AuthorityEvent;
use crate::governance::audit::{AuditAction, AuditEntry};
use crate::hash::ContentHash;
use crate::role::Role;

/// A segment to seal: entries `first..first + count` of its journal, from
/// `from_ms` to `to_ms`, held in `bytes`.
pub(crate) struct SealedSegment<'a> {
    pub(crate) first: u64,
    pub(crate) count: u64,
    pub(crate) span: (u64, u64),
    pub(crate) bytes: &'a [u8],
}

/// The `seal_journal` entry of `segment` at `now_ms`, on `target`, written
/// by the system actor.
pub(crate) fn seal_entry(now_ms: u64, target: String, segment: &SealedSegment<'_>) -> AuditEntry {
    let (from_ms, to_ms) = segment.span;
    let event = AuthorityEvent::JournalSegment {
        first: segment.first,
        count: segment.count,
        from_ms,
        to_ms,
        hash: ContentHash::of(segment.bytes),
    };
    AuditEntry::new(now_ms, crate::SYSTEM_ACTOR, Role::Admin, AuditAction::SealJournal, target)
        .payload(event.encode(&[]))
}
