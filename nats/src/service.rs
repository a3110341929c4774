//! The request handlers of one owned cluster: enrollment and heartbeat
//! batches, subscribed in the queue group [`QUEUE_GROUP`].
//!
//! Engine calls may block (an audited enrollment, a batch spread over the
//! rayon pool), so every request is handled on a blocking thread, never on an
//! async worker. A semaphore bounds how many run at once: when all permits
//! are taken the subscription stops reading, and NATS buffers or the agents
//! time out and retry.

use std::sync::Arc;

use async_nats::{Client, Message, Subscriber};
use bytes::Bytes;
use fleetgov::record::{OUTCOME_SIZE, RECORD_SIZE};
use fleetgov::{Engine, NodeHandle};
use futures_util::StreamExt;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::feed::Changed;
use crate::subject::{self, QUEUE_GROUP};
use crate::wire;

/// What a subject of the cluster asks for.
#[derive(Clone, Copy)]
enum Ask {
    Enroll,
    Heartbeats,
}

/// The live subscriptions of one cluster. Dropping it aborts them at once;
/// [`stop`](Self::stop) unsubscribes first.
pub(crate) struct ClusterService {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl ClusterService {
    /// Subscribes to the cluster's enrollment and heartbeat subjects. An
    /// enrollment marks the cluster in `changed` (the engine's change feed
    /// does not report enrollments, and they move the summary's count).
    pub(crate) async fn start(
        client: &Client,
        engine: Arc<Engine>,
        workspace: &str,
        cluster: &str,
        permits: Arc<Semaphore>,
        changed: Arc<Changed>,
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
        let handler = Handler { client: client.clone(), engine, cluster: cluster.into(), permits, changed };
        let task = tokio::spawn(handler.serve(enroll, heartbeats, stopped));
        Ok(ClusterService { stop: Some(stop), task })
    }

    /// Unsubscribes; requests already received are still answered.
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
    permits: Arc<Semaphore>,
    changed: Arc<Changed>,
}

impl Handler {
    async fn serve(self, mut enroll: Subscriber, mut heartbeats: Subscriber, mut stopped: oneshot::Receiver<()>) {
        loop {
            let (ask, msg) = tokio::select! {
                _ = &mut stopped => break,
                Some(msg) = enroll.next() => (Ask::Enroll, msg),
                Some(msg) = heartbeats.next() => (Ask::Heartbeats, msg),
                else => break,
            };
            let Ok(permit) = self.permits.clone().acquire_owned().await else { break };
            let handler = self.clone();
            tokio::spawn(async move {
                handler.answer(ask, msg).await;
                drop(permit);
            });
        }
        let _ = enroll.unsubscribe().await;
        let _ = heartbeats.unsubscribe().await;
    }

    async fn answer(self, ask: Ask, msg: Message) {
        // A request without a reply subject cannot learn its outcome: ignore it.
        let Some(reply) = msg.reply else { return };
        let (engine, cluster, changed, payload) = (self.engine, self.cluster, self.changed, msg.payload);
        let outcome = tokio::task::spawn_blocking(move || match ask {
            Ask::Enroll => enroll(&engine, &cluster, &changed, &payload),
            Ask::Heartbeats => ingest(&engine, &payload),
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

/// Applies a heartbeat batch: one outcome per record, or an error and nothing applied.
fn ingest(engine: &Engine, body: &[u8]) -> fleetgov::Result<Vec<u8>> {
    let mut outcomes = vec![0u8; body.len() / RECORD_SIZE * OUTCOME_SIZE];
    engine.ingest_batch(body, &mut outcomes)?;
    Ok(outcomes)
}
