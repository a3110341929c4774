//! The file layout of a durable audit log: a header, then one frame per
//! record, and the rules that tell a torn tail from corruption.
//! The full specification is [`format`](mod@super::format).

use super::record::{AuditRecord, MAX_PAYLOAD_LEN, MAX_RECORD_LEN};
use super::verify::{Chain, tampered};
use crate::error::{Error, ErrorKind, Result};

/// The first 16 bytes of every audit log file.
const MAGIC: [u8; 16] = *b"fleetgov audit\n\0";
/// The file format version written after the magic. Version 1 (records
/// whose tree was hashed with blake3) is refused.
const FILE_VERSION: u32 = 2;
/// Magic, version, checksum.
pub(crate) const HEADER_LEN: usize = 24;
/// Length and its checksum.
const FRAME_HEAD: usize = 8;
/// The body checksum.
const FRAME_TAIL: usize = 4;
/// The largest frame body: record length, record, payload.
const MAX_BODY: usize = 4 + MAX_RECORD_LEN + MAX_PAYLOAD_LEN;

/// The 24-byte file header.
pub(crate) fn header() -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..16].copy_from_slice(&MAGIC);
    h[16..20].copy_from_slice(&FILE_VERSION.to_be_bytes());
    let crc = crc32c::crc32c(&h[..20]);
    h[20..].copy_from_slice(&crc.to_be_bytes());
    h
}

/// The frame that stores `record`.
pub(crate) fn encode(record: &AuditRecord) -> Vec<u8> {
    let encoded = record.encode();
    let body_len = 4 + encoded.len() + record.payload.len();
    let mut frame = Vec::with_capacity(FRAME_HEAD + body_len + FRAME_TAIL);
    // Both lengths are bounded by the entry limits (MAX_BODY < 4 GiB).
    let len = (body_len as u32).to_be_bytes();
    frame.extend_from_slice(&len);
    frame.extend_from_slice(&crc32c::crc32c(&len).to_be_bytes());
    frame.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
    frame.extend_from_slice(&encoded);
    frame.extend_from_slice(&record.payload);
    let crc = crc32c::crc32c(&frame[FRAME_HEAD..]);
    frame.extend_from_slice(&crc.to_be_bytes());
    frame
}

impl AuditRecord {
    /// The record as one self-checking frame (length, checksums, record,
    /// payload): how it is stored in a log file and sent through an
    /// [`AuditStore`](super::AuditStore).
    ///
    /// ```
    /// use fleetgov::audit::{AuditAction, AuditEntry, AuditLog, AuditRecord};
    /// use fleetgov::Role;
    /// let log = AuditLog::in_memory();
    /// let record = log.append(AuditEntry::new(1, "alice", Role::Admin, AuditAction::Publish, "eks-prod-us")).unwrap();
    /// let frame = record.to_frame();
    /// assert_eq!(AuditRecord::from_frame(&frame).unwrap(), *record);
    /// assert!(AuditRecord::from_frame(&frame[..frame.len() - 1]).is_err());
    /// ```
    pub fn to_frame(&self) -> Vec<u8> {
        encode(self)
    }

    /// The record in `frame`, which must be exactly one whole, intact frame
    /// ([`InvalidInput`](ErrorKind::InvalidInput) otherwise). The payload is
    /// not checked against its hash here; appending to a log does that.
    pub fn from_frame(frame: &[u8]) -> Result<AuditRecord> {
        match self::frame(frame) {
            Frame::Complete { record, payload, len } if len == frame.len() => {
                AuditRecord::decode(record, payload.to_vec())
            }
            Frame::Complete { len, .. } => Err(Error::invalid(format!("{} bytes after the frame", frame.len() - len))),
            Frame::Cut => Err(Error::invalid("the frame is cut short")),
            Frame::BadHead => Err(Error::invalid("the frame is corrupt: its frame length checksum does not match")),
            Frame::BadBody { .. } => Err(Error::invalid("the frame is corrupt: its checksum does not match")),
            Frame::Corrupt(why) => Err(Error::invalid(format!("the frame is corrupt: {why}"))),
        }
    }
}

