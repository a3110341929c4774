//! A partition's execution state in JetStream, so that it moves with the
//! partition: what its nodes ran (the journal) and each node's last report
//! (node checkpoints).
//!
//! # Streams
//!
//! | stream | subject | message | written |
//! |---|---|---|---|
//! | `FLEET_JOURNAL` | `fleet.journal.p<k>` | a journal segment of partition `k`: the transitions of its clusters' nodes the owner recorded since its previous segment | every [`journal_interval`](crate::InstanceConfig::journal_interval) with transitions, and when the owner lets the partition go |
//! | `FLEET_NODES` | `fleet.nodes.p<k>` | a node checkpoint of partition `k` (every enrolled node of its clusters and its last report), in one or more parts | every [`checkpoint_interval`](crate::InstanceConfig::checkpoint_interval), and when the owner lets the partition go |
//!
//! Bodies are the core's handoff encodings by node id
//! ([`Engine::export_journal`](fleetgov::Engine::export_journal),
//! [`Engine::export_nodes`](fleetgov::Engine::export_nodes)); a checkpoint
//! larger than a part ([`PART_BYTES`]) is cut into consecutive parts, at
//! most [`MAX_PARTS`]. Headers:
//!
//! - `Fleet-Lease`: the writer's tenure (the KV revision of its lease);
//! - `Fleet-Part: <i>/<n>` (checkpoints): part `i` of `n`;
//! - `Fleet-First` (checkpoint parts after the first): the stream sequence
//!   of the checkpoint's first part;
//! - `Fleet-Previous` (checkpoints): the stream sequence of the last part of
//!   the previous whole checkpoint (0: none), for a reader that finds the
//!   latest one cut short by a writer that died;
//! - `Fleet-Audit`: how many records the writer's audit log held once the
//!   body was exported. The body may already reflect any of them (a node
//!   removed, gone from a checkpoint), so a reader takes it in only once its
//!   own audit log holds as many ([`Stored::audit`]).
//!
//! **Fenced.** Every write carries `Nats-Expected-Last-Subject-Sequence`:
//! the last sequence of the partition's subject its writer knows (the parts
//! of a checkpoint chain on each other, so they are consecutive on the
//! subject). Once a new owner has written the subject, every write of a
//! stale owner is refused; a writer whose write is refused and whose tenure
//! did not write the subject's last message lets the partition go.
//!
//! **Only before the lease's deadline.** Every write (and trim) is made on
//! behalf of a partition under its [`Lease`], and is refused with a
//! [`Conflict`](fleetgov::ErrorKind::Conflict), nothing sent, once the
//! lease's deadline ([`Lease::serve_until`]) has passed: an owner that
//! could not renew in time (paused, cut off) writes no segment, checkpoint
//! part or trim, even to a subject nobody else has written since.
//!
//! **Sealed.** Each segment, once stored, is committed to the audit log by
//! a `seal_journal` record under the partition's lease ([`crate::seal`]),
//! and only sealed segments are ever trimmed: the first segment of a
//! subject that has no seal stops the trim ([`crate::seal::trim_point`]).
//!
//! **Restoring.** A new owner reads every segment of the partition and its
//! latest whole checkpoint and makes them its state of the partition
//! ([`Engine::replace_execution`](fleetgov::Engine::replace_execution))
//! before it serves the partition's clusters or puts their summaries: it
//! answers their history (`what_ran`, `fleet_at`, `attest`, node history)
//! and shows every node's last report without waiting for the fleet. Both
//! streams deny deleting messages; `FLEET_NODES` denies purging too and
//! keeps the last [`KEPT_PER_PARTITION`] messages of each partition, while
//! `FLEET_JOURNAL` is trimmed by its partitions' owners behind the sealed
//! segments a checkpoint covers ([`Journals::trim`], [`crate::seal`]).

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::context::{Context, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{self, Config, DiscardPolicy, LastRawMessageErrorKind, StorageType};
use std::num::NonZeroU32;
use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt as _;

use crate::error::{Error, Result};
use crate::lease::Lease;
use crate::placement::PlacementMode;
use crate::seal::{Seal, trim_point};

/// The stream of the partitions' journal segments.
pub const JOURNAL_STREAM: &str = "FLEET_JOURNAL";
/// The stream of the partitions' node checkpoints.
pub const NODES_STREAM: &str = "FLEET_NODES";
/// The largest part of a checkpoint, and about the largest segment: well
/// under the server's default message limit (1 MiB).
pub const PART_BYTES: usize = 512 << 10;
/// The most parts of one checkpoint (a partition of about seven million
/// nodes at 70 bytes each).
pub const MAX_PARTS: usize = 64;
/// Messages `FLEET_NODES` keeps per partition: the latest whole checkpoint
/// survives a newer one cut short.
pub const KEPT_PER_PARTITION: i64 = 2 * MAX_PARTS as i64;

const LEASE: &str = "Fleet-Lease";
const PART: &str = "Fleet-Part";
const FIRST: &str = "Fleet-First";
const PREVIOUS: &str = "Fleet-Previous";
const AUDIT: &str = "Fleet-Audit";

/// The subject of partition `k`'s segments.
///
/// ```
/// assert_eq!(fleetgov_nats::journal::segments_subject(3), "fleet.journal.p3");
/// ```
pub fn segments_subject(partition: u32) -> String {
    format!("fleet.journal.p{partition}")
}

/// The subject of partition `k`'s node checkpoints.
///
/// ```
/// assert_eq!(fleetgov_nats::journal::checkpoints_subject(3), "fleet.nodes.p3");
/// ```
pub fn checkpoints_subject(partition: u32) -> String {
    format!("fleet.nodes.p{partition}")
}

/// What a partition's subjects held when it was read ([`Journals::read`]).
#[derive(Debug, Default)]
pub struct Stored {
    /// Every segment, oldest first.
    pub segments: Vec<Bytes>,
    /// The latest whole checkpoint, its parts joined, if there is one.
    pub checkpoint: Option<Vec<u8>>,
    /// Where the partition's subjects end.
    pub marks: Marks,
    /// Why the latest checkpoint was skipped, if it was (it does not read
    /// whole; the journal alone then restores what each node ran).
    pub skipped: Option<String>,
    /// The most audit records any of the bodies read was written after
    /// (their `Fleet-Audit`; 0 when none says): a restore makes its engine's
    /// audit log catch up to this many before it takes the bodies in, so a
    /// node another owner removed before writing is removed here too.
    pub audit: u64,
}

/// Where a partition's subjects end, as its writer knows them: what its
/// next fenced writes expect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    /// The last sequence of the segments subject (0: none).
    pub segments: u64,
    /// The last sequence of the checkpoints subject (0: none).
    pub checkpoints: u64,
    /// The last part of the latest whole checkpoint (0: none).
    pub whole: u64,
}

