//! The compact heartbeat batch (format 2): what a heartbeat request and its
//! reply carry when most of a batch is steady nodes.
//!
//! A request of format 1 is whole 128-byte heartbeat records and its reply
//! one 40-byte outcome record per record: 168 bytes a heartbeat. Format 2
//! carries the same records in 52 bytes each and answers with the outcomes
//! that say something, so a steady heartbeat costs 52 bytes on the wire:
//!
//! - **Request**: a 16-byte header, the batch's distinct applied hashes
//!   (32 bytes each) once, then one 52-byte record per heartbeat naming its
//!   hash by index, then the sync-error details of the records that carry
//!   one, back to back.
//! - **Reply**: a 12-byte header and, for each record whose outcome is not a
//!   plain accept (a directive, or a refusal), its index and its 40-byte
//!   outcome record. Every record not listed was accepted without directive.
//!
//! A record expands to exactly the 128-byte record it was encoded from (the
//! padding after a detail aside, which no reader looks at), and the engine
//! validates the expanded records as it validates format 1: a batch whose
//! frame is malformed, or that holds one bad record, is refused whole.
//! Layouts, field by field, are in the crate's README.

use std::collections::HashMap;

use fleetgov::record::{OUTCOME_SIZE, Outcome, OutcomeRecord, RECORD_DETAIL_LEN, RECORD_SIZE};
use zerocopy::little_endian::U32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// The first byte of a format 2 request and of its reply. (The first byte of
/// a format 1 request is its first record's version, 1.)
pub const FORMAT: u8 = 2;
/// Bytes of a format 2 request's header.
pub const REQUEST_HEADER_SIZE: usize = 16;
/// Bytes of one compact record.
pub const COMPACT_RECORD_SIZE: usize = 52;
/// Bytes of an applied hash in the request's hash table.
pub const HASH_SIZE: usize = 32;
/// Bytes of a format 2 reply's header.
pub const REPLY_HEADER_SIZE: usize = 12;
/// Bytes of one listed outcome in a format 2 reply.
pub const LISTED_SIZE: usize = 4 + OUTCOME_SIZE;
/// The hash index of a record that reports no applied hash (all zero).
pub const NO_HASH: u32 = u32::MAX;

/// The record version byte every expanded record carries.
const RECORD_VERSION: u8 = 1;

/// Header of a format 2 request.
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RequestHeader {
    format: u8,
    reserved: [u8; 3],
    records: U32,
    hashes: U32,
    detail_bytes: U32,
}

/// One heartbeat in 52 bytes: the 128-byte record's fields in their own
/// byte order, without its version byte, its hash (named by index) and its
/// detail (in the detail section).
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct CompactRecord {
    /// Record bytes 1..4: process status, sync error code, flags.
    head: [u8; 3],
    /// Record byte 80: the detail's length.
    detail_len: u8,
    /// Record bytes 4..24: applied revision, node handle, heartbeat time.
    ident: [u8; 20],
    /// Record bytes 56..80: runtime version, four metrics, hot-swap errors.
    body: [u8; 24],
    /// Index into the request's hash table, or [`NO_HASH`].
    hash: U32,
}

/// Header of a format 2 reply.
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct ReplyHeader {
    format: u8,
    reserved: [u8; 3],
    records: U32,
    listed: U32,
}

/// One outcome that says something, with the index of its record.
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct Listed {
    index: U32,
    outcome: OutcomeRecord,
}

const _: () = assert!(std::mem::size_of::<RequestHeader>() == REQUEST_HEADER_SIZE);
const _: () = assert!(std::mem::size_of::<CompactRecord>() == COMPACT_RECORD_SIZE);
const _: () = assert!(std::mem::size_of::<ReplyHeader>() == REPLY_HEADER_SIZE);
const _: () = assert!(std::mem::size_of::<Listed>() == LISTED_SIZE);

fn invalid(message: String) -> fleetgov::Error {
    fleetgov::Error::invalid(message)
}

/// A `u32` count of the format, or an error naming what overflowed.
fn count(n: usize, what: &str) -> fleetgov::Result<U32> {
    u32::try_from(n).map(U32::new).map_err(|_| invalid(format!("{n} {what} exceed a format 2 batch")))
}

