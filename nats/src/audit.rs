//! The audit log, and with it the authority, as JetStream streams shared by
//! every instance.
//!
//! # Streams
//!
//! - `FLEET_AUDIT` holds the hash-chained audit log: record `k` is stream
//!   message `k + 1` on subject `fleet.audit.<action>`, its body the
//!   record's frame ([`AuditRecord::to_frame`]). Every write carries
//!   `Nats-Expected-Last-Sequence: k`, so the server stores record `k` only
//!   while it holds exactly `k` records: two instances can never fork the
//!   chain. The one that loses adopts the winner's record and chains its own
//!   after it ([`AuditStore`]). Deleting or purging messages is denied.
//! - `FLEET_AUTHORITY` holds the authority changes alone (publishes,
//!   workspace, cluster and policy changes), in chain order, on
//!   `fleet.authority.<action>`, each as the same frame as in the audit log:
//!   for readers that want what should run without the overrides. It is a
//!   projection of `FLEET_AUDIT` that every [`Replica`] keeps complete:
//!   after catching up, it appends the authority records that follow the
//!   projection's last one, each with `Nats-Expected-Last-Sequence`, so two
//!   followers repairing at once never write a record twice. A writer that
//!   dies between the two streams leaves a gap that the next follower wake
//!   fills; the audit log is the one that commits.
//!
//! An instance builds its engine from `FLEET_AUDIT` ([`Replica`]): every
//! record is verified on the way in and every authority change applied, so
//! a restarted instance has the authority state of the fleet before it takes
//! a heartbeat; the replica then applies the changes other instances make.
//!
//! Replicas: R1 is enough for tests; in production use R3 (a three-server
//! JetStream cluster), so that an acknowledged record survives the loss of
//! any one server.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::context::{Context, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{Config, StorageType};
use bytes::Bytes;
use fleetgov::audit::{AuditRecord, AuditStore, Write};
use fleetgov::{Engine, EngineConfig, ErrorKind};
use futures_util::StreamExt as _;
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::audit_fence::{AuditFence, Origin};
use crate::error::{Error, Result};
use crate::rollout;
use crate::seal::Seal;
use crate::wave;
use crate::{Instance, InstanceConfig};

/// The stream of the audit log.
pub const AUDIT_STREAM: &str = "FLEET_AUDIT";
/// The stream of authority changes, sourced from [`AUDIT_STREAM`].
pub const AUTHORITY_STREAM: &str = "FLEET_AUTHORITY";
/// The subjects of [`AUDIT_STREAM`].
const AUDIT_SUBJECTS: &str = "fleet.audit.>";
/// The subjects of [`AUTHORITY_STREAM`].
const AUTHORITY_SUBJECTS: &str = "fleet.authority.>";
/// The largest record a stream takes: a publish carries its artifact.
const MAX_RECORD_BYTES: i32 = 8 << 20;

/// How the streams are made and used.
#[derive(Clone, Debug)]
pub struct StreamOptions {
    /// Copies of each stream: 1 for tests, 3 in production.
    pub replicas: usize,
    /// How long a write waits for the server's acknowledgement.
    pub timeout: Duration,
    /// A replica catches up at least this often (and on every new record).
    pub follow_interval: Duration,
    /// How long a read of the audit stream keeps retrying a failure (a
    /// JetStream leader election, a lost connection) before the engine's
    /// call fails with it. A write that fails or times out is looked up by
    /// such a read: it is found if it landed, and written again if not.
    pub deadline: Duration,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            replicas: 1,
            timeout: Duration::from_secs(5),
            follow_interval: Duration::from_secs(1),
            deadline: Duration::from_secs(30),
        }
    }
}

/// Creates `FLEET_AUDIT` and `FLEET_AUTHORITY` if they do not exist yet.
///
/// Errors: the server refuses (no JetStream, or a stream of that name
/// exists with another configuration).
pub async fn ensure_streams(jetstream: &Context, options: &StreamOptions) -> Result<()> {
    let streams = [
        (AUDIT_STREAM, AUDIT_SUBJECTS, "the hash-chained audit log; record k is message k + 1"),
        (AUTHORITY_STREAM, AUTHORITY_SUBJECTS, "the authority changes of FLEET_AUDIT, in chain order"),
    ];
    for (name, subjects, what) in streams {
        // Append-only: a record, once acknowledged, is never deleted or purged.
        let config = Config {
            name: name.to_owned(),
            description: Some(format!("fleetgov: {what}")),
            subjects: vec![subjects.to_owned()],
            storage: StorageType::File,
            num_replicas: options.replicas,
            max_message_size: MAX_RECORD_BYTES,
            deny_delete: true,
            deny_purge: true,
            ..Config::default()
        };
        jetstream
            .get_or_create_stream(config)
            .await
            .map_err(|e| Error::transport(format!("create stream {name}"), e))?;
    }
    Ok(())
}

