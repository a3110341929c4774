//! The request handlers of one owned cluster: enrollment and heartbeat
//! batches, subscribed in the queue group [`QUEUE_GROUP`].
//!
//! A heartbeat batch is bound to its subject's cluster: a record whose node
//! is enrolled in another cluster (a handle leaked through an enrollment
//! reply, or guessed) gets outcome 6, [`Outcome::WrongCluster`], is counted
//! in [`WrongCluster`], and is never applied. Only the subject is trusted,
//! and NATS permissions confine each gateway to its own cluster's subjects
//! (see the crate's README).
//!
//! A service is bound to its partition's [`Fence`]: a request that arrives
//! after the fence closed (the lease's deadline passed, or the lease was
//! lost or let go) is dropped unanswered, before the engine sees it, even if
//! the instance has not unsubscribed yet. The agent's retry finds the new
//! owner.
//!
//! Engine calls may block (an audited enrollment, a batch spread over the
//! rayon pool), so every request is handled on a blocking thread, never on an
//! async worker. A semaphore bounds how many run at once: when all permits
//! are taken the subscription stops reading, and NATS buffers or the agents
//! time out and retry.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_nats::{Client, Message, Subscriber};
use bytes::Bytes;
use fleetgov::record::{OUTCOME_SIZE, Outcome, OutcomeRecord, RECORD_SIZE};
use fleetgov::{Engine, NodeHandle};
use futures_util::StreamExt;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::compact;
use crate::error::{Error, Result};
use crate::feed::Changed;
use crate::fence::Fence;
use crate::subject::{self, QUEUE_GROUP};
use crate::wire::{self, BatchFormat};

/// What a subject of the cluster asks for.
#[derive(Clone, Copy)]
enum Ask {
    Enroll,
    Heartbeats,
}

/// Heartbeat records refused because their node is not enrolled in the
/// cluster of the subject they came on, counted over every cluster an
/// instance serves.
#[derive(Debug, Default)]
pub(crate) struct WrongCluster(AtomicU64);

impl WrongCluster {
    fn add(&self, n: u64) {
        // Relaxed: a statistic; no other memory is published through it.
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The count so far.
    pub(crate) fn get(&self) -> u64 {
        // Relaxed: a statistic, read on its own.
        self.0.load(Ordering::Relaxed)
    }
}

/// What every cluster service of an instance shares: the permits that bound
/// the requests handled at once, the clusters marked changed, the count of
/// records refused as another cluster's.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) changed: Arc<Changed>,
    pub(crate) wrong_cluster: Arc<WrongCluster>,
}

/// The live subscriptions of one cluster. Dropping it aborts them at once,
/// with the answers under way; [`stop`](Self::stop) unsubscribes first and
/// waits for those answers.
pub(crate) struct ClusterService {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl ClusterService {
    /// Subscribes to the cluster's enrollment and heartbeat subjects. An
    /// enrollment marks the cluster in `shared.changed` (the engine's change
    /// feed does not report enrollments, and they move the summary's count);
    /// a heartbeat record of another cluster's node is counted in
    /// `shared.wrong_cluster`.
    /// Requests are admitted only while `fence` is open.
    pub(crate) async fn start(
        client: &Client,
        engine: Arc<Engine>,
        workspace: &str,
        cluster: &str,
        fence: Fence,
        shared: &Shared,
    ) -> Result<ClusterService> {
        let subscribe = |subject: String| async move {
            client
                .queue_subscribe(subject.clone(), QUEUE_GROUP.to_owned())
                .await
                .map_err(|e| Error::transport(format!("subscribe to {subject}"), e))
        };
        let enroll = subscribe(subject::enroll(workspace, cluster)?).await?;
        let heartbeats = subscribe(subject::heartbeats(workspace, cluster)?).await?;
        let (stop, stopped) = oneshot::channel();
        let Shared { permits, changed, wrong_cluster } = shared.clone();
        let handler =
            Handler { client: client.clone(), engine, cluster: cluster.into(), fence, permits, changed, wrong_cluster };
        let task = tokio::spawn(handler.serve(enroll, heartbeats, stopped));
        Ok(ClusterService { stop: Some(stop), task })
    }