/// The format 2 request for `records` (whole 128-byte records).
///
/// A record this format cannot carry exactly is refused with the index and
/// the message the engine would give it: another record version, a detail
/// longer than 47 bytes. Every other field travels as it is, and the
/// owning instance validates it.
///
/// ```
/// use fleetgov::record::HeartbeatRecord;
/// use fleetgov::{Metrics, NodeHandle, ProcessStatus};
/// use fleetgov_nats::compact;
/// let r = HeartbeatRecord::new(NodeHandle::from_raw(7), 1_000, "3.6.1".parse().unwrap(), ProcessStatus::Ready, Metrics::default());
/// let body = compact::encode_request(zerocopy::IntoBytes::as_bytes(&[r, r])).unwrap();
/// assert_eq!(body.len(), compact::REQUEST_HEADER_SIZE + 2 * compact::COMPACT_RECORD_SIZE);
/// assert_eq!(compact::decode_request(&body).unwrap(), zerocopy::IntoBytes::as_bytes(&[r, r]));
/// ```
pub fn encode_request(records: &[u8]) -> fleetgov::Result<Vec<u8>> {
    if !records.len().is_multiple_of(RECORD_SIZE) {
        return Err(invalid(format!(
            "batch of {} bytes is not a whole number of {RECORD_SIZE}-byte records",
            records.len()
        )));
    }
    let records = records.chunks_exact(RECORD_SIZE);
    let mut hashes = HashTable::default();
    let mut compact = Vec::with_capacity(records.len());
    let mut details = Vec::new();
    for (i, bytes) in records.enumerate() {
        if bytes[0] != RECORD_VERSION {
            return Err(invalid(format!("record {i}: unsupported record version {}", bytes[0])));
        }
        let detail_len = bytes[80];
        let detail =
            bytes.get(81..81 + usize::from(detail_len)).filter(|_| usize::from(detail_len) <= RECORD_DETAIL_LEN);
        let Some(detail) = detail else {
            return Err(invalid(format!("record {i}: detail length {detail_len} exceeds {RECORD_DETAIL_LEN}")));
        };
        details.extend_from_slice(detail);
        let hash: &[u8; HASH_SIZE] = field(bytes, 24);
        compact.push(CompactRecord {
            head: *field(bytes, 1),
            detail_len,
            ident: *field(bytes, 4),
            body: *field(bytes, 56),
            hash: U32::new(hashes.index(hash)?),
        });
    }
    let header = RequestHeader {
        format: FORMAT,
        reserved: [0; 3],
        records: count(compact.len(), "records")?,
        hashes: count(hashes.list.len(), "hashes")?,
        detail_bytes: count(details.len(), "detail bytes")?,
    };
    let size =
        REQUEST_HEADER_SIZE + hashes.list.len() * HASH_SIZE + compact.len() * COMPACT_RECORD_SIZE + details.len();
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(header.as_bytes());
    body.extend_from_slice(hashes.list.as_bytes());
    body.extend_from_slice(compact.as_bytes());
    body.extend_from_slice(&details);
    Ok(body)
}

/// The `N` bytes of a 128-byte record at `offset` (a documented field).
fn field<const N: usize>(record: &[u8], offset: usize) -> &[u8; N] {
    // The offsets are the record layout's, all within its 128 bytes.
    <&[u8; N]>::try_from(&record[offset..offset + N]).unwrap_or(&[0; N])
}

/// The distinct applied hashes of a batch, in order of first use.
#[derive(Default)]
struct HashTable {
    list: Vec<[u8; HASH_SIZE]>,
    index: HashMap<[u8; HASH_SIZE], u32>,
    /// The index of the hash looked up last: most neighbours share one.
    last: Option<u32>,
}

impl HashTable {
    fn index(&mut self, hash: &[u8; HASH_SIZE]) -> fleetgov::Result<u32> {
        if hash == &[0; HASH_SIZE] {
            return Ok(NO_HASH);
        }
        if let Some(last) = self.last.filter(|&k| self.list.get(k as usize) == Some(hash)) {
            return Ok(last);
        }
        let next = count(self.list.len(), "hashes")?.get();
        let k = *self.index.entry(*hash).or_insert(next);
        if k == next {
            self.list.push(*hash);
        }
        self.last = Some(k);
        Ok(k)
    }
}