/// What a file holds.
pub(crate) enum Contents {
    /// No complete header: an empty file, or one whose creation was cut
    /// short (a prefix of the header, or at most a header's length of zero bytes).
    Blank,
    /// A log: its valid records and what follows them.
    Log(Scan),
}

/// The valid prefix of a log file.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// The records, in order, verified.
    pub records: Vec<AuditRecord>,
    /// Their chain (and Merkle tree).
    pub chain: Chain,
    /// The file offset just after the last valid frame.
    pub end: u64,
    /// How many bytes after `end` are a torn tail.
    pub torn: u64,
}

/// The unit a storage device writes atomically: after a crash each
/// 512-byte sector of the file (aligned to file offsets) that was not yet
/// made durable holds either what was written or zeros, never a mix.
const SECTOR: usize = 512;

fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}

fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// Parses a whole file: header, frames, tail.
///
/// Errors: a file that is not an audit log is
/// [`InvalidInput`](ErrorKind::InvalidInput); a damaged header, a damaged
/// or inconsistent record, or a tail no crash can leave (see [`check_tail`])
/// is [`AuditTampered`](ErrorKind::AuditTampered), naming the first bad record.
pub(crate) fn parse(bytes: &[u8]) -> Result<Contents> {
    // Creating a log writes the 24-byte header in one sector and fsyncs it:
    // a crash before that leaves a prefix of the header or, when the size
    // reached the disk but the sector did not, zeros up to the header's length.
    if (bytes.len() < HEADER_LEN && header().starts_with(bytes)) || (bytes.len() <= HEADER_LEN && all_zero(bytes)) {
        return Ok(Contents::Blank);
    }
    if all_zero(bytes) {
        return Err(Error::new(
            ErrorKind::AuditTampered,
            format!(
                "the audit log file is {} zero bytes: no crash leaves that once its header was made durable \
                 (refusing to start a new log over it)",
                bytes.len()
            ),
        ));
    }
    if bytes.len() < HEADER_LEN || bytes[..16] != MAGIC {
        return Err(Error::invalid("not a fleetgov audit log (no audit log header)"));
    }
    if crc32c::crc32c(&bytes[..20]) != be32(&bytes[20..24]) {
        return Err(Error::new(ErrorKind::AuditTampered, "the audit log's file header is corrupt"));
    }
    let version = be32(&bytes[16..20]);
    if version == 1 {
        return Err(Error::invalid(
            "audit log file format 1 (a blake3 audit tree) is no longer supported: this fleetgov reads format 2 \
             (an RFC 6962 SHA-256 tree) only; move the old file aside and start a new audit log",
        ));
    }
    if version != FILE_VERSION {
        return Err(Error::invalid(format!("audit log file format {version} is not supported")));
    }
    let mut scan = Scan::default();
    let mut pos = HEADER_LEN;
    loop {
        let rest = &bytes[pos..];
        scan.end = pos as u64;
        if rest.is_empty() {
            return Ok(Contents::Log(scan));
        }
        let seq = scan.records.len() as u64;
        let (record, len) = match frame(rest) {
            Frame::Complete { record, payload, len } => {
                let record = AuditRecord::decode(record, payload.to_vec())
                    .map_err(|e| tampered(seq, format!("{} (frame at byte {pos})", e.message())))?;
                (record, len)
            }
            _ => {
                check_tail(bytes, pos, seq)?;
                scan.torn = rest.len() as u64;
                return Ok(Contents::Log(scan));
            }
        };
        scan.chain.push(&record)?;
        scan.records.push(record);
        pos += len;
    }
}

