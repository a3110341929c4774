//! The sync-error taxonomy shared by the agent (which reports) and the engine
//! (which groups divergent nodes by root cause).
//!
//! A sync error travels as `CODE: detail`, e.g.
//! `RELOAD_FAILURE: Incompatible Filter Signature`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Why a node could not apply its desired configuration. The `u8` values are
/// stable: they travel in the binary heartbeat record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[repr(u8)]
pub enum SyncErrorCode {
    /// The gateway could not hot-swap the configuration.
    ReloadFailure = 1,
    /// The bytes a node applied do not hash to the authority's hash.
    HashMismatch = 2,
    /// Fetching the snapshot timed out.
    FetchTimeout = 3,
    /// The NATS transport did not deliver the snapshot in time.
    NatsTimeout = 4,
    /// The process ran short of memory while loading the configuration.
    MemoryPressure = 5,
    /// The JVM ran short of heap while loading the configuration.
    JvmMemoryPressure = 6,
    /// The runtime is too old for the configuration.
    IncompatibleVersion = 7,
    /// The configuration failed the gateway's validation.
    ValidationFailed = 8,
    /// The JVM gateway's reload failed (seen in the seeds as `JVM_RELOAD_FAILED`).
    JvmReloadFailed = 9,
    /// A code outside this taxonomy; the full text is kept in the detail.
    Other = 255,
}

impl SyncErrorCode {
    /// Every code, in `u8` order.
    pub const ALL: [SyncErrorCode; 10] = [
        SyncErrorCode::ReloadFailure,
        SyncErrorCode::HashMismatch,
        SyncErrorCode::FetchTimeout,
        SyncErrorCode::NatsTimeout,
        SyncErrorCode::MemoryPressure,
        SyncErrorCode::JvmMemoryPressure,
        SyncErrorCode::IncompatibleVersion,
        SyncErrorCode::ValidationFailed,
        SyncErrorCode::JvmReloadFailed,
        SyncErrorCode::Other,
    ];

    /// The stable text form, e.g. `"RELOAD_FAILURE"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncErrorCode::ReloadFailure => "RELOAD_FAILURE",
            SyncErrorCode::HashMismatch => "HASH_MISMATCH",
            SyncErrorCode::FetchTimeout => "FETCH_TIMEOUT",
            SyncErrorCode::NatsTimeout => "NATS_TIMEOUT",
            SyncErrorCode::MemoryPressure => "MEMORY_PRESSURE",
            SyncErrorCode::JvmMemoryPressure => "JVM_MEMORY_PRESSURE",
            SyncErrorCode::IncompatibleVersion => "INCOMPATIBLE_VERSION",
            SyncErrorCode::ValidationFailed => "VALIDATION_FAILED",
            SyncErrorCode::JvmReloadFailed => "JVM_RELOAD_FAILED",
            SyncErrorCode::Other => "OTHER",
        }
    }

    /// The code for its text form; `None` for a code outside the taxonomy.
    pub fn from_name(name: &str) -> Option<Self> {
        SyncErrorCode::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The code for its stable `u8`.
    pub fn from_u8(value: u8) -> Option<Self> {
        SyncErrorCode::ALL.into_iter().find(|c| *c as u8 == value)
    }

    /// A dense index `0..ALL.len()` for per-code counters.
    pub(crate) fn index(self) -> usize {
        SyncErrorCode::ALL.iter().position(|c| *c == self).unwrap_or(SyncErrorCode::ALL.len() - 1)
    }
}

impl fmt::Display for SyncErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest sync-error detail the engine keeps from a heartbeat, in UTF-8
/// bytes: what a binary heartbeat record carries (see [`crate::execution::heartbeat_record`]).
///
/// Every ingest path (a single heartbeat, a batch of records, an agent's
/// heartbeat in either form) keeps the same text: a longer detail is cut to
/// its first `MAX_DETAIL_LEN` bytes at a character boundary, never refused
/// (a node that is failing must still be heard). See [`cut_detail`].
pub const MAX_DETAIL_LEN: usize = 47;

/// The part of a node-reported detail the engine keeps: `detail` cut to at
/// most [`MAX_DETAIL_LEN`] bytes, at a character boundary.
///
/// ```
/// use fleetgov::{MAX_DETAIL_LEN, cut_detail};
/// assert_eq!(cut_detail("Incompatible Filter Signature"), "Incompatible Filter Signature");
/// let long = "é".repeat(30); // 60 bytes
/// assert_eq!(cut_detail(&long), "é".repeat(23)); // 46 bytes: the 47th would split a character
/// assert!(cut_detail(&"x".repeat(100)).len() == MAX_DETAIL_LEN);
/// ```
pub fn cut_detail(detail: &str) -> &str {
    if detail.len() <= MAX_DETAIL_LEN {
        return detail;
    }
    let mut cut = MAX_DETAIL_LEN;
    while !detail.is_char_boundary(cut) {
        cut -= 1;
    }
    &detail[..cut]
}