/// Appends `frame` on `subject` as message `last + 1` of its stream: the
/// server refuses it if the stream holds any other number of messages.
async fn append_at(
    jetstream: &Context,
    subject: String,
    frame: &[u8],
    last: u64,
    origin: Origin,
) -> fleetgov::Result<Write> {
    let publish = PublishMessage::build()
        .payload(Bytes::copy_from_slice(frame))
        .headers(wave::origin_headers(origin))
        .expected_last_sequence(last);
    // Any failure but a refusal may or may not have stored the record (a
    // timeout, a leader election): the log reads the stream to find out.
    let Ok(ack) = jetstream.send_publish(subject, publish).await else { return Ok(Write::Unknown) };
    match ack.await {
        Ok(_) => Ok(Write::Written),
        Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => Ok(Write::Refused),
        Err(_) => Ok(Write::Unknown),
    }
}

/// `FLEET_AUDIT` as the [`AuditStore`] of an engine (what [`Replica`] uses).
///
/// Its methods are blocking (the engine is synchronous): they run the NATS
/// calls on the runtime given at construction and wait for them. Call the
/// engine from blocking threads (`tokio::task::spawn_blocking`), never from
/// an async task.
///
/// Records on behalf of a partition (reconciliation waves, journal seals,
/// the engine's own rollout steps) are written only under the partition's
/// lease as `fence` shows it, and a wave once
/// ([`crate::audit_fence`], [`crate::wave`], [`crate::rollout`]).
pub struct StreamStore {
    jetstream: Context,
    runtime: Handle,
    timeout: Duration,
    deadline: Duration,
    fence: AuditFence,
}

impl StreamStore {
    /// A store over `FLEET_AUDIT` (made by [`ensure_streams`]) whose
    /// records on behalf of a partition are fenced by `fence`.
    pub fn new(jetstream: Context, runtime: Handle, options: &StreamOptions, fence: AuditFence) -> Self {
        StreamStore { jetstream, runtime, timeout: options.timeout, deadline: options.deadline, fence }
    }

    /// Runs `work` on the runtime and waits for it, at most the deadline
    /// and a timeout (the work's own timeouts fire first); `None` past that.
    fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = fleetgov::Result<T>> + Send + 'static,
    ) -> Option<fleetgov::Result<T>> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.runtime.spawn(async move {
            // The waiter may have given up; then nobody needs the answer.
            let _ = tx.send(work.await);
        });
        rx.recv_timeout(self.deadline + self.timeout).ok()
    }
}

fn io_error(what: &str, e: impl std::fmt::Display) -> fleetgov::Error {
    fleetgov::Error::new(ErrorKind::Io, format!("NATS: {what}: {e}"))
}

impl AuditStore for StreamStore {
    fn write(&self, seq: u64, frame: &[u8]) -> fleetgov::Result<Write> {
        let record = AuditRecord::from_frame(frame)?;
        let (jetstream, frame) = (self.jetstream.clone(), frame.to_vec());
        let written = match wave::wave_cluster(&record).map(|cluster| self.fence.origin(cluster)) {
            None => {
                // A journal seal is written on behalf of its partition, under its lease,
                // and so is a step the engine takes in a cluster's rollout.
                let fenced = Seal::partition_of(&record)
                    .map(|p| self.fence.partition_origin(p))
                    .or_else(|| rollout::engine_step(&record).map(|cluster| self.fence.origin(cluster)));
                let origin = match fenced {
                    None => Origin::Unfenced,
                    Some(None) => return Ok(Write::Refused),
                    Some(Some(origin)) => origin,
                };
                self.run(async move { append_at(&jetstream, wave::subject_of(&record), &frame, seq, origin).await })
            }
            // Not this instance's to write: the engine adopts what the
            // stream holds, tries again, and gives up without a directive.
            Some(None) => return Ok(Write::Refused),
            Some(Some(origin)) => self.run(async move {
                // A failure to read or write may or may not have stored it.
                let Ok(stream) = jetstream.get_stream(AUDIT_STREAM).await else { return Ok(Write::Unknown) };
                Ok(wave::append(&jetstream, &stream, &record, &frame, origin).await.unwrap_or(Write::Unknown))
            }),
        };
        // No answer in time: the write may or may not have landed.
        written.unwrap_or(Ok(Write::Unknown))
    }

