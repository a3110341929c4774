//! Self-checking frames, the unit of every append-only file of the data
//! directory (enrolments, journal segments): a 4-byte big-endian body
//! length, its CRC-32C, the body, the body's CRC-32C.
//!
//! A crash can leave only a *torn tail*: the last frame cut short, or its
//! length written and its body not. Reading stops there and reports where
//! the good frames end, so the writer continues from that point. A bad
//! frame that a crash cannot produce — a damaged length, or a whole frame
//! whose body does not match its checksum followed by more data — is
//! corruption, refused with [`AuditTampered`](crate::ErrorKind::AuditTampered).

use crate::error::{Error, ErrorKind, Result};

/// Length and its checksum.
const HEAD: usize = 8;
/// The body checksum.
const TAIL: usize = 4;
/// The largest body any data-directory record has.
pub(crate) const MAX_BODY: usize = 1 << 16;

/// Appends `body` to `out` as one frame.
pub(crate) fn push(out: &mut Vec<u8>, body: &[u8]) {
    debug_assert!(body.len() <= MAX_BODY);
    // Bodies are bounded by MAX_BODY, far below 4 GiB.
    let len = (body.len() as u32).to_be_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc32c::crc32c(&len).to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&crc32c::crc32c(body).to_be_bytes());
}

/// The frames of `bytes` and the length of the good prefix (where a torn
/// tail, if any, begins). `what` names the file in errors.
pub(crate) fn read<'a>(bytes: &'a [u8], what: &str) -> Result<(Vec<&'a [u8]>, usize)> {
    let mut bodies = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < HEAD {
            break; // torn in the head
        }
        let len = &rest[..4];
        if crc32c::crc32c(len).to_be_bytes() != rest[4..HEAD] {
            if rest.iter().all(|&b| b == 0) {
                break; // preallocated or zero-filled tail of a crashed append
            }
            return Err(corrupt(what, at, "a frame length fails its checksum"));
        }
        let body_len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if body_len > MAX_BODY {
            return Err(corrupt(what, at, "a frame is longer than any record"));
        }
        let Some(frame) = rest.get(..HEAD + body_len + TAIL) else {
            break; // torn in the body
        };
        let body = &frame[HEAD..HEAD + body_len];
        if crc32c::crc32c(body).to_be_bytes() != frame[HEAD + body_len..] {
            if rest.len() == frame.len() {
                break; // the last frame, not wholly written
            }
            return Err(corrupt(what, at, "a frame body fails its checksum"));
        }
        bodies.push(body);
        at += frame.len();
    }
    Ok((bodies, at))
}

fn corrupt(what: &str, at: usize, why: &str) -> Error {
    Error::new(ErrorKind::AuditTampered, format!("{what} is damaged at byte {at}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_a_torn_tail_is_cut() {
        let mut bytes = Vec::new();
        push(&mut bytes, b"one");
        push(&mut bytes, b"");
        push(&mut bytes, b"three");
        let whole = bytes.len();
        let (bodies, good) = read(&bytes, "f").unwrap();
        assert_eq!((bodies, good), (vec![&b"one"[..], b"", b"three"], whole));
        for cut in 1..(HEAD + 5 + TAIL) {
            let (bodies, good) = read(&bytes[..whole - cut], "f").unwrap();
            assert_eq!((bodies.len(), good), (2, whole - HEAD - 5 - TAIL), "cut {cut}");
        }
        bytes.extend_from_slice(&[0; 64]);
        assert_eq!(read(&bytes, "f").unwrap().1, whole, "a zero-filled tail is torn");
    }

    #[test]
    fn damage_a_crash_cannot_make_is_refused() {
        let mut bytes = Vec::new();
        push(&mut bytes, b"one");
        push(&mut bytes, b"two");
        let mut flipped = bytes.clone();
        flipped[HEAD] ^= 1;
        assert_eq!(read(&flipped, "f").unwrap_err().kind(), ErrorKind::AuditTampered);
        let mut length = bytes.clone();
        length[0] ^= 0x80;
        assert_eq!(read(&length, "f").unwrap_err().kind(), ErrorKind::AuditTampered);
        let mut last = bytes.clone();
        let n = last.len();
        last[n - 6] ^= 1;
        assert_eq!(read(&last, "f").unwrap().0.len(), 1, "the last frame's body may be torn");
    }
}
