//! Request and reply bodies of the protocol, and error replies.
//!
//! - Enrollment request: node ids separated by `\n` (no trailing newline
//!   needed; an empty line is an error). Reply: one 8-byte little-endian
//!   `NodeHandle::to_raw` per node, in request order.
//! - Heartbeat request, told apart by its first byte:
//!   - format 1 (first byte 1, the first record's version; or empty): whole
//!     128-byte heartbeat records. Reply: one 40-byte outcome record per
//!     heartbeat record (see `docs/heartbeat-record.md`).
//!   - format 2 (first byte 2): the compact batch ([`crate::compact`]).
//!     Reply: the outcomes that are not a plain accept, with their indices.
//!
//!   Any other first byte is refused with `INVALID_INPUT` naming the
//!   formats this build speaks.
//! - Error reply: an empty body and the header `Fleet-Error: <CODE>: <message>`,
//!   `CODE` being an engine error code (`INVALID_INPUT`, `NOT_FOUND`, ...).
//!   An error reply means nothing of the request was applied.

use async_nats::HeaderMap;
use fleetgov::record::{OUTCOME_SIZE, OutcomeRecord};
use fleetgov::{ErrorKind, NodeHandle, validate_id};

use crate::subject::ERROR_HEADER;

/// Bytes per node handle in an enrollment reply.
pub const HANDLE_SIZE: usize = 8;

/// The enrollment request body for `nodes`. An invalid id is refused.
///
/// ```
/// let body = fleetgov_nats::wire::enroll_request(&["gw-1", "gw-2"]).unwrap();
/// assert_eq!(body, b"gw-1\ngw-2");
/// assert!(fleetgov_nats::wire::enroll_request(&["gw\n1"]).is_err());
/// ```
pub fn enroll_request<S: AsRef<str>>(nodes: &[S]) -> fleetgov::Result<Vec<u8>> {
    let mut body = Vec::with_capacity(nodes.iter().map(|n| n.as_ref().len() + 1).sum());
    for (i, node) in nodes.iter().enumerate() {
        validate_id("node", node.as_ref())?;
        if i > 0 {
            body.push(b'\n');
        }
        body.extend_from_slice(node.as_ref().as_bytes());
    }
    Ok(body)
}

/// The node ids of an enrollment request body; every one is validated.
///
/// ```
/// assert_eq!(fleetgov_nats::wire::parse_enroll_request(b"a\nb").unwrap(), ["a", "b"]);
/// assert!(fleetgov_nats::wire::parse_enroll_request(b"").is_err());
/// assert!(fleetgov_nats::wire::parse_enroll_request(b"a\n\nb").is_err());
/// ```
pub fn parse_enroll_request(body: &[u8]) -> fleetgov::Result<Vec<&str>> {
    let text = std::str::from_utf8(body).map_err(|_| fleetgov::Error::invalid("enrollment request is not UTF-8"))?;
    if text.is_empty() {
        return Err(fleetgov::Error::invalid("enrollment request names no node"));
    }
    let nodes: Vec<&str> = text.split('\n').collect();
    for (i, node) in nodes.iter().enumerate() {
        validate_id("node", node).map_err(|e| e.context(format_args!("line {}", i + 1)))?;
    }
    Ok(nodes)
}

/// The enrollment reply body: 8 bytes little-endian per handle.
pub fn handles_reply(handles: &[NodeHandle]) -> Vec<u8> {
    handles.iter().flat_map(|h| h.to_raw().to_le_bytes()).collect()
}

/// The handles of an enrollment reply that answers `expected` nodes.
///
/// ```
/// use fleetgov::NodeHandle;
/// use fleetgov_nats::wire::{handles_reply, parse_handles};
/// let body = handles_reply(&[NodeHandle::from_raw(1), NodeHandle::from_raw(u64::MAX)]);
/// assert_eq!(parse_handles(&body, 2).unwrap(), [NodeHandle::from_raw(1), NodeHandle::from_raw(u64::MAX)]);
/// assert!(parse_handles(&body, 3).is_err());
/// ```
pub fn parse_handles(body: &[u8], expected: usize) -> fleetgov::Result<Vec<NodeHandle>> {
    if body.len() != expected * HANDLE_SIZE {
        return Err(fleetgov::Error::invalid(format!(
            "enrollment reply of {} bytes does not hold {expected} handles",
            body.len()
        )));
    }
    Ok(body
        .chunks_exact(HANDLE_SIZE)
        .map(|c| NodeHandle::from_raw(u64::from_le_bytes(c.try_into().unwrap_or_default())))
        .collect())
}

/// The format of a heartbeat request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchFormat {
    /// Format 1: whole 128-byte records; one 40-byte outcome each in reply.
    Records,
    /// Format 2: the compact batch and reply of [`crate::compact`].
    Compact,
}