/// Checks that `bytes[start..]`, which does not begin with a whole valid
/// frame, is a tail a crash can leave; if not, the file was tampered with
/// at record `seq`.
///
/// The crash model (see the format docs): appends write whole frames at the
/// end of the file, and a record is acknowledged only after an fsync that
/// covers it. A frame that is not whole and valid was therefore never made
/// durable, and neither was anything written after it. In that unsynced
/// region a crash may leave the file at any length, and each sector holds
/// the written bytes or zeros. So the tail must read as frames, each whole
/// and valid (with the next sequence number), or failing its checksum where
/// an all-zero sector overlaps it, up to a frame the file's end cuts short.
/// A frame head that fails its checksum in an all-zero sector loses the
/// frame's length; what follows cannot be framed and is taken as torn.
fn check_tail(bytes: &[u8], start: usize, seq: u64) -> Result<()> {
    // Whether a sector overlapping `from..to` reads as zeros from `start` on.
    let zeroed = |from: usize, to: usize| {
        let to = to.min(bytes.len());
        (from / SECTOR * SECTOR..to).step_by(SECTOR).any(|sector| {
            let region = &bytes[sector.max(start)..(sector + SECTOR).min(bytes.len())];
            !region.is_empty() && all_zero(region)
        })
    };
    let mut pos = start;
    let mut expected = seq;
    while pos < bytes.len() {
        let bad = |why: &str| tampered(expected, format!("{why} (frame at byte {pos})"));
        match frame(&bytes[pos..]) {
            Frame::Cut => return Ok(()),
            Frame::BadHead if zeroed(pos, pos + FRAME_HEAD) => return Ok(()),
            Frame::BadHead => return Err(bad("its frame length checksum does not match")),
            Frame::BadBody { len } if zeroed(pos + FRAME_HEAD, pos + len) => pos += len,
            Frame::BadBody { .. } => return Err(bad("its checksum does not match")),
            Frame::Corrupt(why) => return Err(bad(why)),
            Frame::Complete { record, payload, len } => {
                let record = AuditRecord::decode(record, payload.to_vec()).map_err(|e| bad(e.message()))?;
                if record.seq != expected {
                    return Err(bad(&format!("it holds seq {} after a torn frame", record.seq)));
                }
                pos += len;
            }
        }
        expected += 1;
    }
    Ok(())
}

enum Frame<'a> {
    /// A whole frame whose checksums match.
    Complete { record: &'a [u8], payload: &'a [u8], len: usize },
    /// Cut short by the end of the data: fewer bytes than a frame head, or
    /// than its valid head announces.
    Cut,
    /// The frame head's checksum does not match.
    BadHead,
    /// A whole frame (`len` bytes) whose body checksum does not match.
    BadBody { len: usize },
    /// A valid head or body that no writer makes.
    Corrupt(&'static str),
}

/// Reads the frame at the start of `rest` (non-empty).
fn frame(rest: &[u8]) -> Frame<'_> {
    if rest.len() < FRAME_HEAD {
        return Frame::Cut;
    }
    if crc32c::crc32c(&rest[..4]) != be32(&rest[4..8]) {
        return Frame::BadHead;
    }
    let body_len = be32(rest) as usize;
    if !(4..=MAX_BODY).contains(&body_len) {
        return Frame::Corrupt("its frame length is impossible");
    }
    let len = FRAME_HEAD + body_len + FRAME_TAIL;
    if rest.len() < len {
        return Frame::Cut;
    }
    let body = &rest[FRAME_HEAD..FRAME_HEAD + body_len];
    if crc32c::crc32c(body) != be32(&rest[FRAME_HEAD + body_len..]) {
        return Frame::BadBody { len };
    }
    let record_len = be32(body) as usize;
    if record_len > body_len - 4 {
        return Frame::Corrupt("its record length exceeds its frame");
    }
    let (record, payload) = body[4..].split_at(record_len);
    Frame::Complete { record, payload, len }
}

#[cfg(test)]
mod tests {
    use super::super::hasher::TreeHash;
    use super::super::record::{AuditAction, AuditEntry};
    use super::*;
    use crate::Role;

