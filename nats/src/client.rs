//! The agent side: enrolls nodes, sends heartbeat batches, follows clusters
//! from one owner to the next, and fetches verified artifacts.

use std::time::Duration;

use async_nats::client::RequestErrorKind;
use async_nats::{Client, Message, jetstream};
use bytes::Bytes;
use fleetgov::record::{HeartbeatRecord, Outcome, OutcomeRecord, RECORD_SIZE};
use fleetgov::{ContentHash, NodeHandle};
use zerocopy::IntoBytes;

use crate::artifact::Artifacts;
use crate::error::{Error, Result};
use crate::{compact, subject, wire};

/// Node ids per enrollment request.
pub const ENROLL_BATCH: usize = 1_000;
/// How many times a batch is resent after re-enrolling nodes the owner did not know.
const REENROLL_ROUNDS: usize = 3;

/// How requests are retried while a cluster has no owner (no responders) or
/// its owner does not answer in time (a timeout).
///
/// ```
/// let retry = fleetgov_nats::RetryPolicy::default();
/// assert_eq!(retry.backoff(0), std::time::Duration::from_millis(50));
/// assert_eq!(retry.backoff(30), retry.max_backoff);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// The wait after the first failed attempt; doubled after each further one.
    pub first_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
    /// How long one attempt waits for its reply.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 40,
            first_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (0-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.first_backoff.saturating_mul(1 << attempt.min(20)).min(self.max_backoff)
    }
}

/// The nodes of one cluster that a client speaks for: their ids and the
/// handles the cluster's current owner gave them.
///
/// ```no_run
/// # async fn run(client: fleetgov_nats::FleetClient) -> fleetgov_nats::Result<()> {
/// let mut nodes = client.enroll_cluster("acme-edge", "eks-prod-us", vec!["gw-1".into(), "gw-2".into()]).await?;
/// assert_eq!(nodes.len(), 2);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ClusterNodes {
    workspace: String,
    cluster: String,
    ids: Vec<String>,
    handles: Vec<NodeHandle>,
    reenrolled: u64,
}

impl ClusterNodes {
    /// The workspace.
    pub fn workspace(&self) -> &str {
        &self.workspace
    }

    /// The cluster.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The node ids, in enrollment order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The current handle of node `index`.
    pub fn handle(&self, index: usize) -> Option<NodeHandle> {
        self.handles.get(index).copied()
    }

    /// How many nodes.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// How many nodes were enrolled again because an owner did not know them.
    pub fn reenrolled(&self) -> u64 {
        self.reenrolled
    }
}

/// A client of the fleet: what agents (or a gateway's control plane acting for
/// many nodes) use.
///
/// ```no_run
/// # async fn run() -> fleetgov_nats::Result<()> {
/// use fleetgov::record::HeartbeatRecord;
/// use fleetgov::{Metrics, ProcessStatus};
/// let nats = async_nats::connect("127.0.0.1:4222").await.unwrap();
/// let client = fleetgov_nats::FleetClient::new(nats, fleetgov_nats::RetryPolicy::default()).await?;
/// let mut nodes = client.enroll_cluster("acme-edge", "eks-prod-us", vec!["gw-1".into()]).await?;
/// let version = "3.6.1".parse()?;
/// let outcomes = client
///     .report(&mut nodes, &[0], |_, handle| HeartbeatRecord::new(handle, 1_700_000_000_000, version, ProcessStatus::Ready, Metrics::default()))
///     .await?;
/// if let Some((revision, hash)) = outcomes[0].directive() {
///     let bytes = client.fetch_artifact(&hash).await?; // verified against `hash`
///     println!("reconcile to r{revision}: {} bytes", bytes.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FleetClient {
    client: Client,
    artifacts: Artifacts,
    retry: RetryPolicy,
}

impl FleetClient {
    /// A client over a NATS connection.
    pub async fn new(client: Client, retry: RetryPolicy) -> Result<FleetClient> {
        let artifacts = Artifacts::open(&jetstream::new(client.clone()), 1).await?;
        Ok(FleetClient { client, artifacts, retry })
    }

    /// Enrolls `nodes` in `cluster`, [`ENROLL_BATCH`] per request, and returns
    /// their handles in order.
    pub async fn enroll<S: AsRef<str>>(&self, workspace: &str, cluster: &str, nodes: &[S]) -> Result<Vec<NodeHandle>> {
        let subject = subject::enroll(workspace, cluster)?;
        let mut handles = Vec::with_capacity(nodes.len());
        for chunk in nodes.chunks(ENROLL_BATCH) {
            let reply = self.request(&subject, Bytes::from(wire::enroll_request(chunk)?)).await?;
            handles.extend(wire::parse_handles(&reply.payload, chunk.len())?);
        }
        Ok(handles)
    }

