//! Journal segments on disk: `journal/<first entry, 10 digits>.seg`, each a
//! run of frames holding consecutive transitions of the in-memory journal
//! (slot, time, revision, hash), in journal order. The name says where the
//! segment starts, so the segments read in name order are the journal.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{frames, io};
use crate::error::{Error, ErrorKind, Result};
use crate::execution::journal::{HashRef, Journal, Transition};
use crate::hash::ContentHash;

/// The hash a stored transition names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoredHash {
    None,
    /// Its snapshot's own hash.
    Verified,
    /// A hash that matched no snapshot.
    Odd(ContentHash),
    /// A hash that matched no snapshot, not kept (see [`crate::execution::unmatched`]).
    Withheld,
}

/// One transition as a segment stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StoredTransition {
    pub(crate) slot: u32,
    pub(crate) at_ms: u64,
    pub(crate) revision: u32,
    pub(crate) hash: StoredHash,
}

/// Transitions per frame at most (a frame body stays under 64 KiB).
pub(crate) const PER_FRAME: usize = 1_024;

impl StoredHash {
    /// The journal's reference for this hash; an odd hash is stored in the
    /// journal's side table (withheld when the table is full).
    pub(crate) fn into_ref(self, journal: &Journal) -> HashRef {
        match self {
            StoredHash::None => HashRef::None,
            StoredHash::Verified => HashRef::Verified,
            StoredHash::Withheld => HashRef::Withheld,
            StoredHash::Odd(h) => journal.push_odd(h).unwrap_or(HashRef::Withheld),
        }
    }
}

impl StoredTransition {
    /// Transition `t` of the node in `slot`, as stored (an odd hash by value).
    pub(crate) fn of(journal: &Journal, slot: u32, t: Transition) -> StoredTransition {
        let hash = match t.hash {
            HashRef::None => StoredHash::None,
            HashRef::Verified => StoredHash::Verified,
            HashRef::Withheld => StoredHash::Withheld,
            odd => journal.odd_hash(odd).map_or(StoredHash::Withheld, StoredHash::Odd),
        };
        StoredTransition { slot, at_ms: t.at_ms, revision: t.revision, hash }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.slot.to_be_bytes());
        out.extend_from_slice(&self.at_ms.to_be_bytes());
        out.extend_from_slice(&self.revision.to_be_bytes());
        match self.hash {
            StoredHash::None => out.push(0),
            StoredHash::Verified => out.push(1),
            StoredHash::Withheld => out.push(3),
            StoredHash::Odd(h) => {
                out.push(2);
                out.extend_from_slice(h.as_bytes());
            }
        }
    }

    pub(crate) fn decode(body: &mut &[u8]) -> Option<StoredTransition> {
        let (head, rest) = body.split_at_checked(17)?;
        let slot = u32::from_be_bytes(head[..4].try_into().ok()?);
        let at_ms = u64::from_be_bytes(head[4..12].try_into().ok()?);
        let revision = u32::from_be_bytes(head[12..16].try_into().ok()?);
        let (hash, rest) = match head[16] {
            0 => (StoredHash::None, rest),
            1 => (StoredHash::Verified, rest),
            3 => (StoredHash::Withheld, rest),
            2 => {
                let (h, rest) = rest.split_at_checked(32)?;
                (StoredHash::Odd(ContentHash(h.try_into().ok()?)), rest)
            }
            _ => return None,
        };
        *body = rest;
        Some(StoredTransition { slot, at_ms, revision, hash })
    }
}

/// Encodes `transitions` (at most [`PER_FRAME`]) as one frame appended to `out`.
pub(crate) fn push_frame(out: &mut Vec<u8>, transitions: &[StoredTransition]) {
    let mut body = Vec::with_capacity(transitions.len() * 17);
    for t in transitions {
        t.encode(&mut body);
    }
    frames::push(out, &body);
}

pub(crate) fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:010}.seg"))
}

/// What [`read_all`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Stored {
    /// Transitions on disk.
    pub(crate) count: u64,
    /// The first entry number of the segment to continue (`start`: none yet).
    pub(crate) last_first: u64,
    /// The transitions of that segment (to continue its count and time range).
    pub(crate) last: Vec<StoredTransition>,
}

