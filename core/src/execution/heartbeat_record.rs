#![doc = include_str!("../../../docs/heartbeat-record.md")]

use zerocopy::little_endian::{F32, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::error::{Error, Result};
use crate::execution::heartbeat::Metrics;
use crate::execution::sync_error::SyncErrorCode;
use crate::hash::ContentHash;
use crate::health::ProcessStatus;
use crate::version::RuntimeVersion;

/// The record format version this build reads and writes.
pub const RECORD_VERSION: u8 = 1;
/// Bytes per heartbeat record.
pub const RECORD_SIZE: usize = 128;
/// Bytes per outcome record.
pub const OUTCOME_SIZE: usize = 40;
/// The longest sync-error detail a record carries: the engine's one limit,
/// [`MAX_DETAIL_LEN`](crate::MAX_DETAIL_LEN).
pub const RECORD_DETAIL_LEN: usize = crate::execution::sync_error::MAX_DETAIL_LEN;

const FLAG_APPLIED: u8 = 1;

/// One heartbeat record, readable in place from any byte buffer.
///
/// ```
/// use fleetgov::record::{HeartbeatRecord, RECORD_SIZE};
/// use fleetgov::{Metrics, NodeHandle, ProcessStatus};
/// let r = HeartbeatRecord::new(NodeHandle::from_raw(7), 1_000, "3.5.0".parse().unwrap(), ProcessStatus::Ready, Metrics::default());
/// let bytes = zerocopy::IntoBytes::as_bytes(&r).to_vec();
/// assert_eq!(bytes.len(), RECORD_SIZE);
/// let decoded = HeartbeatRecord::decode_all(&bytes).unwrap();
/// assert_eq!(decoded[0].handle(), NodeHandle::from_raw(7));
/// ```
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct HeartbeatRecord {
    version: u8,
    status: u8,
    error_code: u8,
    flags: u8,
    revision: U32,
    handle: U64,
    at_ms: U64,
    hash: [u8; 32],
    runtime_version: U32,
    cpu: F32,
    memory: F32,
    tps: F32,
    heap: F32,
    hot_swap_errors: U32,
    detail_len: u8,
    detail: [u8; RECORD_DETAIL_LEN],
}

const _: () = assert!(std::mem::size_of::<HeartbeatRecord>() == RECORD_SIZE);

impl HeartbeatRecord {
    /// A record of a node that applied nothing and reports no error.
    pub fn new(
        handle: crate::NodeHandle,
        at_ms: u64,
        version: RuntimeVersion,
        status: ProcessStatus,
        metrics: Metrics,
    ) -> Self {
        HeartbeatRecord {
            version: RECORD_VERSION,
            status: status as u8,
            error_code: 0,
            flags: 0,
            revision: 0.into(),
            handle: handle.to_raw().into(),
            at_ms: at_ms.into(),
            hash: [0; 32],
            runtime_version: version.to_bits().into(),
            cpu: metrics.cpu.into(),
            memory: metrics.memory.into(),
            tps: metrics.tps.into(),
            heap: metrics.heap.into(),
            hot_swap_errors: metrics.hot_swap_errors.into(),
            detail_len: 0,
            detail: [0; RECORD_DETAIL_LEN],
        }
    }

    /// Reports revision `revision` of the node's cluster, with the hash the node computed.
    pub fn with_applied(mut self, revision: u32, hash: ContentHash) -> Self {
        self.flags |= FLAG_APPLIED;
        self.revision = revision.into();
        self.hash = hash.0;
        self
    }

    /// Reports a sync error; the detail is cut as the engine cuts every
    /// reported detail ([`cut_detail`](crate::cut_detail): 47 bytes at a
    /// character boundary).
    pub fn with_sync_error(mut self, code: SyncErrorCode, detail: &str) -> Self {
        let detail = crate::execution::sync_error::cut_detail(detail).as_bytes();
        self.error_code = code as u8;
        self.detail = [0; RECORD_DETAIL_LEN];
        self.detail[..detail.len()].copy_from_slice(detail);
        // At most 47: fits the length byte.
        self.detail_len = detail.len() as u8;
        self
    }

    /// Views `bytes` as records and validates every one, without copying.
    /// Errors name the first bad record's index.
    pub fn decode_all(bytes: &[u8]) -> Result<&[HeartbeatRecord]> {
        let records = Self::view_all(bytes)?;
        for (i, r) in records.iter().enumerate() {
            r.validate().map_err(|e| e.context(format_args!("record {i}")))?;
        }
        Ok(records)
    }

    /// Views `bytes` as records without validating their fields.
    pub(crate) fn view_all(bytes: &[u8]) -> Result<&[HeartbeatRecord]> {
        if !bytes.len().is_multiple_of(RECORD_SIZE) {
            return Err(Error::invalid(format!(
                "batch of {} bytes is not a whole number of {RECORD_SIZE}-byte records",
                bytes.len()
            )));
        }
        <[HeartbeatRecord]>::ref_from_bytes(bytes)
            .map_err(|_| Error::invalid("batch buffer does not hold whole records"))
    }

    /// Checks every field against the format.
    pub fn validate(&self) -> Result<()> {
        if self.is_plain() {
            return Ok(());
        }
        self.validate_fields()
    }

    /// [`validate`](Self::validate), field by field, naming the first bad one.
    fn validate_fields(&self) -> Result<()> {
        if self.version != RECORD_VERSION {
            return Err(Error::invalid(format!("unsupported record version {}", self.version)));
        }
        ProcessStatus::from_u8(self.status)
            .ok_or_else(|| Error::invalid(format!("process status {} is not 0, 1 or 2", self.status)))?;
        if self.error_code != 0 && SyncErrorCode::from_u8(self.error_code).is_none() {
            return Err(Error::invalid(format!("sync error code {} is unknown", self.error_code)));
        }
        if self.flags & !FLAG_APPLIED != 0 {
            return Err(Error::invalid(format!("unknown flag bits {:#04x}", self.flags)));
        }
        if self.flags & FLAG_APPLIED == 0 && (self.revision.get() != 0 || self.hash != [0; 32]) {
            return Err(Error::invalid("revision or hash set without the applied flag"));
        }
        RuntimeVersion::from_bits(self.runtime_version.get())?;
        self.metrics().validate()?;
        let detail_len = self.detail_len as usize;
        if detail_len > RECORD_DETAIL_LEN {
            return Err(Error::invalid(format!("detail length {detail_len} exceeds {RECORD_DETAIL_LEN}")));
        }
        if self.error_code == 0 && detail_len != 0 {
            return Err(Error::invalid("sync error detail without a code"));
        }
        std::str::from_utf8(&self.detail[..detail_len])
            .map_err(|_| Error::invalid("sync error detail is not UTF-8"))?;
        Ok(())
    }

    /// The common record, checked without a branch per field: it reports
    /// an applied revision and no sync error, and its metrics are in range.
    /// Every record this accepts [`validate`](Self::validate) accepts field
    /// by field; any other record is checked field by field.
    #[inline]
    fn is_plain(&self) -> bool {
        // A non-negative finite `f32` is ordered like its bits: a metric is
        // in 0..=max when its bits are at most max's (negative values and
        // NaNs have larger bits).
        let at_most = |v: F32, max: f32| v.get().to_bits() <= max.to_bits();
        (self.version == RECORD_VERSION)
            & (self.status <= ProcessStatus::Error as u8)
            & (self.error_code == 0)
            & (self.flags == FLAG_APPLIED)
            & (self.detail_len == 0)
            & (self.runtime_version.get() != 0)
            & at_most(self.cpu, 100.0)
            & at_most(self.memory, 100.0)
            & at_most(self.heap, 100.0)
            & at_most(self.tps, f32::MAX)
    }

    /// The node handle.
    pub fn handle(&self) -> crate::NodeHandle {
        crate::NodeHandle::from_raw(self.handle.get())
    }

    /// The heartbeat time (unix ms).
    pub fn at_ms(&self) -> u64 {
        self.at_ms.get()
    }

    /// The applied revision and node-computed hash, if reported.
    pub fn applied(&self) -> Option<(u32, ContentHash)> {
        (self.flags & FLAG_APPLIED != 0).then(|| (self.revision.get(), ContentHash(self.hash)))
    }

    /// The packed runtime version.
    pub fn runtime_version_bits(&self) -> u32 {
        self.runtime_version.get()
    }

    /// The process status (ready if the byte is invalid; `validate` rejects that).
    pub fn status(&self) -> ProcessStatus {
        ProcessStatus::from_u8(self.status).unwrap_or(ProcessStatus::Ready)
    }

    /// The metrics.
    pub fn metrics(&self) -> Metrics {
        Metrics {
            cpu: self.cpu.get(),
            memory: self.memory.get(),
            tps: self.tps.get(),
            heap: self.heap.get(),
            hot_swap_errors: self.hot_swap_errors.get(),
        }
    }

    /// The sync error (code and detail), if reported.
    pub fn sync_error(&self) -> Option<(SyncErrorCode, &str)> {
        let code = SyncErrorCode::from_u8(self.error_code)?;
        let detail = self.detail.get(..self.detail_len as usize).unwrap_or_default();
        Some((code, std::str::from_utf8(detail).unwrap_or_default()))
    }
}

/// What happened to one heartbeat record of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Outcome {
    /// Accepted; nothing to do.
    Accepted = 0,
    /// Accepted; the node should reconcile to the directive's snapshot.
    Reconcile = 1,
    /// Accepted; the node must force-sync to the directive's snapshot.
    ForceSync = 2,
    /// Older than the node's last heartbeat; ignored.
    Stale = 3,
    /// More than 5 minutes ahead of the engine's clock; refused.
    Future = 4,
    /// The handle names no node of this engine.
    UnknownNode = 5,
    /// The node is enrolled in another cluster than the one the batch is
    /// bound to ([`Engine::ingest_cluster_batch`](crate::Engine::ingest_cluster_batch));
    /// refused, never applied.
    WrongCluster = 6,
}

