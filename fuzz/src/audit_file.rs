//! Target `audit_file`: [`verify_file`] on arbitrary file bytes, checked
//! against recovery ([`AuditLog::open`]) on the same bytes.
//!
//! Every input is written to a file and run as it is and with its header
//! and frame checksums recomputed (so that mutations reach the record,
//! chain and tail rules instead of stopping at a checksum). Each time:
//!
//! - the verifier never changes the file, and its only errors are
//!   `INVALID_INPUT` (not an audit log) and `AUDIT_TAMPERED`;
//! - a file the verifier accepts opens, with the verifier's head (also the
//!   head of [`verify_records`] over the records read back); recovery cuts
//!   exactly the torn tail the verifier reported (a blank file becomes a
//!   bare header), and the recovered file verifies with the same head and
//!   no torn bytes;
//! - a file the verifier refuses is refused by recovery with the same kind
//!   and message, and left as it was.

use std::path::{Path, PathBuf};

use fleetgov::ErrorKind;
use fleetgov::audit::{AuditLog, AuditRecord, FileVerification, verify_file, verify_records};
use tempfile::TempDir;

use crate::audit_frame::{FRAME_HEAD, frame_of, reseal_frames, sample_records};
use crate::{Harness, Seed};

/// The file header's length: magic, format version, checksum.
const HEADER_LEN: usize = 24;
/// The unit a crash leaves written or zero (docs/audit-format.md).
const SECTOR: usize = 512;

/// Byte strings worth inserting: the magic, format versions, lengths, zeros.
pub const DICTIONARY: &[&[u8]] = &[
    b"fleetgov audit\n\0",
    &[0, 0, 0, 1],
    &[0, 0, 0, 2],
    &[0, 0, 0, 3],
    &[0, 0, 0, 4],
    &[0xff, 0xff, 0xff, 0xff],
    &[0; 8],
    &[0; 64],
    &[0; SECTOR],
];

/// The harness: a private folder holding the file under test.
pub struct FileHarness {
    _dir: TempDir,
    path: PathBuf,
}

impl FileHarness {
    /// A harness writing its file into a new temporary folder.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("audit.log");
        FileHarness { _dir: dir, path }
    }
}

impl Default for FileHarness {
    fn default() -> Self {
        FileHarness::new()
    }
}

impl Harness for FileHarness {
    fn run(&mut self, data: &[u8]) {
        check_file(&self.path, data);
        let resealed = resealed(data);
        if resealed != data {
            check_file(&self.path, &resealed);
        }
    }
}

/// `data` with its header checksum and its frames' checksums recomputed.
fn resealed(data: &[u8]) -> Vec<u8> {
    let mut bytes = data.to_vec();
    if bytes.len() >= HEADER_LEN {
        let crc = crc32c::crc32c(&bytes[..20]);
        bytes[20..HEADER_LEN].copy_from_slice(&crc.to_be_bytes());
        reseal_frames(&mut bytes, HEADER_LEN);
    }
    bytes
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("the file under test reads")
}

/// Writes `data` to `path` and checks the properties of the module docs.
fn check_file(path: &Path, data: &[u8]) {
    std::fs::write(path, data).expect("the file under test writes");
    let verified = verify_file(path);
    assert_eq!(read(path), data, "the verifier changed the file");
    match verified {
        Ok(v) => check_recovery(path, data, v),
        Err(e) => {
            assert!(
                matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::AuditTampered),
                "the verifier's errors are INVALID_INPUT or AUDIT_TAMPERED: {e}"
            );
            let opened = AuditLog::open(path).map(|log| log.head());
            let refusal = opened.as_ref().err().map(|r| (r.kind(), r.message()));
            assert_eq!(refusal, Some((e.kind(), e.message())), "recovery refuses what the verifier refuses");
            assert_eq!(read(path), data, "a refused file was changed");
        }
    }
}