    fn file(n: u64) -> (Vec<u8>, Vec<usize>) {
        let mut bytes = header().to_vec();
        let mut starts = Vec::new();
        let mut prev = TreeHash::default();
        for seq in 0..n {
            let entry =
                AuditEntry::new(seq, "op", Role::Operator, AuditAction::Publish, "c-1")
                    .payload(vec![seq as u8; seq as usize * 3]);
            let record = AuditRecord::chain(entry, seq, prev);
            prev = record.leaf_hash();
            starts.push(bytes.len());
            bytes.extend_from_slice(&encode(&record));
        }
        (bytes, starts)
    }

    fn log(bytes: &[u8]) -> Scan {
        match parse(bytes).unwrap() {
            Contents::Log(scan) => scan,
            Contents::Blank => panic!("blank"),
        }
    }

    fn bad_seq(bytes: &[u8]) -> String {
        let Err(e) = parse(bytes) else { panic!("accepted") };
        assert_eq!(e.kind(), ErrorKind::AuditTampered, "{e}");
        e.message().to_string()
    }

    #[test]
    fn clean_file_parses_to_all_records() {
        let (bytes, _) = file(4);
        let scan = log(&bytes);
        assert_eq!(scan.records.len(), 4);
        assert_eq!((scan.end, scan.torn), (bytes.len() as u64, 0));
    }

    #[test]
    fn blank_files() {
        assert!(matches!(parse(&[]).unwrap(), Contents::Blank));
        assert!(matches!(parse(&header()[..7]).unwrap(), Contents::Blank));
        assert!(matches!(parse(&[0; HEADER_LEN]).unwrap(), Contents::Blank));
        assert_eq!(parse(&[0; HEADER_LEN + 1]).err().unwrap().kind(), ErrorKind::AuditTampered);
        assert_eq!(parse(&[0; 100]).err().unwrap().kind(), ErrorKind::AuditTampered);
        assert_eq!(parse(b"hello world").err().unwrap().kind(), ErrorKind::InvalidInput);
        assert_eq!(parse(&[b'x'; 100]).err().unwrap().kind(), ErrorKind::InvalidInput);
        let mut v3 = header();
        v3[19] = 3;
        assert_eq!(parse(&v3).err().unwrap().kind(), ErrorKind::AuditTampered);
        // A version-1 file with an intact header checksum is refused by name.
        let mut v1 = header();
        v1[19] = 1;
        let crc = crc32c::crc32c(&v1[..20]);
        v1[20..].copy_from_slice(&crc.to_be_bytes());
        let e = parse(&v1).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().starts_with("audit log file format 1 (a blake3 audit tree) is no longer supported"), "{e}");
    }

    #[test]
    fn every_prefix_of_a_frame_is_a_torn_tail() {
        let (bytes, starts) = file(3);
        let last = starts[2];
        for cut in last + 1..bytes.len() {
            let scan = log(&bytes[..cut]);
            assert_eq!(scan.records.len(), 2, "cut at {cut}");
            assert_eq!((scan.end, scan.torn), (last as u64, (cut - last) as u64));
        }
    }

    #[test]
    fn zero_filled_tails_are_torn() {
        let (mut bytes, _) = file(2);
        let end = bytes.len() as u64;
        bytes.extend_from_slice(&[0; 4096]);
        let scan = log(&bytes);
        assert_eq!((scan.records.len(), scan.end, scan.torn), (2, end, 4096));
    }

    #[test]
    fn a_complete_last_frame_with_a_bad_checksum_is_corruption_not_a_tear() {
        let (mut bytes, _) = file(3);
        let n = bytes.len();
        bytes[n - 1] ^= 1;
        assert!(bad_seq(&bytes).starts_with("audit record 2 is bad: its checksum"));
    }

    #[test]
    fn any_flipped_byte_names_its_record() {
        let (bytes, starts) = file(5);
        for at in HEADER_LEN..bytes.len() {
            let seq = starts.iter().rposition(|&s| s <= at).unwrap();
            for mask in [0x01, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[at] ^= mask;
                let msg = bad_seq(&bad);
                assert!(msg.starts_with(&format!("audit record {seq} ")), "byte {at}: {msg}");
            }
        }
        for at in 0..HEADER_LEN {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(parse(&bad).is_err(), "header byte {at}");
        }
    }
}