/// The last message of a partition's subject ([`Journals::last_write`]).
#[derive(Debug)]
pub struct LastWrite {
    /// The lease token of the tenure that wrote it (0: none given).
    pub token: u64,
    /// Its stream sequence.
    pub seq: u64,
    /// Its body.
    pub body: Bytes,
}

/// The outcome of a fenced write.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    /// Stored; the subject's new last sequence.
    At(u64),
    /// Refused: someone else wrote the subject since.
    Refused,
}

/// The two streams, as a partition's owner (and a reader) uses them.
///
/// ```no_run
/// # async fn run() -> fleetgov_nats::Result<()> {
/// use fleetgov_nats::journal::{Journals, Written};
/// let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await.unwrap());
/// let journals = Journals::open(&js, 1, fleetgov_nats::partition::DEFAULT_PARTITIONS).await?;
/// let stored = journals.read(3).await?; // partition 3: every segment, the latest checkpoint
/// let engine = fleetgov::Engine::new();
/// let segment = engine.export_journal(&[], 0, fleetgov_nats::journal::PART_BYTES)?;
/// // Written under the lease of partition 3's tenure 7, until its deadline.
/// let now = std::time::Instant::now();
/// let lease = fleetgov_nats::lease::Lease { partition: 3, token: 7, since: now, serve_until: now + std::time::Duration::from_secs(5) };
/// // Fenced by the lease token and the subject's end as read; a reader
/// // takes it in once its audit log holds as many records as this one.
/// let audit = engine.audit_len();
/// match journals.append_segment(&lease, segment.bytes, audit, stored.marks.segments).await? {
///     Written::At(seq) => println!("segment at {seq}"),
///     Written::Refused => println!("someone wrote partition 3 since: see last_write"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Journals {
    js: Context,
    placement: PlacementMode,
}