/// The format of heartbeat request `body`, by its first byte. An empty body
/// is a format 1 batch of no records; a first byte of no format this build
/// speaks is [`InvalidInput`](ErrorKind::InvalidInput).
///
/// ```
/// use fleetgov_nats::wire::{BatchFormat, batch_format};
/// assert_eq!(batch_format(&[1; 128]).unwrap(), BatchFormat::Records);
/// assert_eq!(batch_format(&[2, 0, 0, 0]).unwrap(), BatchFormat::Compact);
/// assert!(batch_format(&[3]).unwrap_err().message().contains("format 3"));
/// ```
pub fn batch_format(body: &[u8]) -> fleetgov::Result<BatchFormat> {
    match body.first() {
        None | Some(1) => Ok(BatchFormat::Records),
        Some(&crate::compact::FORMAT) => Ok(BatchFormat::Compact),
        Some(other) => Err(fleetgov::Error::invalid(format!(
            "heartbeat batch format {other} is not spoken here (1: 128-byte records, 2: compact)"
        ))),
    }
}

/// The outcome records of a format 1 heartbeat reply that answers `expected` records.
pub fn parse_outcomes(body: &[u8], expected: usize) -> fleetgov::Result<Vec<OutcomeRecord>> {
    if body.len() != expected * OUTCOME_SIZE {
        return Err(fleetgov::Error::invalid(format!(
            "heartbeat reply of {} bytes does not hold {expected} outcomes",
            body.len()
        )));
    }
    let mut owned = body.to_vec();
    Ok(OutcomeRecord::from_bytes_mut(&mut owned)?.to_vec())
}

/// The headers of an error reply for `error`: `Fleet-Error: <CODE>: <message>`
/// (line breaks in the message become spaces).
///
/// ```
/// let h = fleetgov_nats::wire::error_headers(&fleetgov::Error::not_found("cluster 'x'"));
/// let e = fleetgov_nats::wire::reply_error(Some(&h)).unwrap();
/// assert_eq!((e.kind(), e.message()), (fleetgov::ErrorKind::NotFound, "cluster 'x' not found"));
/// ```
pub fn error_headers(error: &fleetgov::Error) -> HeaderMap {
    let value: String = error.to_string().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let mut headers = HeaderMap::new();
    headers.insert(ERROR_HEADER, value.as_str());
    headers
}

/// The engine error an error reply carries, if the reply is one. A code this
/// build does not know arrives as [`ErrorKind::InvalidInput`] with the code
/// kept in the message.
pub fn reply_error(headers: Option<&HeaderMap>) -> Option<fleetgov::Error> {
    let value = headers?.get(ERROR_HEADER)?.as_str();
    let (code, message) = value.split_once(": ").unwrap_or((value, ""));
    Some(match kind_from_code(code) {
        Some(kind) => fleetgov::Error::new(kind, message.to_owned()),
        None => fleetgov::Error::invalid(value.to_owned()),
    })
}

/// The engine error kinds, by their codes.
const KINDS: [ErrorKind; 10] = [
    ErrorKind::InvalidInput,
    ErrorKind::NotFound,
    ErrorKind::Conflict,
    ErrorKind::StaleHeartbeat,
    ErrorKind::FutureHeartbeat,
    ErrorKind::JustificationRequired,
    ErrorKind::PermissionDenied,
    ErrorKind::AuditTampered,
    ErrorKind::Io,
    ErrorKind::ReloadFailure,
];

fn kind_from_code(code: &str) -> Option<ErrorKind> {
    KINDS.into_iter().find(|k| k.code() == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_survives_an_error_reply() {
        for kind in KINDS {
            let e = fleetgov::Error::new(kind, "line one\r\nline two");
            let back = reply_error(Some(&error_headers(&e))).unwrap();
            assert_eq!((back.kind(), back.message()), (kind, "line one  line two"));
        }
    }

    #[test]
    fn an_unknown_code_keeps_its_text() {
        let mut h = HeaderMap::new();
        h.insert(ERROR_HEADER, "NEW_KIND: something");
        let e = reply_error(Some(&h)).unwrap();
        assert_eq!((e.kind(), e.message()), (ErrorKind::InvalidInput, "NEW_KIND: something"));
        assert!(reply_error(Some(&HeaderMap::new())).is_none());
        assert!(reply_error(None).is_none());
    }

    #[test]
    fn enrollment_bodies_round_trip() {
        let nodes = ["gw-1", "gw.2", "gw:3"];
        let body = enroll_request(&nodes).unwrap();
        assert_eq!(parse_enroll_request(&body).unwrap(), nodes);
        assert!(parse_enroll_request(b"a\n").is_err());
        assert!(parse_enroll_request(&[0xff, 0xfe]).is_err());
        assert!(parse_enroll_request(b"a b").is_err());
    }

    #[test]
    fn outcome_replies_must_be_whole() {
        assert_eq!(parse_outcomes(&[0; 80], 2).unwrap().len(), 2);
        assert!(parse_outcomes(&[0; 79], 2).is_err());
        assert!(parse_outcomes(&[0; 80], 1).is_err());
    }
}
