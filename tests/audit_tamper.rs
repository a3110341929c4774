//! Tamper and torn-write tests of the audit log file.
//!
//! The file layout (docs/audit-format.md) is recomputed here from the
//! records, independently of the implementation, to know where each frame
//! starts. Then: every flipped byte, a removed record, two swapped records,
//! an edit with recomputed checksums and a truncation anywhere are each
//! detected at the right record (the last two against a checkpoint), and
//! what the format defines as a torn tail is cut off on open.

use std::fs;
use std::path::{Path, PathBuf};

use fleetgov::audit::{AuditAction, AuditEntry, AuditLog, AuditRecord, Checkpoint, verify_file, verify_file_against};
use fleetgov::{ErrorKind, Role};
use proptest::prelude::*;

const HEADER: usize = 24;
const RECORDS: usize = 8;

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    bytes: Vec<u8>,
    /// Where frame k starts; `starts[RECORDS]` is the end of the file.
    starts: Vec<usize>,
    records: Vec<AuditRecord>,
    checkpoint: Checkpoint,
}

fn entry(i: usize) -> AuditEntry {
    let actions =
        [AuditAction::Publish, AuditAction::ForceSyncNode, AuditAction::UpsertCluster, AuditAction::GlobalOverwrite];
    let action = actions[i % actions.len()];
    let e =
        AuditEntry::new(1_700_000_000_000 + i as u64, format!("user-{i}"), Role::Admin, action, format!("target-{i}"))
            .payload(format!("{{\"i\":{i},\"pad\":\"{}\"}}", "x".repeat(i * 13 % 70)).into_bytes());
    if action.is_override() { e.justification(format!("Emergency disaster recovery #{i}")) } else { e }
}

fn frame_len(r: &AuditRecord) -> usize {
    8 + 4 + r.encode().len() + r.payload.len() + 4
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let log = AuditLog::open(&path).unwrap();
    for i in 0..RECORDS {
        log.append(entry(i)).unwrap();
    }
    let checkpoint = Checkpoint::new("test.example/audit", log.head());
    let records: Vec<AuditRecord> = log.records().iter().map(|r| (**r).clone()).collect();
    drop(log);
    let bytes = fs::read(&path).unwrap();
    let mut starts = vec![HEADER];
    for r in &records {
        starts.push(starts.last().unwrap() + frame_len(r));
    }
    assert_eq!(*starts.last().unwrap(), bytes.len(), "the documented layout accounts for every byte");
    Fixture { _dir: dir, path, bytes, starts, records, checkpoint }
}

impl Fixture {
    /// The record whose frame holds byte `at` (None for the header).
    fn record_at(&self, at: usize) -> Option<usize> {
        (at >= HEADER).then(|| self.starts.iter().rposition(|&s| s <= at).unwrap())
    }

    fn frame(&self, k: usize) -> &[u8] {
        &self.bytes[self.starts[k]..self.starts[k + 1]]
    }

    /// Replaces the log file with `bytes`. (A new file, not a truncated
    /// one: some file systems flush a file truncated and rewritten on close,
    /// which would make these loops slow.)
    fn write(&self, bytes: &[u8]) -> &Path {
        fs::remove_file(&self.path).unwrap();
        fs::write(&self.path, bytes).unwrap();
        &self.path
    }
}

/// Both offline verification and open refuse the file naming record `seq`,
/// and open leaves the file as it was.
fn assert_bad_at(path: &Path, seq: usize) {
    let before = fs::read(path).unwrap();
    let prefix = format!("audit record {seq} ");
    let e = verify_file(path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuditTampered, "{e}");
    assert!(e.message().starts_with(&prefix), "want {prefix:?}, got {e}");
    let e = AuditLog::open(path).unwrap_err();
    assert!(e.message().starts_with(&prefix), "open: want {prefix:?}, got {e}");
    assert_eq!(fs::read(path).unwrap(), before, "a refused file is not modified");
}