    /// Unsubscribes, and returns once every request already admitted has
    /// been answered: what the instance answered is in the engine before
    /// its caller writes the partition's last state for the next owner.
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for ClusterService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Handler {
    client: Client,
    engine: Arc<Engine>,
    cluster: Arc<str>,
    fence: Fence,
    permits: Arc<Semaphore>,
    changed: Arc<Changed>,
    wrong_cluster: Arc<WrongCluster>,
}

impl Handler {
    async fn serve(self, mut enroll: Subscriber, mut heartbeats: Subscriber, mut stopped: oneshot::Receiver<()>) {
        // The answers under way: each on a task of its own, waited for at the end.
        let mut answering = JoinSet::new();
        loop {
            let (ask, msg) = tokio::select! {
                _ = &mut stopped => break,
                Some(_) = answering.join_next(), if !answering.is_empty() => continue,
                Some(msg) = enroll.next() => (Ask::Enroll, msg),
                Some(msg) = heartbeats.next() => (Ask::Heartbeats, msg),
                else => break,
            };
            let Ok(permit) = self.permits.clone().acquire_owned().await else { break };
            if !self.fence.is_open() {
                continue; // no longer ours to serve: unanswered, the agent retries elsewhere
            }
            let handler = self.clone();
            answering.spawn(async move {
                handler.answer(ask, msg).await;
                drop(permit);
            });
        }
        let _ = enroll.unsubscribe().await;
        let _ = heartbeats.unsubscribe().await;
        // A request admitted is in the engine, and answered, before the
        // service is stopped: the state written after a stop holds it.
        while answering.join_next().await.is_some() {}
    }

    async fn answer(self, ask: Ask, msg: Message) {
        // A request without a reply subject cannot learn its outcome: ignore it.
        let Some(reply) = msg.reply else { return };
        let (engine, cluster, changed, payload) = (self.engine, self.cluster, self.changed, msg.payload);
        let wrong_cluster = self.wrong_cluster;
        let outcome = tokio::task::spawn_blocking(move || match ask {
            Ask::Enroll => enroll(&engine, &cluster, &changed, &payload),
            Ask::Heartbeats => ingest(&engine, &cluster, &wrong_cluster, &payload),
        })
        .await
        .unwrap_or_else(|_| Err(fleetgov::Error::new(fleetgov::ErrorKind::Io, "the request handler failed")));
        // A lost reply is the agent's timeout and retry.
        let _ = match outcome {
            Ok(body) => self.client.publish(reply, Bytes::from(body)).await,
            Err(e) => self.client.publish_with_headers(reply, wire::error_headers(&e), Bytes::new()).await,
        };
    }
}

/// Enrolls every node of the request in `cluster`, or none: the request is
/// checked whole first (ids, the cluster, nodes enrolled elsewhere). When
/// it enrolls a node that was not enrolled, the cluster is marked in
/// `changed`: its summary's count moved.
fn enroll(engine: &Engine, cluster: &str, changed: &Changed, body: &[u8]) -> fleetgov::Result<Vec<u8>> {
    let nodes = wire::parse_enroll_request(body)?;
    let now = engine.clock().now_ms();
    engine.desired(cluster)?; // the cluster exists
    let mut new = false;
    for node in &nodes {
        if engine.node_handle(node).is_err() {
            new = true;
        } else {
            let other = engine.node(node, now)?.cluster_id;
            if other != cluster {
                return Err(fleetgov::Error::new(
                    fleetgov::ErrorKind::Conflict,
                    format!("node '{node}' is enrolled in cluster '{other}'"),
                ));
            }
        }
    }
    let handles =
        nodes.iter().map(|node| engine.enroll(node, cluster, now)).collect::<fleetgov::Result<Vec<NodeHandle>>>();
    if new {
        // Even after a failure part way: the nodes before it are enrolled.
        changed.mark(cluster);
    }
    Ok(wire::handles_reply(&handles?))
}

/// Applies a heartbeat batch of `cluster` (either format, see
/// [`wire::batch_format`]): the reply of its format, or an error and
/// nothing applied. A record of a node enrolled in another cluster is
/// refused ([`Outcome::WrongCluster`]), counted in `wrong_cluster`, and not
/// applied.
fn ingest(engine: &Engine, cluster: &str, wrong_cluster: &WrongCluster, body: &[u8]) -> fleetgov::Result<Vec<u8>> {
    let format = wire::batch_format(body)?;
    let expanded;
    let records = match format {
        BatchFormat::Records => body,
        BatchFormat::Compact => {
            expanded = compact::decode_request(body)?;
            &expanded
        }
    };
    let mut outcomes = vec![0u8; records.len() / RECORD_SIZE * OUTCOME_SIZE];
    let summary = engine.ingest_cluster_batch(cluster, records, &mut outcomes)?;
    if summary.refused > 0 {
        let records = OutcomeRecord::from_bytes_mut(&mut outcomes)?;
        let refused = records.iter().filter(|o| o.outcome() == Some(Outcome::WrongCluster)).count();
        wrong_cluster.add(refused as u64);
    }
    match format {
        BatchFormat::Records => Ok(outcomes),
        BatchFormat::Compact => compact::encode_reply(OutcomeRecord::from_bytes_mut(&mut outcomes)?),
    }
}

#[cfg(test)]
mod tests {
    use fleetgov::record::HeartbeatRecord;
    use fleetgov::{ContentHash, Metrics, NodeHandle, ProcessStatus, SyncErrorCode, demo};
    use zerocopy::IntoBytes;

    use super::*;

    const T: u64 = 1_700_000_000_000;