/// How a stream's description records, when the stream is created, that
/// its partitions are placed by creation order ([`crate::placement`]), and
/// among how many: `…; placement: creation-order; partitions: <N>`. (The
/// description, not stream metadata: the server may predate metadata.)
const PLACED: &str = "; placement: creation-order; partitions: ";

impl Journals {
    /// Creates the streams if they do not exist yet, with `replicas` copies,
    /// recording in their descriptions that clusters are placed by creation
    /// order among `partitions` partitions ([`crate::placement`]). Streams
    /// created before placement was recorded keep hash placement
    /// ([`placement`](Self::placement)).
    ///
    /// Errors: the server refuses (no JetStream); the streams were created
    /// for another partition count (`InvalidInput`, naming it: every
    /// instance of a fleet must use the count its stored state was written
    /// with).
    pub async fn open(js: &Context, replicas: usize, partitions: NonZeroU32) -> Result<Journals> {
        // The journal is trimmed behind the sealed, checkpointed segments
        // (a purge by subject and sequence); nothing else is ever purged.
        let streams = [
            (JOURNAL_STREAM, "fleet.journal.>", -1, false, "every partition's journal segments, in order"),
            (NODES_STREAM, "fleet.nodes.>", KEPT_PER_PARTITION, true, "every partition's latest node checkpoints"),
        ];
        let mut placement = PlacementMode::Placed;
        for (name, subjects, per_subject, deny_purge, what) in streams {
            let config = Config {
                name: name.to_owned(),
                description: Some(format!("fleetgov: {what}{PLACED}{partitions}")),
                subjects: vec![subjects.to_owned()],
                storage: StorageType::File,
                num_replicas: replicas,
                max_messages_per_subject: per_subject,
                discard: DiscardPolicy::Old,
                deny_delete: true,
                deny_purge,
                ..Config::default()
            };
            let stream = js
                .get_or_create_stream(config)
                .await
                .map_err(|e| Error::transport(format!("create stream {name}"), e))?;
            let description = stream.cached_info().config.description.as_deref().unwrap_or("");
            let Some((_, stored)) = description.split_once(PLACED) else {
                placement = PlacementMode::Hashed;
                continue;
            };
            if stored != partitions.to_string() {
                return Err(fleetgov::Error::invalid(format!(
                    "{name} holds the state of {stored} partitions, not {partitions}: start every instance \
                     with --partitions {stored} (InstanceConfig::partitions), or give the fleet new streams"
                ))
                .into());
            }
        }
        Ok(Journals { js: js.clone(), placement })
    }

    /// How the fleet's clusters are placed, as its streams record it.
    pub fn placement(&self) -> PlacementMode {
        self.placement
    }

    async fn stream(&self, name: &str) -> Result<stream::Stream> {
        self.js.get_stream(name).await.map_err(|e| Error::retryable(format!("open stream {name}"), e))
    }

    /// Everything partition `partition` holds: its segments and its latest
    /// whole checkpoint.
    ///
    /// Errors: the streams cannot be read.
    pub async fn read(&self, partition: u32) -> Result<Stored> {
        let journal = self.stream(JOURNAL_STREAM).await?;
        let subject = segments_subject(partition);
        let segments_end = last_sequence(&journal, &subject).await?;
        let entries = read_range(&journal, &subject, 1, segments_end).await?;
        let mut audit = entries.iter().filter_map(|m| header(m.headers.as_ref()?, AUDIT)).max().unwrap_or(0);
        let segments = entries.into_iter().map(|m| m.payload).collect();
        let nodes = self.stream(NODES_STREAM).await?;
        let subject = checkpoints_subject(partition);
        let checkpoints = last_sequence(&nodes, &subject).await?;
        let (checkpoint, whole, skipped) = match read_checkpoint(&nodes, &subject, checkpoints).await {
            Ok((checkpoint, whole, written_after)) => {
                audit = audit.max(written_after);
                (checkpoint, whole, None)
            }
            Err(e @ Error::Engine(_)) => (None, 0, Some(e.to_string())),
            Err(e) => return Err(e),
        };
        let marks = Marks { segments: segments_end, checkpoints, whole };
        Ok(Stored { segments, checkpoint, marks, skipped, audit })
    }