    fn sync(&self) -> fleetgov::Result<()> {
        // A write is acknowledged once the stream's replicas hold it.
        Ok(())
    }

    fn read_from(&self, from: u64) -> fleetgov::Result<Vec<Vec<u8>>> {
        let (jetstream, deadline) = (self.jetstream.clone(), tokio::time::Instant::now() + self.deadline);
        self.run(async move {
            let mut pause = Duration::from_millis(50);
            loop {
                match read_records(&jetstream, from).await {
                    Ok(frames) => return Ok(frames),
                    // A leader election, a reconnection: wait and read again, within the deadline.
                    Err(_) if tokio::time::Instant::now() + pause < deadline => {
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(1));
                    }
                    Err(e) => return Err(e),
                }
            }
        })
        .unwrap_or_else(|| Err(io_error("read FLEET_AUDIT", "no answer in time")))
    }
}

/// Up to this many records are read one by one (a catch-up after a
/// refused append); more through a consumer (building a replica).
const READ_ONE_BY_ONE: u64 = 256;

/// The frames of records `from..` in `FLEET_AUDIT`, as far as it holds them.
async fn read_records(jetstream: &Context, from: u64) -> fleetgov::Result<Vec<Vec<u8>>> {
    let stream = jetstream.get_stream(AUDIT_STREAM).await.map_err(|e| io_error("open FLEET_AUDIT", e))?;
    let last = stream.get_info().await.map_err(|e| io_error("FLEET_AUDIT info", e))?.state.last_sequence;
    // Record `from` is message `from + 1`.
    let Some(count) = last.checked_sub(from).filter(|&n| n > 0) else {
        return Ok(Vec::new());
    };
    if count <= READ_ONE_BY_ONE {
        // A get is answered by the stream's leader: no consumer to place,
        // which a stream missing one of its servers may not manage in time.
        let mut frames = Vec::with_capacity(count as usize);
        for seq in from + 1..=last {
            let message = stream.get_raw_message(seq).await.map_err(|e| io_error("read FLEET_AUDIT", e))?;
            frames.push(message.payload.to_vec());
        }
        return Ok(frames);
    }
    let consumer = stream
        .create_consumer(OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence { start_sequence: from + 1 },
            ..OrderedConfig::default()
        })
        .await
        .map_err(|e| io_error("read FLEET_AUDIT", e))?;
    let mut messages = consumer.messages().await.map_err(|e| io_error("read FLEET_AUDIT", e))?;
    let mut frames = Vec::with_capacity(usize::try_from(count).unwrap_or(0).min(1 << 16));
    while (frames.len() as u64) < count {
        let message = match messages.next().await {
            Some(Ok(message)) => message,
            Some(Err(e)) => return Err(io_error("read FLEET_AUDIT", e)),
            None => break,
        };
        frames.push(message.payload.to_vec());
    }
    Ok(frames)
}

/// An engine whose audit log is `FLEET_AUDIT` (created if needed): every
/// record already in it is verified and its authority change applied, and
/// while the replica lives it applies the changes other instances append
/// and keeps `FLEET_AUTHORITY` complete.
///
/// ```no_run
/// # async fn run() -> fleetgov_nats::Result<()> {
/// use fleetgov_nats::{Replica, StreamOptions};
/// let nats = async_nats::connect("127.0.0.1:4222").await.unwrap();
/// let replica = Replica::open(&nats, fleetgov::EngineConfig::default(), &StreamOptions::default()).await?;
/// let engine = replica.engine();
/// // Engine calls may block on the stream: make them off the async workers.
/// let clusters = tokio::task::spawn_blocking(move || engine.cluster_ids()).await.unwrap();
/// println!("the fleet's authority knows {} clusters", clusters.len());
/// # Ok(()) }
/// ```
pub struct Replica {
    engine: Arc<Engine>,
    fence: AuditFence,
    follower: JoinHandle<()>,
    failure: watch::Receiver<Option<String>>,
}