/// Reads every stored transition from entry `start` on (the earlier ones
/// were compacted), in journal order, handing each to `each` (a torn tail
/// is cut). Refused: a gap between segments, a damaged frame, a transition
/// that does not decode.
pub(crate) fn read_all(
    dir: &Path,
    start: u64,
    mut each: impl FnMut(&StoredTransition) -> Result<()>,
) -> Result<Stored> {
    let mut firsts: Vec<u64> = fs::read_dir(dir)
        .map_err(|e| io(dir, "list", &e))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".seg")?.parse().ok())
        .collect();
    firsts.sort_unstable();
    let mut stored = Stored { count: start, last_first: start, last: Vec::new() };
    for (i, &first) in firsts.iter().enumerate() {
        let path = segment_path(dir, first);
        if first != stored.count {
            return Err(damaged(
                &path,
                format!("starts at entry {first}, but the journal before it ends at {}", stored.count),
            ));
        }
        let bytes = fs::read(&path).map_err(|e| io(&path, "read", &e))?;
        let (bodies, good) = frames::read(&bytes, &format!("journal segment {}", path.display()))?;
        let is_last = i + 1 == firsts.len();
        if good < bytes.len() {
            if !is_last {
                return Err(damaged(&path, "is cut short but is not the last segment".to_owned()));
            }
            let file = OpenOptions::new().write(true).open(&path).map_err(|e| io(&path, "open", &e))?;
            file.set_len(good as u64).and_then(|()| file.sync_all()).map_err(|e| io(&path, "cut", &e))?;
        }
        for mut body in bodies {
            while !body.is_empty() {
                let t = StoredTransition::decode(&mut body)
                    .ok_or_else(|| damaged(&path, "holds a transition that does not decode".to_owned()))?;
                each(&t)?;
                if is_last {
                    stored.last.push(t);
                }
                stored.count += 1;
            }
        }
        stored.last_first = first;
    }
    Ok(stored)
}

/// How many transitions the segment `bytes` (of `path`) holds.
pub(crate) fn count(bytes: &[u8], path: &Path) -> Result<u64> {
    let (bodies, _) = frames::read(bytes, &format!("journal segment {}", path.display()))?;
    let mut n = 0;
    for mut body in bodies {
        while !body.is_empty() {
            StoredTransition::decode(&mut body)
                .ok_or_else(|| damaged(path, "holds a transition that does not decode".to_owned()))?;
            n += 1;
        }
    }
    Ok(n)
}

fn damaged(path: &Path, why: String) -> Error {
    Error::new(ErrorKind::AuditTampered, format!("journal segment {} {why}", path.display()))
}

/// The segment being written.
pub(crate) struct Segment {
    pub(crate) first: u64,
    pub(crate) file: File,
    /// Transitions written to it.
    pub(crate) count: u64,
    /// The earliest and latest transition times in it (`None`: empty).
    pub(crate) span: Option<(u64, u64)>,
}

impl Segment {
    /// Opens segment `first` for appending (creating it when absent), holding `held` already.
    pub(crate) fn open(dir: &Path, first: u64, held: &[StoredTransition]) -> Result<Segment> {
        let path = segment_path(dir, first);
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| io(&path, "open", &e))?;
        super::sync_dir(&path)?;
        let mut segment = Segment { first, file, count: held.len() as u64, span: None };
        held.iter().for_each(|t| segment.note(t.at_ms));
        Ok(segment)
    }

    /// Widens the time range by a transition at `at_ms`.
    pub(crate) fn note(&mut self, at_ms: u64) {
        self.span = Some(self.span.map_or((at_ms, at_ms), |(a, b)| (a.min(at_ms), b.max(at_ms))));
    }

    /// Appends frames and makes them durable.
    pub(crate) fn write(&mut self, bytes: &[u8], transitions: u64, dir: &Path) -> Result<()> {
        self.file
            .write_all(bytes)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io(&segment_path(dir, self.first), "append to", &e))?;
        self.count += transitions;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_round_trip_through_segments() {
        let dir = std::env::temp_dir().join(format!("fleetgov-segments-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let t = |slot, hash| StoredTransition { slot, at_ms: 1_000 + u64::from(slot), revision: 2, hash };
        let first =
            [t(0, StoredHash::Verified), t(1, StoredHash::Odd(ContentHash([9; 32]))), t(2, StoredHash::Withheld)];
        let mut bytes = Vec::new();
        push_frame(&mut bytes, &first);
        Segment::open(&dir, 0, &[]).unwrap().write(&bytes, 3, &dir).unwrap();
        let mut more = Vec::new();
        push_frame(&mut more, &first[..1]);
        Segment::open(&dir, 3, &[]).unwrap().write(&more, 1, &dir).unwrap();
        let mut all = Vec::new();
        let stored = read_all(&dir, 0, |t| {
            all.push(*t);
            Ok(())
        })
        .unwrap();
        assert_eq!(Segment::open(&dir, 0, &all[..3]).unwrap().span, Some((1_000, 1_002)));
        assert_eq!(all.len(), 4);
        assert_eq!(&all[..3], &first);
        assert_eq!(stored, Stored { count: 4, last_first: 3, last: all[3..].to_vec() });
        fs::rename(segment_path(&dir, 3), segment_path(&dir, 4)).unwrap();
        assert_eq!(read_all(&dir, 0, |_| Ok(())).unwrap_err().kind(), ErrorKind::AuditTampered, "a gap");
        fs::remove_dir_all(&dir).unwrap();
    }
}
