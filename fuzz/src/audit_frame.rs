//! Target `audit_frame`: [`AuditRecord::from_frame`], the decoder of one
//! audit log frame (docs/audit-format.md), as a file, a NATS audit stream
//! message or an [`AuditStore`](fleetgov::audit::AuditStore) hands it over.
//!
//! Every input is decoded twice: as it is, and with its frame checksums
//! recomputed (so that mutations reach the record decoder instead of
//! stopping at a checksum). Each time:
//!
//! - a decoded frame re-encodes to exactly its bytes (every record has one
//!   encoding), its record decodes again from its canonical encoding, and
//!   survives the JSON of the HTTP API unchanged;
//! - whether or not the record obeys the rules of appended entries,
//!   checking it is a typed error, never a panic;
//! - anything else is `INVALID_INPUT`.

use fleetgov::audit::{AuditAction, AuditEntry, AuditLog, AuditRecord, MAX_PAYLOAD_LEN};
use fleetgov::{ErrorKind, Role};

use crate::{Harness, Seed};

/// A frame's head: the body length and its checksum.
pub(crate) const FRAME_HEAD: usize = 8;
/// The longest canonical record encoding (docs/audit-format.md: 4,697 bytes).
const MAX_RECORD_LEN: usize = 4_697;

/// Byte strings worth inserting: lengths at the limits, codes, UTF-8 edges.
pub const DICTIONARY: &[&[u8]] = &[
    &[0, 0, 0, 0],
    &[0, 0, 0, 3],
    &[0, 0, 0, 4],
    &[0xff, 0xff, 0xff, 0xff],
    &[0, 0, 1, 0],
    &[0, 0, 1, 1],
    &[0x10, 0x00],
    &[0x10, 0x01],
    &[1],
    &[2],
    &[3],
    &[4],
    &[9],
    &[10],
    &[0x7f],
    &[0xc2, 0x85],
    &[0xe2, 0x80, 0x8b],
    &[0xef, 0xbb, 0xbf],
    &[0xc3],
    &[0xed, 0xa0, 0x80],
];

/// The harness (stateless).
pub struct FrameHarness;

impl Harness for FrameHarness {
    fn run(&mut self, data: &[u8]) {
        check_frame(data);
        let mut resealed = data.to_vec();
        reseal_frames(&mut resealed, 0);
        if resealed != data {
            check_frame(&resealed);
        }
    }
}

fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// Recomputes the checksums of the frames that follow one another from
/// byte `from` of `bytes`, as far as their lengths reach inside `bytes`.
pub(crate) fn reseal_frames(bytes: &mut [u8], from: usize) {
    let mut pos = from;
    while pos + FRAME_HEAD <= bytes.len() {
        let body_len = be32(&bytes[pos..]) as usize;
        let crc = crc32c::crc32c(&bytes[pos..pos + 4]);
        bytes[pos + 4..pos + FRAME_HEAD].copy_from_slice(&crc.to_be_bytes());
        let body = pos + FRAME_HEAD;
        let Some(end) = body.checked_add(body_len).filter(|&end| end + 4 <= bytes.len()) else { return };
        let crc = crc32c::crc32c(&bytes[body..end]);
        bytes[end..end + 4].copy_from_slice(&crc.to_be_bytes());
        pos = end + 4;
    }
}

/// Decodes `data` as one frame and checks the properties of the module docs.
pub(crate) fn check_frame(data: &[u8]) {
    let record = match AuditRecord::from_frame(data) {
        Ok(record) => record,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "a bad frame is INVALID_INPUT: {e}");
            return;
        }
    };
    assert_eq!(record.to_frame(), data, "a decoded frame re-encodes to its bytes");
    let again = AuditRecord::decode(&record.encode(), record.payload.clone());
    assert_eq!(again.as_ref().ok(), Some(&record), "a record decodes from its canonical encoding");
    let json = serde_json::to_string(&record).expect("a record serializes");
    let back: AuditRecord = serde_json::from_str(&json).expect("a record's JSON decodes");
    assert_eq!(back, record, "a record survives its JSON");
    if let Err(e) = record.validate() {
        assert!(
            matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::JustificationRequired),
            "a record that breaks the entry rules is a typed error: {e}"
        );
    }
}

/// A frame around `record` (a canonical encoding, or not) and `payload`,
/// with correct lengths and checksums.
pub(crate) fn frame_of(record: &[u8], payload: &[u8]) -> Vec<u8> {
    let body_len = (4 + record.len() + payload.len()) as u32;
    let mut frame = body_len.to_be_bytes().to_vec();
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(&(record.len() as u32).to_be_bytes());
    frame.extend_from_slice(record);
    frame.extend_from_slice(payload);
    frame.extend_from_slice(&[0; 4]);
    reseal_frames(&mut frame, 0);
    frame
}