/// A machine code and a human detail.
///
/// A value keeps its detail whole (an agent shows its gateway the full
/// text); the engine keeps the first [`MAX_DETAIL_LEN`] bytes of a detail a
/// node reports (see [`cut_detail`]).
///
/// ```
/// use fleetgov::{SyncError, SyncErrorCode};
/// let e: SyncError = "RELOAD_FAILURE: Incompatible Filter Signature".parse().unwrap();
/// assert_eq!(e.code, SyncErrorCode::ReloadFailure);
/// assert_eq!(e.detail, "Incompatible Filter Signature");
/// assert_eq!(e.to_string(), "RELOAD_FAILURE: Incompatible Filter Signature");
/// // Codes outside the taxonomy are kept whole, under OTHER.
/// let o: SyncError = "DISK_FULL: /var".parse().unwrap();
/// assert_eq!((o.code, o.to_string().as_str()), (SyncErrorCode::Other, "DISK_FULL: /var"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncError {
    /// The machine code.
    pub code: SyncErrorCode,
    /// The human detail. For [`SyncErrorCode::Other`] it is the whole
    /// `CODE: detail` text as the node sent it.
    pub detail: String,
}

impl SyncError {
    /// A sync error with `code` and `detail`.
    pub fn new(code: SyncErrorCode, detail: impl Into<String>) -> Self {
        SyncError { code, detail: detail.into() }
    }
}

impl std::str::FromStr for SyncError {
    type Err = Error;

    /// Parses `CODE: detail` (or a bare `CODE`). The code is upper snake case.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let (code, detail) = match s.split_once(':') {
            Some((c, d)) => (c.trim(), d.trim()),
            None => (s, ""),
        };
        let well_formed =
            !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !well_formed {
            return Err(Error::invalid(format!(
                "sync error {s:?} must read 'CODE: detail' with an UPPER_SNAKE_CASE code"
            )));
        }
        Ok(match SyncErrorCode::from_name(code) {
            Some(c) => SyncError::new(c, detail),
            None => SyncError::new(SyncErrorCode::Other, s),
        })
    }
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.detail.is_empty()) {
            (SyncErrorCode::Other, _) => f.write_str(&self.detail),
            (c, true) => f.write_str(c.as_str()),
            (c, false) => write!(f, "{}: {}", c, self.detail),
        }
    }
}

/// The sync-error details nodes reported, by slot. The slot's state word
/// holds the code; the detail text lives here, written only when a node's
/// error changes and outside its slot lock. Each entry carries the time of
/// the heartbeat that wrote it, so a write that lost a race to a newer
/// heartbeat of the same node never replaces the newer detail.
#[derive(Default)]
pub(crate) struct SyncErrorDetails {
    by_slot: dashmap::DashMap<u32, (u64, Option<SyncError>)>,
}

impl SyncErrorDetails {
    /// Records the error (or its absence) reported by the heartbeat of
    /// `slot` at `at_ms`, unless a newer heartbeat's record is there.
    pub(crate) fn record(&self, slot: u32, at_ms: u64, error: Option<(SyncErrorCode, &str)>) {
        let detail = error.map(|(code, detail)| SyncError::new(code, detail));
        let mut entry = self.by_slot.entry(slot).or_insert((at_ms, None));
        if entry.0 <= at_ms {
            *entry = (at_ms, detail);
        }
    }

    /// Forgets what `slot` reported (its node was removed).
    pub(crate) fn forget(&self, slot: u32) {
        self.by_slot.remove(&slot);
    }

    /// The detail `slot` reported last, if its last report carried one.
    pub(crate) fn get(&self, slot: u32) -> Option<SyncError> {
        self.by_slot.get(&slot).and_then(|e| e.1.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_text_and_u8() {
        for c in SyncErrorCode::ALL {
            assert_eq!(SyncErrorCode::from_name(c.as_str()), Some(c));
            assert_eq!(SyncErrorCode::from_u8(c as u8), Some(c));
        }
        assert_eq!(SyncErrorCode::from_u8(0), None);
    }

    #[test]
    fn seed_errors_parse() {
        for (text, code) in [
            ("RELOAD_FAILURE: Incompatible Filter Signature", SyncErrorCode::ReloadFailure),
            ("NATS_TIMEOUT: Failed to receive snapshot", SyncErrorCode::NatsTimeout),
            ("JVM_MEMORY_PRESSURE: OOM during policy load", SyncErrorCode::JvmMemoryPressure),
            ("JVM_RELOAD_FAILED: Incompatible Filter Signature", SyncErrorCode::JvmReloadFailed),
        ] {
            let e: SyncError = text.parse().unwrap();
            assert_eq!(e.code, code);
            assert_eq!(e.to_string(), text);
        }
    }

    #[test]
    fn malformed_sync_errors_are_invalid() {
        for bad in ["", "   ", "lower: case", ": no code", "BAD CODE: x"] {
            assert!(bad.parse::<SyncError>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_older_report_never_replaces_a_newer_detail() {
        let details = SyncErrorDetails::default();
        details.record(7, 20, Some((SyncErrorCode::NatsTimeout, "newer")));
        details.record(7, 10, Some((SyncErrorCode::ReloadFailure, "older")));
        assert_eq!(details.get(7).map(|e| e.detail), Some("newer".to_owned()));
        details.record(7, 30, None);
        details.record(7, 25, Some((SyncErrorCode::ReloadFailure, "late")));
        assert_eq!(details.get(7), None);
    }

    #[test]
    fn long_details_are_cut_at_a_char_boundary() {
        for len in 0..=3 * MAX_DETAIL_LEN {
            for unit in ["x", "é", "€", "😀"] {
                let detail = unit.repeat(len);
                let cut = cut_detail(&detail);
                assert!(detail.starts_with(cut) && cut.len() <= MAX_DETAIL_LEN);
                // Nothing is cut that fits, and no more than one character's worth otherwise.
                let expected = detail.len().min(MAX_DETAIL_LEN) / unit.len() * unit.len();
                assert_eq!(cut.len(), expected, "{unit} x {len}");
            }
        }
    }
}