impl Replica {
    /// Opens the streams and builds the engine from them.
    ///
    /// Errors: the streams cannot be made or read; a record of the stream
    /// breaks the chain ([`AuditTampered`](ErrorKind::AuditTampered)).
    pub async fn open(client: &async_nats::Client, config: EngineConfig, options: &StreamOptions) -> Result<Replica> {
        let jetstream = async_nats::jetstream::new(client.clone());
        ensure_streams(&jetstream, options).await?;
        // Subscribed before the engine reads the stream: no record is missed.
        let records =
            client.subscribe(AUDIT_SUBJECTS).await.map_err(|e| Error::transport("subscribe fleet.audit.>", e))?;
        let fence = AuditFence::default();
        let store = StreamStore::new(jetstream.clone(), Handle::current(), options, fence.clone());
        // Reading the whole stream blocks: off the async workers.
        let built = tokio::task::spawn_blocking(move || Engine::with_audit_store(config, Box::new(store)))
            .await
            .map_err(|e| Error::transport("build the engine", e))?;
        let engine = Arc::new(built?);
        let (report, failure) = watch::channel(None);
        let follower = tokio::spawn(follow(records, jetstream, Arc::clone(&engine), options.follow_interval, report));
        Ok(Replica { engine, fence, follower, failure })
    }

    /// The engine.
    pub fn engine(&self) -> Arc<Engine> {
        Arc::clone(&self.engine)
    }

    /// Starts an ingest instance serving this replica's engine: from then
    /// on a reconciliation wave record is written only under the lease of
    /// its cluster's partition ([`crate::audit_fence`]). Serve a replica's
    /// engine through this, not [`Instance::start`], and with one instance.
    ///
    /// Errors: as [`Instance::start`].
    pub async fn serve(&self, client: async_nats::Client, config: InstanceConfig) -> Result<Instance> {
        Instance::start_fenced(client, config, self.engine(), self.fence.clone()).await
    }

    /// The fence of the records this replica's engine writes on behalf of
    /// a partition: how many it refused ([`AuditFence::refused`]).
    pub fn audit_fence(&self) -> &AuditFence {
        &self.fence
    }

    /// Why the last catch-up with the streams failed (the server unreachable,
    /// a record that breaks the chain), if it did; `None` again once one
    /// succeeds. While it fails the engine keeps the authority it has.
    pub fn follow_error(&self) -> Option<String> {
        self.failure.borrow().clone()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

/// Applies other instances' records: wakes on every new record (a plain
/// subscription to the audit subjects) and at least every `interval`, calls
/// [`Engine::catch_up`] off the async workers, then fills `FLEET_AUTHORITY`.
/// A failure is reported on `report` and retried on the next wake.
async fn follow(
    mut records: async_nats::Subscriber,
    jetstream: Context,
    engine: Arc<Engine>,
    interval: Duration,
    report: watch::Sender<Option<String>>,
) {
    loop {
        tokio::select! {
            next = records.next() => if next.is_none() { return },
            () = tokio::time::sleep(interval) => {}
        }
        let caught_up = Arc::clone(&engine);
        let failure = match tokio::task::spawn_blocking(move || caught_up.catch_up()).await {
            Ok(Ok(_)) => project_authority(&jetstream, &engine).await.err().map(|e| e.to_string()),
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(format!("catching up: {e}")),
        };
        report.send_replace(failure);
    }
}

/// Appends to `FLEET_AUTHORITY` the authority records of the engine's audit
/// log that follow the last one it holds; returns how many.
///
/// Errors: the stream cannot be read or written; its last message is not a
/// record frame.
async fn project_authority(jetstream: &Context, engine: &Arc<Engine>) -> Result<u64> {
    let mut written = 0;
    'rounds: loop {
        let stream =
            jetstream.get_stream(AUTHORITY_STREAM).await.map_err(|e| Error::transport("open FLEET_AUTHORITY", e))?;
        let last =
            stream.get_info().await.map_err(|e| Error::transport("FLEET_AUTHORITY info", e))?.state.last_sequence;
        let next_seq = match last {
            0 => 0,
            _ => {
                let message =
                    stream.get_raw_message(last).await.map_err(|e| Error::transport("read FLEET_AUTHORITY", e))?;
                AuditRecord::from_frame(&message.payload)?.seq + 1
            }
        };
        // The log's lock may be held across a stream write: off the async workers.
        let reader = Arc::clone(engine);
        let pending: Vec<_> = tokio::task::spawn_blocking(move || reader.audit_page(next_seq, usize::MAX))
            .await
            .map_err(|e| Error::transport("read the audit log", e))?
            .into_iter()
            .filter(|r| r.action.changes_authority())
            .collect();
        for (last, record) in (last..).zip(pending) {
            let subject = format!("fleet.authority.{}", record.action.as_str());
            match append_at(jetstream, subject, &record.to_frame(), last, Origin::Unfenced).await? {
                Write::Written => written += 1,
                // Another follower is filling the projection too, or the write
                // may have landed: read the projection's end again.
                Write::Refused | Write::Unknown => continue 'rounds,
            }
        }
        return Ok(written);
    }
}
