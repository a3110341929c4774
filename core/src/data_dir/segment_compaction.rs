//! Journal compaction on disk: the sealed segments wholly older than the
//! retention horizon are replaced by one file of bases.
//!
//! A compaction up to position `C` (the end of a run of sealed segments whose
//! transitions are all before the horizon), in this order, each step durable
//! before the next:
//! 1. `journal/<C>.base`: each node's last transition before `C` (written
//!    to a temporary file, fsynced, renamed);
//! 2. an audit record (`compact_journal`) naming `C`, how many transitions
//!    were dropped, their time range, the number of bases and the base
//!    file's blake3 hash;
//! 3. the in-memory journal drops the positions below `C` (keeping the
//!    bases), and the segment files before `C` and any older base file are
//!    deleted.
//!
//! A crash before step 2 leaves a base file no record names: reopening
//! deletes it and the segments are still whole. A crash after it leaves
//! segments the record has dropped: reopening deletes them. Either way the
//! reopened journal is the bases followed by the segments from `C` on, and
//! every answer within the horizon is unchanged.

use std::fs;
use std::path::{Path, PathBuf};

use super::journal_files::{PER_FRAME, StoredTransition, push_frame};
use super::writer::Job;
use super::{frames, io, sync_dir, write_durably};
use crate::authority::event::AuthorityEvent;
use crate::error::{Error, ErrorKind, Result};
use crate::governance::audit::{AuditAction, AuditEntry, AuditLog};
use crate::hash::ContentHash;
use crate::role::Role;

/// The last compaction, as its audit record names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Compacted {
    /// Positions below this one were dropped.
    pub(crate) first: u64,
    /// Bases in the base file.
    pub(crate) bases: u64,
    /// The base file's blake3 hash.
    pub(crate) hash: ContentHash,
    /// The audit record's sequence number.
    pub(crate) seq: u64,
}

pub(crate) fn base_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:010}.base"))
}

/// The last compaction recorded in `audit`, if any.
pub(crate) fn last(audit: &AuditLog) -> Result<Option<Compacted>> {
    let records = audit.records();
    let Some(record) = records.iter().rev().find(|r| r.action == AuditAction::CompactJournal) else {
        return Ok(None);
    };
    match AuthorityEvent::decode(&record.payload)?.0 {
        AuthorityEvent::JournalCompaction { first, bases, hash, .. } => {
            Ok(Some(Compacted { first, bases, hash, seq: record.seq }))
        }
        _ => Err(Error::new(
            ErrorKind::AuditTampered,
            format!("audit record {} names a journal compaction it does not describe", record.seq),
        )),
    }
}

/// Reads and checks the base file of `compacted`: its bases, in slot order.
pub(crate) fn read_bases(dir: &Path, compacted: &Compacted) -> Result<Vec<StoredTransition>> {
    let path = base_path(dir, compacted.first);
    let bad = |why: &str| {
        Error::new(
            ErrorKind::AuditTampered,
            format!("journal base file {} (named by audit record {}) {why}", path.display(), compacted.seq),
        )
    };
    let bytes = fs::read(&path).map_err(|_| bad("is missing"))?;
    if ContentHash::of(&bytes) != compacted.hash {
        return Err(bad("does not match its record"));
    }
    let (bodies, _) = frames::read(&bytes, &format!("journal base file {}", path.display()))?;
    let mut bases = Vec::new();
    for mut body in bodies {
        while !body.is_empty() {
            bases.push(StoredTransition::decode(&mut body).ok_or_else(|| bad("holds a base that does not decode"))?);
        }
    }
    if bases.len() as u64 != compacted.bases {
        return Err(bad("holds another number of bases than its record says"));
    }
    Ok(bases)
}

/// Finishes a compaction a crash interrupted: deletes the segments before
/// `first`, every base file but `first`'s, and temporary files.
pub(crate) fn remove_compacted(dir: &Path, first: u64) -> Result<()> {
    let mut removed = false;
    for entry in fs::read_dir(dir).map_err(|e| io(dir, "list", &e))?.filter_map(|e| e.ok()) {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((stem, ext)) = name.split_once('.') else { continue };
        let Ok(at) = stem.parse::<u64>() else { continue };
        let stale = match ext {
            "seg" => at < first,
            "base" => at != first,
            "tmp" => true,
            _ => false,
        };
        if stale {
            let path = entry.path();
            fs::remove_file(&path).map_err(|e| io(&path, "remove", &e))?;
            removed = true;
        }
    }
    if removed { sync_dir(&base_path(dir, first)) } else { Ok(()) }
}

/// Journal files (segments and base files) in `dir`.
pub(crate) fn files(dir: &Path) -> u64 {
    fs::read_dir(dir).map_or(0, |d| {
        d.filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_str().is_some_and(|n| n.ends_with(".seg") || n.ends_with(".base")))
            .count() as u64
    })
}

/// A sealed segment, as its audit record names it.
struct Sealed {
    first: u64,
    count: u64,
    from_ms: u64,
    to_ms: u64,
}

impl Job {
    /// Compacts the sealed segments wholly before the retention horizon
    /// (see the module's notes), if there are any.
    pub(crate) fn compact(&mut self) -> Result<()> {
        let horizon = self.clock.now_ms().saturating_sub(self.retention_ms);
        let mut sealed: Vec<Sealed> = self
            .audit
            .records()
            .iter()
            .filter(|r| r.action == AuditAction::SealJournal)
            .filter_map(|r| match AuthorityEvent::decode(&r.payload).ok()?.0 {
                AuthorityEvent::JournalSegment { first, count, from_ms, to_ms, .. } => {
                    Some(Sealed { first, count, from_ms, to_ms })
                }
                _ => None,
            })
            .filter(|s| s.first >= self.first)
            .collect();
        sealed.sort_unstable_by_key(|s| s.first);
        let (mut end, mut span) = (self.first, None::<(u64, u64)>);
        for s in sealed.iter().take_while(|s| s.to_ms < horizon) {
            if s.first != end {
                break;
            }
            end = s.first + s.count;
            span = Some(span.map_or((s.from_ms, s.to_ms), |(a, b)| (a.min(s.from_ms), b.max(s.to_ms))));
        }
        let (Some((from_ms, to_ms)), Ok(cut)) = (span, u32::try_from(end)) else { return Ok(()) };

        let _one = self.source.compacting();
        let bases = self.source.bases_below(cut);
        let stored = self.source.stored_bases(&bases);
        let mut bytes = Vec::new();
        for frame in stored.chunks(PER_FRAME) {
            push_frame(&mut bytes, frame);
        }
        write_durably(&base_path(&self.journal_dir, end), &bytes, false)?;
        let event = AuthorityEvent::JournalCompaction {
            first: end,
            dropped: end - self.first,
            from_ms,
            to_ms,
            bases: stored.len() as u64,
            hash: ContentHash::of(&bytes),
        };
        let entry = AuditEntry::new(
            self.clock.now_ms(),
            crate::SYSTEM_ACTOR,
            Role::Admin,
            AuditAction::CompactJournal,
            format!("journal:{}..{end}", self.first),
        )
        .payload(event.encode(&[]));
        self.audit.append(entry)?;
        self.source.drop_below(bases);
        remove_compacted(&self.journal_dir, end)?;
        self.first = end;
        Ok(())
    }
}