    /// Appends a segment of `lease`'s partition under its tenure,
    /// expecting the subject to end at `last`; `audit` is how many records
    /// the writer's audit log held once the segment was exported
    /// ([`Stored::audit`]).
    ///
    /// Errors: the lease is past its deadline
    /// ([`Conflict`](fleetgov::ErrorKind::Conflict), nothing sent); no
    /// acknowledgement (the write may have landed:
    /// [`last_write`](Self::last_write) tells).
    pub async fn append_segment(
        &self,
        lease: &Lease,
        body: impl Into<Bytes>,
        audit: u64,
        last: u64,
    ) -> Result<Written> {
        let mut headers = HeaderMap::new();
        headers.insert(LEASE, lease.token.to_string().as_str());
        headers.insert(AUDIT, audit.to_string().as_str());
        self.append(lease, segments_subject(lease.partition), headers, body.into(), last).await
    }

    /// Writes a checkpoint of `lease`'s partition under its tenure in
    /// parts, expecting the subject to end at `marks.checkpoints`;
    /// `Written::At` names its last part. `audit` is how many records the
    /// writer's audit log held once the checkpoint was exported
    /// ([`Stored::audit`]).
    ///
    /// Errors: a checkpoint of more than [`MAX_PARTS`] parts; the lease past
    /// its deadline before a part is sent (`Conflict`: the parts sent
    /// before it make no whole checkpoint, and readers keep the previous
    /// one); no acknowledgement.
    pub async fn put_checkpoint(&self, lease: &Lease, body: &[u8], audit: u64, marks: Marks) -> Result<Written> {
        let partition = lease.partition;
        let n = body.len().div_ceil(PART_BYTES).max(1);
        if n > MAX_PARTS {
            return Err(fleetgov::Error::invalid(format!(
                "the node checkpoint of partition {partition} is {} bytes, more than {MAX_PARTS} parts of {PART_BYTES}",
                body.len()
            ))
            .into());
        }
        let (mut last, mut first) = (marks.checkpoints, 0);
        for (i, part) in body.chunks(PART_BYTES).enumerate() {
            let mut headers = HeaderMap::new();
            headers.insert(LEASE, lease.token.to_string().as_str());
            headers.insert(PART, format!("{}/{n}", i + 1).as_str());
            headers.insert(PREVIOUS, marks.whole.to_string().as_str());
            headers.insert(AUDIT, audit.to_string().as_str());
            if i > 0 {
                headers.insert(FIRST, first.to_string().as_str());
            }
            let subject = checkpoints_subject(partition);
            match self.append(lease, subject, headers, Bytes::copy_from_slice(part), last).await? {
                Written::At(seq) => (last, first) = (seq, if i == 0 { seq } else { first }),
                Written::Refused => return Ok(Written::Refused),
            }
        }
        Ok(Written::At(last))
    }

    /// Removes the leading segments of `lease`'s partition's subject that
    /// `trimmable` seals (see [`crate::seal::trimmable`]), each checked
    /// against its seal first: the subject is purged below its first
    /// segment that is unsealed, not in `trimmable`, or does not hash to
    /// its seal ([`trim_point`]). Returns how many segments were removed.
    ///
    /// Errors: the lease past its deadline (`Conflict`, nothing purged);
    /// the stream cannot be read or refuses the purge (a stream made to
    /// deny purges, or a user without the permission).
    pub async fn trim(&self, lease: &Lease, trimmable: &[Seal]) -> Result<u64> {
        let Some(last) = trimmable.last() else { return Ok(0) };
        let stream = self.stream(JOURNAL_STREAM).await?;
        let subject = segments_subject(lease.partition);
        let segments = read_range(&stream, &subject, 1, last.seq).await?;
        let Some(below) = trim_point(segments.iter().map(|s| (s.seq, &s.payload[..])), trimmable) else {
            return Ok(0);
        };
        before_deadline(lease)?;
        let purged = stream
            .purge()
            .filter(subject.clone())
            .sequence(below)
            .await
            .map_err(|e| Error::retryable(format!("trim {subject}"), e))?;
        Ok(purged.purged)
    }