    /// Enrolls `ids` in `cluster` and keeps them with their handles.
    pub async fn enroll_cluster(&self, workspace: &str, cluster: &str, ids: Vec<String>) -> Result<ClusterNodes> {
        let handles = self.enroll(workspace, cluster, &ids).await?;
        Ok(ClusterNodes { workspace: workspace.to_owned(), cluster: cluster.to_owned(), ids, handles, reenrolled: 0 })
    }

    /// Sends one batch of heartbeat records (whole 128-byte records) to the
    /// cluster's owner, as a compact batch (format 2, [`crate::compact`]),
    /// and returns one outcome per record. A malformed batch is refused
    /// whole ([`InvalidInput`](fleetgov::ErrorKind::InvalidInput)).
    pub async fn send_batch(&self, workspace: &str, cluster: &str, records: &[u8]) -> Result<Vec<OutcomeRecord>> {
        let subject = subject::heartbeats(workspace, cluster)?;
        let reply = self.request(&subject, Bytes::from(compact::encode_request(records)?)).await?;
        Ok(compact::decode_reply(&reply.payload, records.len() / RECORD_SIZE)?)
    }

    /// Reports the nodes at `members` (indices into `nodes`), the record of
    /// each built by `record(index, current handle)`, and returns their
    /// outcomes in order. Nodes the owner does not know (outcome 5: the
    /// cluster moved to another instance) are enrolled again and their
    /// records resent with the new handles.
    pub async fn report(
        &self,
        nodes: &mut ClusterNodes,
        members: &[usize],
        record: impl Fn(usize, NodeHandle) -> HeartbeatRecord,
    ) -> Result<Vec<OutcomeRecord>> {
        if let Some(&bad) = members.iter().find(|&&m| m >= nodes.len()) {
            return Err(fleetgov::Error::invalid(format!("node index {bad} out of {}", nodes.len())).into());
        }
        let mut outcomes = vec![OutcomeRecord::default(); members.len()];
        let mut pending: Vec<usize> = (0..members.len()).collect();
        for round in 0..=REENROLL_ROUNDS {
            let records: Vec<HeartbeatRecord> =
                pending.iter().map(|&p| record(members[p], nodes.handles[members[p]])).collect();
            let got = self.send_batch(&nodes.workspace, &nodes.cluster, records.as_bytes()).await?;
            let mut unknown = Vec::new();
            for (&p, outcome) in pending.iter().zip(got) {
                outcomes[p] = outcome;
                if outcome.outcome() == Some(Outcome::UnknownNode) {
                    unknown.push(p);
                }
            }
            if unknown.is_empty() || round == REENROLL_ROUNDS {
                break;
            }
            let ids: Vec<&str> = unknown.iter().map(|&p| nodes.ids[members[p]].as_str()).collect();
            let handles = self.enroll(&nodes.workspace, &nodes.cluster, &ids).await?;
            for (&p, handle) in unknown.iter().zip(handles) {
                nodes.handles[members[p]] = handle;
            }
            nodes.reenrolled += unknown.len() as u64;
            pending = unknown;
        }
        Ok(outcomes)
    }

    /// The artifact `hash`, fetched from the object store and verified.
    pub async fn fetch_artifact(&self, hash: &ContentHash) -> Result<Vec<u8>> {
        self.artifacts.fetch(hash).await
    }

    /// A request, retried with backoff on no responders and timeouts. An
    /// error reply is returned as the engine error it carries.
    async fn request(&self, subject: &str, body: Bytes) -> Result<Message> {
        let mut attempt = 0;
        loop {
            let request = async_nats::Request::new().payload(body.clone()).timeout(Some(self.retry.request_timeout));
            match self.client.send_request(subject.to_owned(), request).await {
                Ok(reply) => {
                    return match wire::reply_error(reply.headers.as_ref()) {
                        Some(e) => Err(Error::Engine(e)),
                        None => Ok(reply),
                    };
                }
                Err(e) if matches!(e.kind(), RequestErrorKind::NoResponders | RequestErrorKind::TimedOut) => {
                    if attempt + 1 >= self.retry.attempts {
                        return Err(Error::retryable(format!("request on {subject}"), e));
                    }
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(Error::transport(format!("request on {subject}"), e)),
            }
        }
    }
}