/// The 128-byte records of a format 2 request, expanded in a new buffer.
/// A malformed frame (a header or section that does not add up, a hash
/// index out of the table, details that do not fill their section) is
/// [`InvalidInput`](fleetgov::ErrorKind::InvalidInput); the records'
/// fields are left for the engine to validate.
///
/// ```
/// assert!(fleetgov_nats::compact::decode_request(&[2, 0, 0, 0]).is_err());
/// ```
pub fn decode_request(body: &[u8]) -> fleetgov::Result<Vec<u8>> {
    let (header, rest) = RequestHeader::ref_from_prefix(body)
        .map_err(|_| invalid(format!("format 2 request of {} bytes has no whole header", body.len())))?;
    if header.format != FORMAT || header.reserved != [0; 3] {
        return Err(invalid("format 2 request header is malformed".to_owned()));
    }
    let (n, k, d) = (header.records.get() as usize, header.hashes.get() as usize, header.detail_bytes.get() as usize);
    let expected = (k as u64 * HASH_SIZE as u64) + (n as u64 * COMPACT_RECORD_SIZE as u64) + d as u64;
    if rest.len() as u64 != expected {
        return Err(invalid(format!(
            "format 2 request of {} bytes does not hold {n} records, {k} hashes and {d} detail bytes",
            body.len()
        )));
    }
    let (hashes, rest) = rest.split_at(k * HASH_SIZE);
    let (compact, details) = rest.split_at(n * COMPACT_RECORD_SIZE);
    let hashes = <[[u8; HASH_SIZE]]>::ref_from_bytes(hashes).map_err(|_| invalid("hash table".to_owned()))?;
    let compact = <[CompactRecord]>::ref_from_bytes(compact).map_err(|_| invalid("records".to_owned()))?;
    let mut records = vec![0u8; n * RECORD_SIZE];
    let mut details = details;
    for (i, (c, out)) in compact.iter().zip(records.chunks_exact_mut(RECORD_SIZE)).enumerate() {
        let len = usize::from(c.detail_len);
        if len > RECORD_DETAIL_LEN || len > details.len() {
            return Err(invalid(format!("record {i}: detail length {len} exceeds what is left of the details")));
        }
        let hash = match c.hash.get() {
            NO_HASH => &[0; HASH_SIZE],
            k => hashes
                .get(k as usize)
                .ok_or_else(|| invalid(format!("record {i}: hash index {k} out of {}", hashes.len())))?,
        };
        let (detail, left) = details.split_at(len);
        details = left;
        out[0] = RECORD_VERSION;
        out[1..4].copy_from_slice(&c.head);
        out[4..24].copy_from_slice(&c.ident);
        out[24..56].copy_from_slice(hash);
        out[56..80].copy_from_slice(&c.body);
        out[80] = c.detail_len;
        out[81..81 + len].copy_from_slice(detail);
    }
    if !details.is_empty() {
        return Err(invalid(format!("{} detail bytes belong to no record", details.len())));
    }
    Ok(records)
}

/// Whether an outcome says nothing a sender must act on: accepted, no directive.
fn is_plain(outcome: &OutcomeRecord) -> bool {
    outcome.outcome() == Some(Outcome::Accepted) && outcome.directive().is_none()
}

/// The format 2 reply to a batch whose outcomes are `outcomes`: the
/// outcomes that are not a plain accept, with their indices.
pub fn encode_reply(outcomes: &[OutcomeRecord]) -> fleetgov::Result<Vec<u8>> {
    let listed: Vec<Listed> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| !is_plain(o))
        .map(|(i, o)| Ok(Listed { index: count(i, "records")?, outcome: *o }))
        .collect::<fleetgov::Result<_>>()?;
    let header = ReplyHeader {
        format: FORMAT,
        reserved: [0; 3],
        records: count(outcomes.len(), "records")?,
        listed: count(listed.len(), "outcomes")?,
    };
    let mut body = Vec::with_capacity(REPLY_HEADER_SIZE + listed.len() * LISTED_SIZE);
    body.extend_from_slice(header.as_bytes());
    body.extend_from_slice(listed.as_bytes());
    Ok(body)
}