impl Outcome {
    /// The outcome for its `u8`.
    pub fn from_u8(v: u8) -> Option<Self> {
        [
            Self::Accepted,
            Self::Reconcile,
            Self::ForceSync,
            Self::Stale,
            Self::Future,
            Self::UnknownNode,
            Self::WrongCluster,
        ]
        .into_iter()
        .find(|o| *o as u8 == v)
    }
}

/// One outcome record (40 bytes), written in place into the caller's buffer.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct OutcomeRecord {
    outcome: u8,
    reserved: [u8; 3],
    revision: U32,
    hash: [u8; 32],
}

const _: () = assert!(std::mem::size_of::<OutcomeRecord>() == OUTCOME_SIZE);

impl OutcomeRecord {
    pub(crate) fn set(&mut self, outcome: Outcome, directive: Option<(u32, ContentHash)>) {
        let (revision, hash) = directive.unwrap_or_default();
        *self = OutcomeRecord { outcome: outcome as u8, reserved: [0; 3], revision: revision.into(), hash: hash.0 };
    }

    /// What happened.
    pub fn outcome(&self) -> Option<Outcome> {
        Outcome::from_u8(self.outcome)
    }

    /// The snapshot to pull (revision of the node's cluster, hash), if any.
    pub fn directive(&self) -> Option<(u32, ContentHash)> {
        (self.revision.get() != 0).then(|| (self.revision.get(), ContentHash(self.hash)))
    }