    /// A batch on `gke-stage-eu` (auto-reconcile) with every kind of outcome
    /// a bound batch can get, for the nodes of `engine`.
    fn mixed_batch(engine: &Engine) -> Vec<HeartbeatRecord> {
        let handle = |node| engine.node_handle(node).unwrap();
        let version = "3.6.1".parse().unwrap();
        let at =
            |node, at_ms| HeartbeatRecord::new(handle(node), at_ms, version, ProcessStatus::Ready, Metrics::default());
        let snapshot = |cluster, revision| engine.snapshot(&fleetgov::snapshot_id(cluster, revision)).unwrap().hash;
        let hash = |revision| snapshot("gke-stage-eu", revision);
        vec![
            at("gw-stage-eu-1", T).with_applied(2, hash(2)),
            at("gw-stage-eu-2", T).with_applied(1, hash(1)),
            at("gw-stage-eu-3", T - 3_600_000),
            at("gw-prod-us-1", T).with_applied(2, snapshot("eks-prod-us", 2)),
            HeartbeatRecord::new(
                NodeHandle::from_raw(u64::MAX - 1),
                T,
                version,
                ProcessStatus::Ready,
                Metrics::default(),
            ),
            at("gw-stage-eu-1", T + 3_600_000),
            at("gw-stage-eu-4", T).with_applied(2, hash(2)).with_sync_error(SyncErrorCode::ReloadFailure, "x"),
            at("gw-stage-eu-1", T + 1).with_applied(2, hash(2)),
            at("gw-stage-eu-2", T + 1).with_applied(2, ContentHash([9; 32])),
        ]
    }

    #[test]
    fn a_compact_reply_decodes_to_the_outcomes_of_the_same_batch_ingested_in_process() {
        // Three engines alike; handles are per engine, so each gets the batch with its own.
        let (served, twin, format_1) = (demo::engine(T).unwrap(), demo::engine(T).unwrap(), demo::engine(T).unwrap());
        let records = mixed_batch(&served);
        let wrong = WrongCluster::default();

        let mut expected = vec![0u8; records.len() * OUTCOME_SIZE];
        twin.ingest_cluster_batch("gke-stage-eu", mixed_batch(&twin).as_bytes(), &mut expected).unwrap();
        let body = compact::encode_request(records.as_bytes()).unwrap();
        let reply = ingest(&served, "gke-stage-eu", &wrong, &body).unwrap();
        let outcomes = compact::decode_reply(&reply, records.len()).unwrap();
        assert_eq!(outcomes.as_bytes(), &expected[..]);
        assert_eq!(wrong.get(), 1);

        let kinds: std::collections::BTreeSet<u8> = expected.chunks(OUTCOME_SIZE).map(|o| o[0]).collect();
        assert_eq!(kinds.into_iter().collect::<Vec<_>>(), [0, 1, 3, 4, 5, 6], "every outcome a bound batch gets");
        let plain = outcomes.iter().filter(|o| o.outcome() == Some(Outcome::Accepted) && o.directive().is_none());
        let listed = records.len() - plain.count();
        assert_eq!(reply.len(), compact::REPLY_HEADER_SIZE + listed * compact::LISTED_SIZE);

        // A format 1 request of the same records is answered in format 1, alike.
        let v1 = ingest(&format_1, "gke-stage-eu", &wrong, mixed_batch(&format_1).as_bytes()).unwrap();
        assert_eq!(v1, expected);
    }

    #[test]
    fn a_malformed_or_unknown_batch_changes_nothing() {
        let engine = demo::engine(T).unwrap();
        let records = mixed_batch(&engine);
        let before = engine.cluster("gke-stage-eu", T).unwrap();
        let node = engine.node("gw-stage-eu-1", T).unwrap();
        let wrong = WrongCluster::default();
        let mut body = compact::encode_request(records.as_bytes()).unwrap();
        body.push(0);
        let e = ingest(&engine, "gke-stage-eu", &wrong, &body).unwrap_err();
        assert_eq!(e.kind(), fleetgov::ErrorKind::InvalidInput);
        body[0] = 7;
        let e = ingest(&engine, "gke-stage-eu", &wrong, &body).unwrap_err();
        assert!(e.message().contains("format 7 is not spoken here"), "{e}");
        // A bad field in the last record refuses the whole compact batch.
        let mut bad = records.clone();
        bad.push(HeartbeatRecord::new(
            NodeHandle::from_raw(1),
            T,
            "3.6.1".parse().unwrap(),
            ProcessStatus::Ready,
            Metrics { cpu: f32::NAN, ..Metrics::default() },
        ));
        let e = ingest(&engine, "gke-stage-eu", &wrong, &compact::encode_request(bad.as_bytes()).unwrap()).unwrap_err();
        assert!(e.message().starts_with(&format!("record {}", records.len())), "{e}");
        assert_eq!(engine.cluster("gke-stage-eu", T).unwrap(), before);
        assert_eq!(engine.node("gw-stage-eu-1", T).unwrap(), node);
        assert_eq!(wrong.get(), 0);
    }
}
