//! # fleetgov-nats
//!
//! fleetgov instances coordinated by NATS JetStream: agents send heartbeat
//! batches over NATS, ingest instances share the clusters by leased
//! partitions, artifacts are fetched by hash from a JetStream object store,
//! and every cluster's owner writes its summary to a KV bucket that anyone
//! reads as one merged fleet view.
//!
//! The engine each [`Instance`] serves is an `Arc<fleetgov::Engine>` the
//! caller builds; a [`Replica`] builds it from the fleet's audit stream, so
//! its authority (workspaces, clusters, snapshots, policies) is the fleet's
//! and follows what other instances change ([`audit`]).
//!
//! ## Protocol
//!
//! | what | where | body |
//! |---|---|---|
//! | enrollment | request on `fleet.enroll.<ws>.<cluster>` | node ids separated by `\n`; reply: 8 bytes LE `NodeHandle::to_raw` per node |
//! | heartbeats | request on `fleet.hb.<ws>.<cluster>` | format 1: whole 128-byte heartbeat records; reply: one 40-byte outcome record each. Format 2 ([`compact`]): 52-byte records; reply: only the outcomes that are not a plain accept. Told apart by the first byte |
//! | error reply | any request | empty body, header `Fleet-Error: <CODE>: <message>`; nothing was applied |
//! | artifacts | object store `FLEET_ARTIFACTS` | object name = hex blake3 hash; the fetcher verifies |
//! | leases | KV `FLEET_PARTITIONS` (`max_age` = lease TTL) | key `p<k>` = owning instance id |
//! | liveness | KV `FLEET_INSTANCES` (`max_age` = lease TTL) | key = encoded instance id |
//! | fleet view | KV `FLEET_SUMMARIES` | key = encoded cluster id, value = JSON [`ClusterSummary`] |
//! | audit log | stream `FLEET_AUDIT`, `fleet.audit.<action>` (`.<cluster>` for a record about one cluster) | record `k` = message `k + 1`, its frame; written with `Nats-Expected-Last-Sequence: k`; a wave record once per wave, under its partition's lease ([`wave`], [`audit_fence`]) |
//! | authority | stream `FLEET_AUTHORITY`, `fleet.authority.<action>` | the authority records of the audit log, in chain order |
//! | journal | stream `FLEET_JOURNAL`, `fleet.journal.p<k>` | partition `k`'s journal segments (what its nodes ran), fenced ([`journal`]) |
//! | rollouts | the `publish` record's plan and `rollout` records in `FLEET_AUDIT` | an engine step (wave start, halt, rollback, completion) only by the cluster's owner, under its lease ([`rollout`]) |
//! | node checkpoints | stream `FLEET_NODES`, `fleet.nodes.p<k>` | partition `k`'s nodes and their last reports, in parts, fenced ([`journal`]) |
//!
//! - Ids in subject tokens and keys are encoded: `.` -> `=2E`, `:` -> `=3A` ([`subject`]).
//! - A cluster's partition: in creation order, each cluster to the partition holding the fewest so far, the first from `u64::from_le_bytes(blake3(cluster_id)[0..8]) % N` upwards; N = 16 by default ([`placement`], [`partition`]).
//! - Instances subscribe in the queue group `fleetgov`, so during a handoff a request is handled once.
//! - Outcome 5 (unknown node) means the cluster moved to an instance that
//!   does not know the node's handle (handles are per engine): enroll again,
//!   resend. [`FleetClient::report`] does that.
//! - Outcome 6 (wrong cluster): the node is enrolled in another cluster than
//!   the subject's; never applied, counted by
//!   [`Instance::wrong_cluster_records`]. NATS permissions confine each
//!   gateway to its own cluster's subjects (the crate's `gateways.conf`).
//! - No responders and timeouts mean the cluster is between owners: retry
//!   with backoff. [`FleetClient`] does that.
//!
//! ```no_run
//! # async fn run() -> fleetgov_nats::Result<()> {
//! use std::time::Duration;
//! let nats = async_nats::connect("127.0.0.1:4222").await.unwrap();
//! let options = fleetgov_nats::StreamOptions::default();
//! let replica = fleetgov_nats::Replica::open(&nats, fleetgov::EngineConfig::default(), &options).await?;
//! let instance = replica.serve(nats.clone(), fleetgov_nats::InstanceConfig::new("ingest-1")).await?;
//! let js = async_nats::jetstream::new(nats);
//! let view = fleetgov_nats::FleetView::load(&js, 1_700_000_000_000, Duration::from_secs(30)).await?;
//! println!("{} nodes, cohesion {}%", view.totals.enrolled, view.totals.cohesion);
//! instance.shutdown().await;
//! # Ok(()) }
//! ```
#![warn(missing_docs, unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

mod artifact;
pub mod audit;
pub mod audit_fence;
pub mod balance;
mod buckets;
mod client;
pub mod compact;
pub mod demo;
mod error;
mod feed;
mod fence;
pub mod handover;
mod instance;
pub mod journal;
pub mod lease;
pub mod load;
pub mod partition;
pub mod placement;
pub mod rollout;
pub mod seal;
mod service;
pub mod subject;
mod summary;
pub mod wave;
pub mod wire;

pub use artifact::Artifacts;
pub use audit::{Replica, StreamOptions};
pub use client::{ClusterNodes, ENROLL_BATCH, FleetClient, RetryPolicy};
pub use error::{Error, Result};
pub use instance::{Instance, InstanceConfig, InstanceStatus};
pub use summary::{CauseNodes, ClusterSummary, FleetTotals, FleetView, RevisionNodes, VerifiedUntil};