    /// Views `bytes` as outcome records, in place.
    pub fn from_bytes_mut(bytes: &mut [u8]) -> Result<&mut [OutcomeRecord]> {
        if !bytes.len().is_multiple_of(OUTCOME_SIZE) {
            return Err(Error::invalid(format!("outcome buffer is not a whole number of {OUTCOME_SIZE}-byte records")));
        }
        <[OutcomeRecord]>::mut_from_bytes(bytes)
            .map_err(|_| Error::invalid("outcome buffer does not hold whole records"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeHandle;

    fn record() -> HeartbeatRecord {
        let m = Metrics { cpu: 10.0, memory: 20.0, tps: 30.0, heap: 40.0, hot_swap_errors: 5 };
        HeartbeatRecord::new(NodeHandle::from_raw(9), 77, "3.5.0".parse().unwrap(), ProcessStatus::Starting, m)
    }

    /// A byte that is mostly `plain` (a plain record's), else near it or anything.
    fn byte_near(plain: u8) -> impl proptest::strategy::Strategy<Value = u8> {
        proptest::prop_oneof![4 => proptest::strategy::Just(plain), 1 => 0u8..4, 1 => proptest::num::u8::ANY]
    }

    /// A metric that is mostly in range, else at or past an edge, or anything.
    fn metric() -> impl proptest::strategy::Strategy<Value = f32> {
        proptest::prop_oneof![
            4 => 0.0f32..=100.0,
            2 => proptest::sample::select(vec![100.0f32, 100.01, -0.0, -1.0, f32::MAX, f32::INFINITY, f32::NAN]),
            1 => proptest::num::f32::ANY,
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]
        /// The one-branch check never accepts what the field-by-field check
        /// refuses, and the two always agree on the verdict.
        #[test]
        fn the_plain_check_accepts_only_valid_records(
            head in (byte_near(RECORD_VERSION), byte_near(0), byte_near(0), byte_near(FLAG_APPLIED)),
            metrics in proptest::array::uniform4(metric()),
            runtime_version in proptest::prop_oneof![4 => 1u32.., 1 => proptest::strategy::Just(0u32)],
            detail_len in byte_near(0),
        ) {
            let mut bytes = record().with_applied(3, ContentHash([7; 32])).as_bytes().to_vec();
            bytes[..4].copy_from_slice(&[head.0, head.1, head.2, head.3]);
            bytes[56..60].copy_from_slice(&runtime_version.to_le_bytes());
            for (k, m) in metrics.iter().enumerate() {
                bytes[60 + 4 * k..64 + 4 * k].copy_from_slice(&m.to_le_bytes());
            }
            bytes[80] = detail_len;
            let r = &HeartbeatRecord::view_all(&bytes).unwrap()[0];
            if r.is_plain() {
                proptest::prop_assert!(r.validate_fields().is_ok(), "{r:?}");
            }
            proptest::prop_assert_eq!(r.validate().is_ok(), r.validate_fields().is_ok());
        }
    }

    #[test]
    fn the_common_record_is_plain() {
        let applied = record().with_applied(3, ContentHash([7; 32]));
        assert!(applied.is_plain());
        assert!(!record().is_plain(), "no applied revision: checked field by field");
        assert!(!applied.with_sync_error(SyncErrorCode::NatsTimeout, "late").is_plain());
    }

    #[test]
    fn fields_sit_at_the_documented_offsets() {
        let r = record().with_applied(3, ContentHash([0xab; 32])).with_sync_error(SyncErrorCode::NatsTimeout, "late");
        let b = r.as_bytes();
        assert_eq!((b[0], b[1], b[2], b[3]), (1, 1, SyncErrorCode::NatsTimeout as u8, 1));
        assert_eq!(u32::from_le_bytes(b[4..8].try_into().unwrap()), 3);
        assert_eq!(u64::from_le_bytes(b[8..16].try_into().unwrap()), 9);
        assert_eq!(u64::from_le_bytes(b[16..24].try_into().unwrap()), 77);
        assert_eq!(&b[24..56], &[0xab; 32]);
        assert_eq!(
            u32::from_le_bytes(b[56..60].try_into().unwrap()),
            "3.5.0".parse::<RuntimeVersion>().unwrap().to_bits()
        );
        assert_eq!(f32::from_le_bytes(b[60..64].try_into().unwrap()), 10.0);
        assert_eq!(f32::from_le_bytes(b[72..76].try_into().unwrap()), 40.0);
        assert_eq!(u32::from_le_bytes(b[76..80].try_into().unwrap()), 5);
        assert_eq!((b[80], &b[81..85]), (4, &b"late"[..]));
        let decoded = HeartbeatRecord::decode_all(b).unwrap();
        assert_eq!(decoded[0].sync_error(), Some((SyncErrorCode::NatsTimeout, "late")));
        assert_eq!(decoded[0].applied(), Some((3, ContentHash([0xab; 32]))));
    }

    #[test]
    fn malformed_records_are_rejected_with_their_index() {
        let good = record();
        type Corrupt = Box<dyn Fn(&mut [u8])>;
        let mut cases: Vec<(&str, Corrupt)> = vec![
            ("version", Box::new(|b| b[0] = 2)),
            ("status", Box::new(|b| b[1] = 3)),
            ("code", Box::new(|b| b[2] = 200)),
            ("flags", Box::new(|b| b[3] = 4)),
            ("revision without flag", Box::new(|b| b[4] = 1)),
            ("version zero", Box::new(|b| b[56..60].fill(0))),
            ("nan cpu", Box::new(|b| b[60..64].copy_from_slice(&f32::NAN.to_le_bytes()))),
            ("negative tps", Box::new(|b| b[68..72].copy_from_slice(&(-1f32).to_le_bytes()))),
            (
                "detail too long",
                Box::new(|b| {
                    b[2] = 1;
                    b[80] = 48
                }),
            ),
            ("detail without code", Box::new(|b| b[80] = 1)),
            (
                "detail not utf-8",
                Box::new(|b| {
                    b[2] = 1;
                    b[80] = 1;
                    b[81] = 0xff
                }),
            ),
        ];
        for (name, corrupt) in cases.drain(..) {
            let mut bytes = [good.as_bytes(), good.as_bytes(), good.as_bytes()].concat();
            corrupt(&mut bytes[RECORD_SIZE..2 * RECORD_SIZE]);
            let err = HeartbeatRecord::decode_all(&bytes).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidInput, "{name}");
            assert!(err.message().starts_with("record 1:"), "{name}: {err}");
        }
        assert!(HeartbeatRecord::decode_all(&good.as_bytes()[..100]).is_err());
        assert!(HeartbeatRecord::decode_all(&[]).unwrap().is_empty());
    }

    #[test]
    fn long_details_are_cut_at_a_char_boundary() {
        let r = record().with_sync_error(SyncErrorCode::ReloadFailure, &"é".repeat(40));
        assert!(r.validate().is_ok());
        assert_eq!(r.sync_error().unwrap().1.len(), 46);
    }
}