    /// The last message of `partition`'s segments subject (`checkpoints`
    /// false) or checkpoints subject: who wrote it, where, and what. After
    /// a refused write it tells a later tenure (this one is stale), an
    /// earlier one's late write, and a write of its own whose
    /// acknowledgement was lost apart.
    ///
    /// Errors: the stream cannot be read.
    pub async fn last_write(&self, partition: u32, checkpoints: bool) -> Result<Option<LastWrite>> {
        let (name, subject) = match checkpoints {
            false => (JOURNAL_STREAM, segments_subject(partition)),
            true => (NODES_STREAM, checkpoints_subject(partition)),
        };
        let stream = self.stream(name).await?;
        let Some(last) = last_message(&stream, &subject).await? else { return Ok(None) };
        let token = header(&last.headers, LEASE).unwrap_or(0);
        Ok(Some(LastWrite { token, seq: last.sequence, body: last.payload }))
    }

    async fn append(
        &self,
        lease: &Lease,
        subject: String,
        headers: HeaderMap,
        body: Bytes,
        last: u64,
    ) -> Result<Written> {
        before_deadline(lease)?;
        let what = format!("append to {subject}");
        let publish = PublishMessage::build().payload(body).headers(headers).expected_last_subject_sequence(last);
        let ack = self.js.send_publish(subject, publish).await.map_err(|e| Error::retryable(what.clone(), e))?;
        match ack.await {
            Ok(ack) => Ok(Written::At(ack.sequence)),
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => Ok(Written::Refused),
            Err(e) => Err(Error::retryable(what, e)),
        }
    }
}

/// Nothing is written on behalf of a partition once its lease's deadline
/// has passed.
fn before_deadline(lease: &Lease) -> Result<()> {
    if Instant::now() < lease.serve_until {
        return Ok(());
    }
    Err(fleetgov::Error::new(
        fleetgov::ErrorKind::Conflict,
        format!(
            "partition {}: tenure {} is past its lease deadline; its journal is not written",
            lease.partition, lease.token
        ),
    )
    .into())
}

/// The last message on `subject`, if it has one.
async fn last_message(
    stream: &stream::Stream,
    subject: &str,
) -> Result<Option<async_nats::jetstream::message::StreamMessage>> {
    match stream.get_last_raw_message_by_subject(subject).await {
        Ok(message) => Ok(Some(message)),
        Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
        Err(e) => Err(Error::retryable(format!("read the last message of {subject}"), e)),
    }
}

/// The last sequence of `subject` (0: no message).
async fn last_sequence(stream: &stream::Stream, subject: &str) -> Result<u64> {
    Ok(last_message(stream, subject).await?.map_or(0, |m| m.sequence))
}

/// Up to this many messages of a range are read one by one, the rest
/// through a consumer.
const READ_ONE_BY_ONE: usize = 256;