fn assert_refused(path: &Path) {
    let before = fs::read(path).unwrap();
    let e = verify_file(path).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::AuditTampered | ErrorKind::InvalidInput), "{e}");
    assert!(AuditLog::open(path).is_err());
    assert_eq!(fs::read(path).unwrap(), before);
}

#[test]
fn every_flipped_byte_is_detected_at_its_record() {
    let f = fixture();
    for at in 0..f.bytes.len() {
        let mut bad = f.bytes.clone();
        bad[at] ^= (at * 151 % 255 + 1) as u8;
        let path = f.write(&bad);
        match f.record_at(at) {
            Some(seq) => assert_bad_at(path, seq),
            None => assert_refused(path),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_damage_is_detected_at_the_first_damaged_record(
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..6)
    ) {
        let f = fixture();
        let mut bad = f.bytes.clone();
        for (index, mask) in flips {
            bad[index.index(f.bytes.len())] ^= mask;
        }
        // Two flips of the same byte may cancel out.
        prop_assume!(bad != f.bytes);
        let first = (0..bad.len()).find(|&i| bad[i] != f.bytes[i]).unwrap();
        let path = f.write(&bad);
        match f.record_at(first) {
            Some(seq) => assert_bad_at(path, seq),
            None => assert_refused(path),
        }
    }
}

#[test]
fn a_removed_record_is_detected_where_it_was() {
    let f = fixture();
    for k in 0..RECORDS {
        let bad = [&f.bytes[..f.starts[k]], &f.bytes[f.starts[k + 1]..]].concat();
        let path = f.write(&bad);
        if k + 1 < RECORDS {
            assert_bad_at(path, k);
        } else {
            // Dropping the last record leaves a valid shorter log: only a
            // checkpoint can tell.
            assert_eq!(verify_file(path).unwrap().head.size, RECORDS as u64 - 1);
            let e = verify_file_against(path, &f.checkpoint).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AuditTampered);
            assert!(e.message().starts_with(&format!("audit record {k} is missing")), "{e}");
        }
    }
}

#[test]
fn reordered_records_are_detected_at_the_first_moved_one() {
    let f = fixture();
    for i in 0..RECORDS {
        for j in i + 1..RECORDS {
            let mut frames: Vec<&[u8]> = (0..RECORDS).map(|k| f.frame(k)).collect();
            frames.swap(i, j);
            let bad = [&f.bytes[..HEADER], &frames.concat()].concat();
            assert_bad_at(f.write(&bad), i);
        }
    }
}

/// Rewrites record `k` through the public encoding with checksums that
/// match: a deliberate edit, not an accident.
fn forge(f: &Fixture, k: usize, edit: impl FnOnce(&mut AuditRecord)) -> Vec<u8> {
    let mut r = f.records[k].clone();
    edit(&mut r);
    let encoded = r.encode();
    let mut body = (encoded.len() as u32).to_be_bytes().to_vec();
    body.extend_from_slice(&encoded);
    body.extend_from_slice(&r.payload);
    let len = (body.len() as u32).to_be_bytes();
    let mut frame = len.to_vec();
    frame.extend_from_slice(&crc32c::crc32c(&len).to_be_bytes());
    frame.extend_from_slice(&body);
    frame.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    [&f.bytes[..f.starts[k]], &frame, &f.bytes[f.starts[k + 1]..]].concat()
}

#[test]
fn an_edit_with_valid_checksums_shows_at_the_next_record_or_against_a_checkpoint() {
    let f = fixture();
    // The forger's frames are exactly ours: the format is what the docs say.
    assert_eq!(forge(&f, 3, |_| ()), f.bytes);
    for k in 0..RECORDS {
        let bad = forge(&f, k, |r| r.target = "someone-else".into());
        let path = f.write(&bad);
        if k + 1 < RECORDS {
            assert_bad_at(path, k + 1);
        } else {
            let size = verify_file(path).unwrap().head.size;
            assert_eq!(size, RECORDS as u64, "the chain alone cannot see an edit of the last record");
            let e = verify_file_against(path, &f.checkpoint).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AuditTampered);
        }
        // Edits of fields the record itself commits to show at that record.
        assert_bad_at(f.write(&forge(&f, k, |r| r.payload.push(b' '))), k);
        assert_bad_at(f.write(&forge(&f, k, |r| r.prev_hash.0[0] ^= 1)), k);
        assert_bad_at(f.write(&forge(&f, k, |r| r.seq += 1)), k);
    }
}