/// Audit records of every action, as the engine writes them: a log's first
/// records, chained.
pub(crate) fn sample_records() -> Vec<AuditRecord> {
    let log = AuditLog::in_memory();
    let actions = (0..=u8::MAX).filter_map(AuditAction::from_code);
    let mut records: Vec<AuditRecord> = actions
        .enumerate()
        .map(|(i, action)| {
            let entry =
                AuditEntry::new(1_700_000_000_000 + i as u64, "omar.operator", Role::Operator, action, "eks-prod-us")
                    .justification("Node re-provisioning after hardware failure")
                    .payload(format!("{{\"revision\":{i}}}").into_bytes());
            (*log.append(entry).expect("a valid entry")).clone()
        })
        .collect();
    let extremes = [
        AuditEntry::new(0, "a", Role::Viewer, AuditAction::Publish, "c"),
        AuditEntry::new(u64::MAX, "é".repeat(128), Role::Admin, AuditAction::GlobalOverwrite, "x".repeat(256))
            .justification("ø".repeat(2048))
            .payload(vec![0xff; 300]),
    ];
    records.extend(extremes.map(|e| (*log.append(e).expect("a valid entry")).clone()));
    records
}

/// The seeds: frames of every action and of extreme fields, and frames with
/// one fault each in the framing or in the record encoding.
pub fn seeds() -> Vec<Seed> {
    let records = sample_records();
    let mut seeds: Vec<Seed> =
        records.iter().map(|r| Seed::new(format!("{}-{}", r.action.as_str(), r.seq), r.to_frame())).collect();
    let frame = records[0].to_frame();
    let encoded = records[0].encode();
    let payload = &records[0].payload;
    // The canonical encoding's layout: version, seq, time, role, action, then the actor's length.
    let with_record = |change: &dyn Fn(&mut Vec<u8>)| {
        let mut record = encoded.clone();
        change(&mut record);
        frame_of(&record, payload)
    };
    let body_len = |len: u32| {
        let mut bad = frame.clone();
        bad[..4].copy_from_slice(&len.to_be_bytes());
        reseal_frames(&mut bad[..FRAME_HEAD], 0);
        bad
    };
    let flipped = |at: usize| {
        let mut bad = frame.clone();
        bad[at] ^= 0x20;
        bad
    };
    seeds.extend([
        Seed::new("empty", Vec::new()),
        Seed::new("cut-head", frame[..5].to_vec()),
        Seed::new("cut-body", frame[..frame.len() - 1].to_vec()),
        Seed::new("trailing-byte", [&frame[..], &[0]].concat()),
        Seed::new("two-frames", [&frame[..], &records[1].to_frame()].concat()),
        Seed::new("bad-head-checksum", flipped(5)),
        Seed::new("bad-body-checksum", flipped(FRAME_HEAD + 20)),
        Seed::new("body-too-short", body_len(3)),
        Seed::new("body-too-long", body_len((4 + MAX_RECORD_LEN + MAX_PAYLOAD_LEN + 1) as u32)),
        Seed::new("body-longer-than-data", body_len(u32::MAX)),
        Seed::new("record-longer-than-body", {
            let mut bad = frame.clone();
            bad[FRAME_HEAD..FRAME_HEAD + 4].copy_from_slice(&u32::MAX.to_be_bytes());
            reseal_frames(&mut bad, 0);
            bad
        }),
        Seed::new("record-version-1", with_record(&|r| r[0] = 1)),
        Seed::new("record-version-3", with_record(&|r| r[0] = 3)),
        Seed::new("unknown-role", with_record(&|r| r[17] = 0)),
        Seed::new("unknown-action", with_record(&|r| r[18] = 200)),
        Seed::new("actor-over-limit", with_record(&|r| r[19..21].copy_from_slice(&257u16.to_be_bytes()))),
        Seed::new("actor-past-the-end", with_record(&|r| r[19..21].copy_from_slice(&u16::MAX.to_be_bytes()))),
        Seed::new("actor-not-utf8", with_record(&|r| r[21] = 0xff)),
        Seed::new("actor-control-character", with_record(&|r| r[21] = b'\n')),
        Seed::new(
            "empty-actor",
            with_record(&|r| {
                let len = usize::from(u16::from_be_bytes([r[19], r[20]]));
                r.drain(21..21 + len);
                r[19..21].fill(0);
            }),
        ),
        Seed::new("record-trailing-byte", with_record(&|r| r.push(0))),
        Seed::new(
            "record-cut",
            with_record(&|r| {
                r.pop();
            }),
        ),
        Seed::new("no-payload", frame_of(&encoded, &[])),
    ]);
    seeds
}