/// The messages of `subject` from stream sequence `from` to `to` (both included).
///
/// The first [`READ_ONE_BY_ONE`] are read with gets, each answered by the
/// stream's leader: no consumer to place, which a stream missing one of its
/// servers may not manage in time. A longer range is read on through a
/// consumer.
async fn read_range(stream: &stream::Stream, subject: &str, from: u64, to: u64) -> Result<Vec<StreamEntry>> {
    let read = |e: &dyn std::fmt::Display| Error::retryable(format!("read {subject}"), e.to_string());
    let mut out = Vec::new();
    let mut next = from.max(1);
    while next <= to && out.len() < READ_ONE_BY_ONE {
        let get = stream.raw_message_builder().sequence(next).next_by_subject(subject).send().await;
        let message = match get {
            Ok(message) => message,
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => break,
            Err(e) => return Err(read(&e)),
        };
        if message.sequence > to {
            return Ok(out);
        }
        next = message.sequence + 1;
        out.push(StreamEntry { seq: message.sequence, headers: Some(message.headers), payload: message.payload });
    }
    if next > to || out.len() < READ_ONE_BY_ONE {
        return Ok(out);
    }
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: subject.to_owned(),
            deliver_policy: DeliverPolicy::ByStartSequence { start_sequence: next },
            ..OrderedConfig::default()
        })
        .await
        .map_err(|e| read(&e))?;
    let mut messages = consumer.messages().await.map_err(|e| read(&e))?;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| read(&e))?;
        let seq = message.info().map_err(|e| read(&e))?.stream_sequence;
        if seq > to {
            break;
        }
        let message = message.message;
        out.push(StreamEntry { seq, headers: message.headers, payload: message.payload });
        if seq == to {
            break;
        }
    }
    Ok(out)
}

/// A message read back from a stream: its sequence, headers and body.
struct StreamEntry {
    seq: u64,
    headers: Option<HeaderMap>,
    payload: Bytes,
}

/// The latest whole checkpoint on `subject`, whose last message is `last`,
/// the sequence of its last part (the last one, or, when a writer died
/// while writing it, the one before) and its `Fleet-Audit`. A checkpoint
/// that does not read whole is
/// [`AuditTampered`](fleetgov::ErrorKind::AuditTampered).
async fn read_checkpoint(stream: &stream::Stream, subject: &str, last: u64) -> Result<(Option<Vec<u8>>, u64, u64)> {
    let damaged = |why: &str| {
        Error::from(fleetgov::Error::new(
            fleetgov::ErrorKind::AuditTampered,
            format!("the node checkpoint on {subject} {why}"),
        ))
    };
    let mut at = last;
    for _ in 0..2 {
        if at == 0 {
            break;
        }
        let message = stream
            .get_raw_message(at)
            .await
            .map_err(|e| Error::retryable(format!("read message {at} of {subject}"), e))?;
        let (i, n) = part(&message.headers).ok_or_else(|| damaged("has a part without a valid Fleet-Part"))?;
        if i < n {
            at = header(&message.headers, PREVIOUS).ok_or_else(|| damaged("has a part without Fleet-Previous"))?;
            continue;
        }
        let first =
            if n == 1 { at } else { header(&message.headers, FIRST).ok_or_else(|| damaged("lacks Fleet-First"))? };
        let parts = read_range(stream, subject, first, at).await?;
        let numbered =
            parts.iter().enumerate().all(|(k, m)| m.headers.as_ref().and_then(part) == Some((k as u64 + 1, n)));
        if parts.len() as u64 != n || !numbered {
            return Err(damaged(&format!("ending at message {at} does not hold its {n} parts in order")));
        }
        let body = parts.iter().flat_map(|m| m.payload.iter().copied()).collect();
        let audit = header(&message.headers, AUDIT).unwrap_or(0);
        return Ok((Some(body), at, audit));
    }
    Ok((None, 0, 0))
}

/// `Fleet-Part: i/n` with `1 <= i <= n`.
fn part(headers: &HeaderMap) -> Option<(u64, u64)> {
    let value = headers.get(PART)?.as_str();
    let (i, n) = value.split_once('/')?;
    let (i, n) = (i.parse().ok()?, n.parse().ok()?);
    (1 <= i && i <= n).then_some((i, n))
}

/// A numeric header.
fn header(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.as_str().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_numbered_from_one_to_their_count() {
        let mut headers = HeaderMap::new();
        for (value, parsed) in
            [("1/1", Some((1, 1))), ("2/3", Some((2, 3))), ("0/3", None), ("4/3", None), ("x/3", None), ("3", None)]
        {
            headers.insert(PART, value);
            assert_eq!(part(&headers), parsed, "{value}");
        }
        assert_eq!(header(&headers, FIRST), None);
    }
}