#[test]
fn truncation_anywhere_is_a_torn_tail_and_a_checkpoint_catches_the_loss() {
    let f = fixture();
    for cut in HEADER..=f.bytes.len() {
        let path = f.write(&f.bytes[..cut]);
        let whole = f.starts.iter().filter(|&&s| s <= cut).count() - 1;
        let report = verify_file(path).unwrap();
        assert_eq!(report.head.size, whole as u64, "cut at {cut}");
        assert_eq!(report.torn_tail_bytes, (cut - f.starts[whole]) as u64);
        match verify_file_against(path, &f.checkpoint) {
            Ok(_) => assert_eq!(cut, f.bytes.len()),
            Err(e) => assert!(e.message().starts_with(&format!("audit record {whole} is missing")), "{e}"),
        }
    }
}

#[test]
fn open_cuts_a_torn_tail_and_appends_after_it() {
    let f = fixture();
    for torn in [1, 7, 8, 9, 40, f.frame(RECORDS - 1).len() - 1] {
        // A prefix of the last frame: its append never completed.
        let cut = f.starts[RECORDS - 1] + torn;
        let path = f.write(&f.bytes[..cut]);
        let log = AuditLog::open(path).unwrap();
        assert_eq!(log.size(), RECORDS as u64 - 1);
        assert_eq!(fs::metadata(path).unwrap().len(), f.starts[RECORDS - 1] as u64, "the tail is cut on disk");
        let again = log.append(entry(RECORDS - 1)).unwrap();
        assert_eq!(again.seq, RECORDS as u64 - 1);
        drop(log);
        assert_eq!(fs::read(path).unwrap(), f.bytes, "the re-appended record is byte-identical");
    }
}

#[test]
fn a_zero_filled_tail_is_torn_and_cut() {
    let f = fixture();
    let path = f.write(&[&f.bytes[..], &[0u8; 5000]].concat());
    assert_eq!(verify_file(path).unwrap().torn_tail_bytes, 5000);
    let log = AuditLog::open(path).unwrap();
    assert_eq!(log.size(), RECORDS as u64);
    drop(log);
    assert_eq!(fs::read(path).unwrap(), f.bytes);
}

#[test]
fn garbage_after_the_last_record_is_corruption_not_a_tear() {
    let f = fixture();
    // Non-zero bytes whose "frame length" has no valid checksum.
    assert_bad_at(f.write(&[&f.bytes[..], b"not a frame at all"].concat()), RECORDS);
    // A complete frame (valid length) whose body checksum fails.
    let mut last = f.frame(RECORDS - 1).to_vec();
    let n = last.len();
    last[n - 1] ^= 0x40;
    assert_bad_at(f.write(&[&f.bytes[..], &last[..]].concat()), RECORDS);
    // A duplicate of the last frame: valid checksums, wrong sequence number.
    assert_bad_at(f.write(&[&f.bytes[..], f.frame(RECORDS - 1)].concat()), RECORDS);
}