/// Opens a file the verifier accepted as `v` and checks what recovery did.
fn check_recovery(path: &Path, data: &[u8], v: FileVerification) {
    let torn = usize::try_from(v.torn_tail_bytes).expect("a torn tail within the file");
    assert!(torn <= data.len(), "a torn tail longer than the file");
    let log = AuditLog::open(path).unwrap_or_else(|e| panic!("a file that verifies does not open: {e}"));
    assert_eq!(log.head(), v.head, "recovery and the verifier agree on the head");
    let records = log.records();
    let head = verify_records(records.iter().map(|r| &**r)).expect("recovered records verify");
    assert_eq!(head, v.head, "the records read back have the verifier's head");
    drop(log);
    let kept = read(path);
    let valid = data.len() - torn;
    if valid >= HEADER_LEN {
        assert_eq!(kept, data[..valid], "recovery cuts exactly the torn tail");
    } else {
        assert_eq!(kept.len(), HEADER_LEN, "a blank file becomes a bare header");
    }
    let again = verify_file(path).unwrap_or_else(|e| panic!("a recovered file does not verify: {e}"));
    assert_eq!(again, FileVerification { head: v.head, torn_tail_bytes: 0 }, "a recovered file has no torn tail");
}

/// The header of a new log, as the log writes it.
fn header() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("audit.log");
    drop(AuditLog::open(&path).expect("a new log"));
    read(&path)
}

fn log_of(header: &[u8], records: &[AuditRecord]) -> Vec<u8> {
    records.iter().fold(header.to_vec(), |mut file, r| {
        file.extend_from_slice(&r.to_frame());
        file
    })
}

/// The seeds: blank files, headers of other formats, logs, and logs with a
/// torn tail a crash can leave or damage no crash can.
pub fn seeds() -> Vec<Seed> {
    let header = header();
    let records = sample_records();
    let three = log_of(&header, &records[..3]);
    let all = log_of(&header, &records);
    let with_version = |version: u32| {
        let mut h = header.clone();
        h[16..20].copy_from_slice(&version.to_be_bytes());
        resealed(&h)
    };
    let flipped = |file: &[u8], at: usize| {
        let mut bad = file.to_vec();
        bad[at] ^= 0x04;
        bad
    };
    let last = records[2].to_frame();
    let last_at = three.len() - last.len();
    let mut zeroed_last_sector = all.clone();
    let last_frame_at = all.len() - records[records.len() - 1].to_frame().len();
    let sector = (last_frame_at + FRAME_HEAD).next_multiple_of(SECTOR);
    zeroed_last_sector[sector.min(all.len())..].fill(0);
    let mut zero_body = three.clone();
    let body_len = last.len() - FRAME_HEAD - 4;
    zero_body.extend_from_slice(&last[..FRAME_HEAD]);
    zero_body.resize(zero_body.len() + body_len + 4, 0);
    let mut payload_changed = records[1].clone();
    payload_changed.payload.push(b' ');
    let forged = frame_of(&payload_changed.encode(), &payload_changed.payload);
    vec![
        Seed::new("empty", Vec::new()),
        Seed::new("header-prefix", header[..7].to_vec()),
        Seed::new("header-only", header.clone()),
        Seed::new("zeros-header-length", vec![0; HEADER_LEN]),
        Seed::new("zeros-100", vec![0; 100]),
        Seed::new("not-an-audit-log", b"hello world, this is not an audit log".to_vec()),
        Seed::new("format-1", with_version(1)),
        Seed::new("format-3", with_version(3)),
        Seed::new("header-corrupt", flipped(&header, 3)),
        Seed::new("three-records", three.clone()),
        Seed::new("every-action", all.clone()),
        Seed::new("torn-head", three[..last_at + 5].to_vec()),
        Seed::new("torn-body", three[..last_at + last.len() / 2].to_vec()),
        Seed::new("torn-last-byte", three[..three.len() - 1].to_vec()),
        Seed::new("zero-tail", [&three[..], &[0; 4096]].concat()),
        Seed::new("zeroed-last-sector", zeroed_last_sector),
        Seed::new("last-frame-zero-body", zero_body),
        Seed::new("last-frame-bad-checksum", flipped(&three, three.len() - 1)),
        Seed::new("middle-record-flipped", flipped(&three, last_at - 20)),
        Seed::new("frame-repeated", log_of(&header, &[records[0].clone(), records[1].clone(), records[1].clone()])),
        Seed::new("frames-swapped", log_of(&header, &[records[1].clone(), records[0].clone()])),
        Seed::new("chain-skips-a-record", log_of(&header, &[records[0].clone(), records[2].clone()])),
        Seed::new("payload-changed", [&log_of(&header, &records[..1])[..], &forged].concat()),
    ]
}
