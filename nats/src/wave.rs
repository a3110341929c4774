//! Where an audit record goes in `FLEET_AUDIT`, and how a reconciliation
//! wave record is written once.
//!
//! # Subjects
//!
//! A record about one cluster (its target is `cluster:<id>`) goes on
//! `fleet.audit.<action>.<cluster>` (the id encoded as in [`crate::subject`]);
//! every other record on `fleet.audit.<action>`. So the last wave record of
//! a cluster, and its last change, are one lookup each.
//!
//! # One record per wave
//!
//! The engine writes an `auto_reconcile` record when it gives a cluster's
//! first reconcile directive toward a desired snapshot. Two instances can
//! both believe they open the same wave: a new owner whose engine has not
//! yet applied the old owner's record, or a stale owner still answering.
//! The record's key is its cluster and its payload (the cluster and the
//! snapshot it reconciles to), and the stream keeps one record per key:
//!
//! - before writing, the writer reads the cluster's last wave record; the
//!   same payload, with no change of the cluster after it (a change, such
//!   as switching auto-reconcile off and on, opens a new wave), means the
//!   wave is recorded already: nothing is written, and the engine adopts
//!   that record and gives its directive once it has applied it;
//! - the write expects the cluster's wave subject to end where the writer
//!   read it (`Nats-Expected-Last-Subject-Sequence`) besides the log's size
//!   (`Nats-Expected-Last-Sequence`), so a wave record written by anyone
//!   in between makes the stream refuse it, and the writer reads again.
//!
//! A record sent under a lease names it (`Fleet-Partition`, `Fleet-Lease`;
//! see [`crate::audit_fence`]).

use async_nats::HeaderMap;
use async_nats::jetstream::context::{Context, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{LastRawMessageErrorKind, Stream};
use bytes::Bytes;
use fleetgov::audit::{AuditAction, AuditRecord, Write};

use crate::audit_fence::Origin;
use crate::subject::encode_id;

/// The header naming the partition a record was written on behalf of.
pub const PARTITION_HEADER: &str = "Fleet-Partition";
/// The header naming the lease token a record was written under.
pub const LEASE_HEADER: &str = "Fleet-Lease";

/// The cluster a record is about, if it is about one.
fn cluster_of(record: &AuditRecord) -> Option<&str> {
    record.target.strip_prefix("cluster:")
}

/// The cluster whose wave `record` opens, if it is a wave record.
pub(crate) fn wave_cluster(record: &AuditRecord) -> Option<&str> {
    (record.action == AuditAction::AutoReconcile).then(|| cluster_of(record)).flatten()
}

/// The subject of `action` about `cluster` (or about no one cluster).
///
/// ```
/// use fleetgov::audit::AuditAction;
/// use fleetgov_nats::wave::subject;
/// assert_eq!(subject(AuditAction::AutoReconcile, Some("gw-1.eu")), "fleet.audit.auto_reconcile.gw-1=2Eeu");
/// assert_eq!(subject(AuditAction::Publish, None), "fleet.audit.publish");
/// ```
pub fn subject(action: AuditAction, cluster: Option<&str>) -> String {
    match cluster.and_then(|c| encode_id(c).ok()) {
        Some(token) => format!("fleet.audit.{}.{token}", action.as_str()),
        None => format!("fleet.audit.{}", action.as_str()),
    }
}

/// The subject `record` is written on.
pub(crate) fn subject_of(record: &AuditRecord) -> String {
    subject(record.action, cluster_of(record))
}

/// Writes the wave record `record` (framed as `frame`) as record `seq`,
/// unless the cluster's last wave record is the same wave: then
/// [`Write::Refused`], nothing written.
pub(crate) async fn append(
    jetstream: &Context,
    stream: &Stream,
    record: &AuditRecord,
    frame: &[u8],
    origin: Origin,
) -> std::result::Result<Write, String> {
    let cluster = wave_cluster(record).ok_or("not a wave record")?;
    let waves = subject(AuditAction::AutoReconcile, Some(cluster));
    let last = last_message(stream, &waves).await?;
    if let Some((last_seq, payload)) = &last
        && *payload == record.payload
    {
        let changed = last_message(stream, &subject(AuditAction::UpsertCluster, Some(cluster))).await?;
        if changed.is_none_or(|(seq, _)| seq < *last_seq) {
            return Ok(Write::Refused);
        }
    }
    let publish = PublishMessage::build()
        .payload(Bytes::copy_from_slice(frame))
        .headers(origin_headers(origin))
        .expected_last_sequence(record.seq)
        .expected_last_subject_sequence(last.map_or(0, |(seq, _)| seq));
    let Ok(ack) = jetstream.send_publish(waves, publish).await else { return Ok(Write::Unknown) };
    Ok(match ack.await {
        Ok(_) => Write::Written,
        Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => Write::Refused,
        Err(_) => Write::Unknown,
    })
}

/// The headers naming the tenure a record on behalf of a partition is
/// written under (none for an unfenced writer).
pub(crate) fn origin_headers(origin: Origin) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Origin::Leased { partition, token } = origin {
        headers.insert(PARTITION_HEADER, partition.to_string().as_str());
        headers.insert(LEASE_HEADER, token.to_string().as_str());
    }
    headers
}

/// The stream sequence and the record payload of the last message on `subject`.
async fn last_message(stream: &Stream, subject: &str) -> std::result::Result<Option<(u64, Vec<u8>)>, String> {
    match stream.get_last_raw_message_by_subject(subject).await {
        Ok(message) => {
            let record = AuditRecord::from_frame(&message.payload).map_err(|e| format!("{subject}: {e}"))?;
            Ok(Some((message.sequence, record.payload)))
        }
        Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
        Err(e) => Err(format!("read the last message of {subject}: {e}")),
    }
}