/// The outcomes of a format 2 reply that answers `expected` records, one
/// per record. A reply that answers another count, lists an index out of
/// order or out of the batch, lists a plain accept, or does not add up is
/// [`InvalidInput`](fleetgov::ErrorKind::InvalidInput).
///
/// ```
/// use fleetgov_nats::compact::{decode_reply, encode_reply};
/// let plain = vec![fleetgov::record::OutcomeRecord::default(); 3];
/// let body = encode_reply(&plain).unwrap();
/// assert_eq!(body.len(), fleetgov_nats::compact::REPLY_HEADER_SIZE);
/// assert_eq!(decode_reply(&body, 3).unwrap().len(), 3);
/// assert!(decode_reply(&body, 4).is_err());
/// ```
pub fn decode_reply(body: &[u8], expected: usize) -> fleetgov::Result<Vec<OutcomeRecord>> {
    let (header, rest) = ReplyHeader::ref_from_prefix(body)
        .map_err(|_| invalid(format!("heartbeat reply of {} bytes has no whole format 2 header", body.len())))?;
    if header.format != FORMAT || header.reserved != [0; 3] {
        return Err(invalid(format!("heartbeat reply is not of format {FORMAT}")));
    }
    if header.records.get() as usize != expected {
        return Err(invalid(format!("heartbeat reply answers {} records, not {expected}", header.records.get())));
    }
    let listed =
        <[Listed]>::ref_from_bytes(rest).ok().filter(|l| l.len() == header.listed.get() as usize).ok_or_else(|| {
            invalid(format!("heartbeat reply of {} bytes does not hold {} outcomes", body.len(), header.listed.get()))
        })?;
    let mut outcomes = vec![OutcomeRecord::default(); expected];
    let mut next = 0;
    for l in listed {
        let i = l.index.get() as usize;
        if i < next || i >= expected {
            return Err(invalid(format!("heartbeat reply lists record {i} out of order or out of {expected}")));
        }
        if l.outcome.outcome().is_none() || is_plain(&l.outcome) || l.outcome.as_bytes()[1..4] != [0; 3] {
            return Err(invalid(format!("heartbeat reply lists a malformed outcome for record {i}")));
        }
        outcomes[i] = l.outcome;
        next = i + 1;
    }
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use fleetgov::record::HeartbeatRecord;
    use fleetgov::{ContentHash, Metrics, NodeHandle, ProcessStatus, SyncErrorCode};

    use super::*;

    fn record(i: u64) -> HeartbeatRecord {
        let m = Metrics { cpu: 10.0, memory: 20.0, tps: i as f32, heap: 40.0, hot_swap_errors: 5 };
        HeartbeatRecord::new(
            NodeHandle::from_raw(i + 1),
            1_000 + i,
            "3.6.1".parse().unwrap(),
            ProcessStatus::Starting,
            m,
        )
    }

    #[test]
    fn records_expand_to_exactly_what_was_encoded() {
        let records = [
            record(0),
            record(1).with_applied(3, ContentHash([0xab; 32])),
            record(2).with_sync_error(SyncErrorCode::ReloadFailure, "a detail"),
            record(3).with_applied(3, ContentHash([0xab; 32])),
            record(4)
                .with_applied(4, ContentHash([0xcd; 32]))
                .with_sync_error(SyncErrorCode::NatsTimeout, &"x".repeat(60)),
        ];
        let body = encode_request(records.as_bytes()).unwrap();
        let expected = REQUEST_HEADER_SIZE + 2 * HASH_SIZE + 5 * COMPACT_RECORD_SIZE + "a detail".len() + 47;
        assert_eq!(body.len(), expected, "two distinct hashes, two details");
        assert_eq!(decode_request(&body).unwrap(), records.as_bytes());
        assert_eq!(decode_request(&encode_request(&[]).unwrap()).unwrap(), b"");
    }

    #[test]
    fn records_the_format_cannot_carry_are_refused_with_their_index() {
        let mut bytes = [record(0), record(1)].as_bytes().to_vec();
        bytes[RECORD_SIZE] = 9;
        let e = encode_request(&bytes).unwrap_err();
        assert_eq!(e.kind(), fleetgov::ErrorKind::InvalidInput);
        assert!(e.message().starts_with("record 1: unsupported record version 9"), "{e}");
        bytes[RECORD_SIZE] = 1;
        bytes[RECORD_SIZE + 80] = 48;
        assert!(encode_request(&bytes).unwrap_err().message().starts_with("record 1: detail length 48"));
        assert!(encode_request(&bytes[..RECORD_SIZE + 1]).is_err());
    }

    #[test]
    fn malformed_requests_are_refused() {
        let records = [
            record(0).with_applied(1, ContentHash([1; 32])),
            record(1).with_sync_error(SyncErrorCode::ReloadFailure, "d"),
        ];
        let good = encode_request(records.as_bytes()).unwrap();
        const HASH_INDEX: usize = REQUEST_HEADER_SIZE + HASH_SIZE + COMPACT_RECORD_SIZE - 4;
        const DETAIL_LEN: usize = REQUEST_HEADER_SIZE + HASH_SIZE + COMPACT_RECORD_SIZE + 3;
        type Corrupt = fn(&mut Vec<u8>);
        let cases: [(&str, Corrupt); 8] = [
            ("format", |b| b[0] = 3),
            ("reserved", |b| b[1] = 1),
            ("truncated", |b| b.truncate(b.len() - 1)),
            ("trailing", |b| b.push(0)),
            ("record count", |b| b[4] += 1),
            ("hash index", |b| b[HASH_INDEX] = 1),
            ("detail longer than its section", |b| b[DETAIL_LEN] = 2),
            ("detail left over", |b| b[DETAIL_LEN] = 0),
        ];
        assert!(decode_request(&good).is_ok());
        for (what, corrupt) in cases {
            let mut bad = good.clone();
            corrupt(&mut bad);
            let e = decode_request(&bad).expect_err(what);
            assert_eq!(e.kind(), fleetgov::ErrorKind::InvalidInput, "{what}");
        }
        assert!(decode_request(&good[..10]).is_err());
    }

    fn outcome(o: Outcome, directive: Option<(u32, ContentHash)>) -> OutcomeRecord {
        let (revision, hash) = directive.unwrap_or_default();
        let mut bytes = [0u8; OUTCOME_SIZE];
        bytes[0] = o as u8;
        bytes[4..8].copy_from_slice(&revision.to_le_bytes());
        bytes[8..].copy_from_slice(&hash.0);
        OutcomeRecord::read_from_bytes(&bytes).unwrap()
    }

    #[test]
    fn a_reply_lists_only_what_says_something() {
        let plain = outcome(Outcome::Accepted, None);
        let outcomes = [
            plain,
            outcome(Outcome::Reconcile, Some((3, ContentHash([7; 32])))),
            plain,
            outcome(Outcome::Stale, None),
            outcome(Outcome::UnknownNode, None),
        ];
        let body = encode_reply(&outcomes).unwrap();
        assert_eq!(body.len(), REPLY_HEADER_SIZE + 3 * LISTED_SIZE);
        let back = decode_reply(&body, 5).unwrap();
        assert_eq!(back.as_bytes(), outcomes.as_bytes());
    }

    #[test]
    fn malformed_replies_are_refused() {
        let outcomes = [outcome(Outcome::Stale, None), outcome(Outcome::Future, None)];
        let good = encode_reply(&outcomes).unwrap();
        type Corrupt = fn(&mut Vec<u8>);
        const FIRST: usize = REPLY_HEADER_SIZE;
        const SECOND: usize = REPLY_HEADER_SIZE + LISTED_SIZE;
        let cases: [(&str, Corrupt); 8] = [
            ("format 1", |b| b[0] = 1),
            ("truncated", |b| b.truncate(b.len() - 1)),
            ("listed count", |b| b[8] = 1),
            ("out of order", |b| b[SECOND] = 0),
            ("out of the batch", |b| b[SECOND] = 2),
            ("a plain accept listed", |b| b[FIRST + 4] = 0),
            ("an unknown outcome", |b| b[FIRST + 4] = 42),
            ("reserved outcome bytes", |b| b[FIRST + 5] = 1),
        ];
        assert!(decode_reply(&good, 2).is_ok());
        assert!(decode_reply(&good, 3).is_err(), "another count");
        for (what, corrupt) in cases {
            let mut bad = good.clone();
            corrupt(&mut bad);
            let e = decode_reply(&bad, 2).expect_err(what);
            assert_eq!(e.kind(), fleetgov::ErrorKind::InvalidInput, "{what}");
        }
        assert!(decode_reply(&[], 0).is_err());
    }
}