/// A log of four records laid out for the sector rules of recovery: frame 0
/// ends at byte 1024 (a sector boundary), frame 1 is small and lies inside
/// sector 1024..1536, frame 2 carries a 2,000-byte payload and spans
/// sectors 2048..2560 whole, frame 3 is small. Returns the file bytes and
/// the frame starts (and the end).
fn sector_fixture(dir: &Path) -> (Vec<u8>, [usize; 5]) {
    let entry = |i: u64, payload: usize| {
        AuditEntry::new(1_700_000_000_000 + i, "alice", Role::Admin, AuditAction::Publish, format!("c@r{i}"))
            .payload(vec![b'p'; payload])
    };
    let base = AuditLog::in_memory().append(entry(0, 0)).unwrap().to_frame().len();
    let path = dir.join("sectors.log");
    let log = AuditLog::open(&path).unwrap();
    for (i, payload) in [(0, 1024 - HEADER - base), (1, 40), (2, 2000), (3, 40)] {
        log.append(entry(i, payload)).unwrap();
    }
    drop(log);
    let bytes = fs::read(&path).unwrap();
    let records = AuditLog::open(&path).unwrap().records();
    let mut starts = [HEADER, 0, 0, 0, 0];
    for k in 0..4 {
        starts[k + 1] = starts[k] + frame_len(&records[k]);
    }
    assert_eq!((starts[1], starts[4]), (1024, bytes.len()));
    assert!(starts[2] < 1536 && starts[2] + 8 < 2048 && starts[3] > 2560, "{starts:?}");
    (bytes, starts)
}

/// Issue 18, defect 12: which tails a crash can leave. Appends write whole
/// frames and acknowledge after an fsync; a crash leaves the unsynced end at
/// any length, each sector holding the written bytes or zeros. So a last
/// frame with a valid head and a body of zeros is torn when a zero sector
/// explains it (and so is the same one byte shorter), while zeros inside the
/// sector that holds the frame's valid head, or non-zero garbage, is
/// tampering; and a file of nothing but zeros is refused, not re-created.
#[test]
fn recovery_edge_cases_follow_from_what_a_crash_can_leave() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, s) = sector_fixture(dir.path());
    let path = dir.path().join("case.log");
    let open = |file: &[u8]| {
        fs::write(&path, file).unwrap();
        AuditLog::open(&path)
    };
    let with_body = |k: usize, fill: u8, end: usize| {
        let mut file = bytes[..s[k] + 8].to_vec();
        file.resize(end, fill);
        file
    };

    // The big frame last in the file: valid head, zeros to its full length, or one byte short.
    for end in [s[3], s[3] - 1] {
        let log = open(&with_body(2, 0, end)).unwrap_or_else(|e| panic!("end {end}: {e}"));
        assert_eq!(log.size(), 2, "end {end}");
        drop(log);
        assert_eq!(fs::read(&path).unwrap(), bytes[..s[2]], "the torn frame is cut");
    }
    // The same with non-zero garbage: no crash writes bytes that were never written.
    let e = open(&with_body(2, 0x55, s[3])).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::AuditTampered);
    assert!(e.message().starts_with("audit record 2 "), "{e}");
    // Zeros in the sector that holds frame 1's valid head (followed by the
    // intact frame 2): that sector reached the disk whole, so this is tampering.
    let mut file = with_body(1, 0, s[2]);
    file.extend_from_slice(&bytes[s[2]..]);
    let e = open(&file).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::AuditTampered);
    assert!(e.message().starts_with("audit record 1 "), "{e}");
    // A zeroed sector inside frame 2 followed by frame 3, intact: unsynced
    // writes reach the disk in any order; both are cut.
    let mut file = bytes.clone();
    file[2048..2560].fill(0);
    let log = open(&file).unwrap();
    assert_eq!(log.size(), 2);
    drop(log);
    assert_eq!(fs::read(&path).unwrap(), bytes[..s[2]]);
    // ... but not followed by a frame out of sequence (frame 1 again).
    let mut foreign = file[..s[3]].to_vec();
    foreign.extend_from_slice(&bytes[s[1]..s[2]]);
    let e = open(&foreign).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::AuditTampered);
    assert!(e.message().starts_with("audit record 3 "), "{e}");

    // A whole file of zeros is refused and left as it is.
    for len in [25, 4096] {
        let e = open(&vec![0; len]).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::AuditTampered, "{len}");
        assert_eq!(fs::read(&path).unwrap(), vec![0; len]);
    }
    // Up to a header's length of zeros is a creation cut short: a new log.
    let log = open(&[0; HEADER]).unwrap();
    assert_eq!(log.size(), 0);
}
