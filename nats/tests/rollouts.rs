//! Rollouts across instances (issue 19): two instances agree on a
//! cluster's rollout, which only the cluster's owner advances. A control
//! plane publishes with a plan; the owner's heartbeats converge the canary
//! and start the next wave; the instance that does not own the cluster
//! (and holds none of its nodes, so would find every wave converged) never
//! completes it. The owner is killed; the survivor takes the partition
//! over, reports the same rollout, and takes it to completion with the
//! nodes' next heartbeats. Every wave start is recorded once, each under
//! the lease of the instance that owned the cluster then. A stale owner
//! (its lease expired, its engine alive) cannot record a rollout step.

mod harness;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use fleetgov::audit::{AuditAction, AuditRecord};
use fleetgov::rollout::{Phase, RolloutPlan};
use fleetgov::{By, ContentHash, Engine, Role, RolloutView, SYSTEM_ACTOR};
use fleetgov_nats::audit::AUDIT_STREAM;
use fleetgov_nats::load::{ClusterPlan, SimFleet};
use fleetgov_nats::wave::{LEASE_HEADER, PARTITION_HEADER};
use fleetgov_nats::{Artifacts, FleetClient, Instance, RetryPolicy, demo};
use fleetgov_testkit::{eventually, within};
use harness::{NatsServer, checkpointed, config, engine, now_ms, split_by_load};

const CLUSTERS: usize = 3;
/// A demo cluster that does not auto-reconcile: its nodes get directives
/// from the rollout alone.
const CLUSTER: &str = "eks-prod-us";
const NODES: usize = 200;
const WAVES: [u8; 3] = [10, 50, 100];

/// Every node starts on the desired revision 2.
fn on_revision_2(cluster: &str, _: usize) -> Option<(u32, ContentHash)> {
    Some((demo::DESIRED_REVISION, demo::hash(cluster, demo::DESIRED_REVISION)))
}

/// The rollout of [`CLUSTER`] as `engine` sees it now.
async fn rollout(engine: &Arc<Engine>) -> Option<RolloutView> {
    let engine = Arc::clone(engine);
    tokio::task::spawn_blocking(move || engine.rollout(CLUSTER, now_ms()).unwrap()).await.unwrap()
}

/// What two instances must agree on.
fn essentials(r: &RolloutView) -> (Phase, usize, String, String, u64, u64) {
    (r.state, r.wave, r.target_snapshot.clone(), r.previous_snapshot.clone(), r.nodes_started, r.on_target)
}

/// A rollout record of [`CLUSTER`] in `FLEET_AUDIT`: its actor, its change
/// (`wave_started`, `complete`, ...), the wave it names, and the
/// `Fleet-Partition` and `Fleet-Lease` headers it was written with.
#[derive(Debug, PartialEq, Eq)]
struct Step {
    actor: String,
    change: String,
    wave: Option<u64>,
    partition: Option<String>,
    lease: Option<String>,
}

async fn steps(js: &jetstream::Context) -> Vec<Step> {
    let mut stream = js.get_stream(AUDIT_STREAM).await.unwrap();
    let last = stream.info().await.unwrap().state.last_sequence;
    let mut found = Vec::new();
    for seq in 1..=last {
        let message = stream.get_raw_message(seq).await.unwrap();
        let record = AuditRecord::from_frame(&message.payload).unwrap();
        if record.action != AuditAction::Rollout || record.target != format!("cluster:{CLUSTER}") {
            continue;
        }
        let first_line = record.payload.split(|&b| b == b'\n').next().unwrap();
        let json: serde_json::Value = serde_json::from_slice(first_line).unwrap();
        let header = |name: &str| message.headers.get(name).map(|v| v.as_str().to_owned());
        found.push(Step {
            actor: record.actor.clone(),
            change: json["change"]["change"].as_str().unwrap().to_owned(),
            wave: json["change"]["wave"].as_u64(),
            partition: header(PARTITION_HEADER),
            lease: header(LEASE_HEADER),
        });
    }
    found
}

/// The lease token under which `instance` holds `partition`.
fn token(instance: &Instance, partition: u32) -> String {
    let leases = instance.status().leases;
    leases.iter().find(|l| l.partition == partition).map(|l| l.token.to_string()).expect("the partition's lease")
}

/// Heartbeat rounds (one every 200 ms) until `done` holds of the rollout `engine` sees.
async fn rounds_until(fleet: &mut SimFleet, engine: &Arc<Engine>, what: &str, done: impl Fn(&RolloutView) -> bool) {
    within(what, async {
        loop {
            if rollout(engine).await.as_ref().is_some_and(&done) {
                return;
            }
            fleet.round(now_ms(), 4).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_agree_on_a_rollout_and_only_its_owner_advances_it_across_a_failover() {
    let Some(server) = NatsServer::start().await else { return };
    let (nats_a, nats_b, nats_c) = (server.connect().await, server.connect().await, server.connect().await);
    let js = jetstream::new(nats_c.clone());
    let (replica_a, replica_b) = (engine(&nats_a, CLUSTERS).await, engine(&nats_b, CLUSTERS).await);
    // A control plane: an engine over the streams that serves nothing.
    let control = engine(&nats_c, CLUSTERS).await;
    let a = replica_a.serve(nats_a.clone(), config("ingest-a")).await.unwrap();
    let b = replica_b.serve(nats_b.clone(), config("ingest-b")).await.unwrap();
    split_by_load(&js, &[&a, &b]).await;
    let partition = a.partition_of(CLUSTER).unwrap();
    let ((owner, owner_replica), (other, other_replica)) = if a.owned_partitions().contains(&partition) {
        ((a, replica_a), (b, replica_b))
    } else {
        ((b, replica_b), (a, replica_a))
    };
    let (owner_engine, other_engine) = (owner_replica.engine(), other_replica.engine());
    eventually("the owner to serve the cluster", || async {
        let clusters = owner.status().clusters;
        if clusters.iter().any(|c| c == CLUSTER) { Ok(()) } else { Err(format!("{clusters:?}")) }
    })
    .await;

    let client = FleetClient::new(server.connect().await, RetryPolicy::default()).await.unwrap();
    let plan = ClusterPlan {
        workspace: demo::WORKSPACE.to_owned(),
        cluster: CLUSTER.to_owned(),
        prefix: "gw".to_owned(),
        nodes: NODES,
        applied: on_revision_2,
    };
    let mut fleet = SimFleet::enroll(client, &[plan], 50, 4).await.unwrap();
    fleet.round(now_ms(), 4).await.unwrap();

    // The control plane publishes revision 3 with a plan.
    let artifacts = Artifacts::open(&js, 1).await.unwrap();
    let plan = RolloutPlan::new(WAVES, 300, 0.0, false).unwrap();
    let by = By::new("alice", Role::Operator, now_ms());
    let bytes = b"# eks-prod-us r3\nroutes: [api]\nrate_limit: 700\n";
    let v3 = fleetgov_nats::rollout::publish_with_rollout(&artifacts, &control.engine(), CLUSTER, bytes, &by, plan)
        .await
        .unwrap();

    // The owner's heartbeats converge the canary; after its bake the owner starts wave 1.
    rounds_until(&mut fleet, &owner_engine, "the owner to start wave 1", |r| r.wave >= 1).await;
    let started = rollout(&owner_engine).await.unwrap();
    assert_eq!(
        (started.state, started.wave, started.target_snapshot.as_str()),
        (Phase::Progressing, 1, v3.id.as_str())
    );
    assert!(started.per_wave[0].nodes > 0 && started.per_wave[0].on_target == started.per_wave[0].nodes);

    // The other instance holds none of the cluster's nodes: were it to
    // evaluate the gates it would find every wave converged. It replays the
    // rollout from the log, and over several passes of its own it never
    // advances it.
    let passes = other.rollout_passes();
    eventually("three rollout passes of the other instance", || async {
        let now = other.rollout_passes();
        if now >= passes + 3 { Ok(()) } else { Err(format!("{now} passes")) }
    })
    .await;
    assert!(!other.status().clusters.iter().any(|c| c == CLUSTER), "the other instance serves the cluster");
    let seen = eventually("the other instance to replay wave 1", || async {
        let seen = rollout(&other_engine).await;
        match &seen {
            Some(r) if r.wave >= 1 => Ok(r.clone()),
            _ => Err(format!("{seen:?}")),
        }
    })
    .await;
    assert_eq!(
        (seen.state, seen.wave, seen.nodes_started),
        (Phase::Progressing, 1, 0),
        "the other instance, which counts none of the cluster's nodes, advanced its rollout"
    );
    let before: Vec<String> = steps(&js).await.into_iter().map(|s| s.change).collect();
    assert_eq!(before, ["wave_started"], "only the owner's wave start is recorded");

    // What the owner held is in JetStream; then it is killed.
    checkpointed(&js, &[partition]).await;
    let at_kill = rollout(&owner_engine).await.unwrap();
    assert_eq!(essentials(&at_kill), essentials(&started), "no heartbeat since: the rollout stands still");
    let owner_token = token(&owner, partition);
    drop(owner);

    // The survivor takes the partition over and reports the same rollout.
    eventually("the survivor to serve the cluster, restored", || async {
        let status = other.status();
        if status.restored.contains(&partition) && status.clusters.iter().any(|c| c == CLUSTER) {
            Ok(())
        } else {
            Err(format!("{status:?}"))
        }
    })
    .await;
    let survivor_token = token(&other, partition);
    let taken_over = rollout(&other_engine).await.unwrap();
    assert_eq!(essentials(&taken_over), essentials(&at_kill), "the survivor sees another rollout");
    assert!(taken_over.nodes_started > 0);

    // It continues the rollout with the nodes' next heartbeats, to completion.
    rounds_until(&mut fleet, &other_engine, "the survivor to complete the rollout", |r| r.state == Phase::Complete)
        .await;
    let done = rollout(&other_engine).await.unwrap();
    assert_eq!((done.wave, done.on_target, done.nodes_started), (WAVES.len() - 1, NODES as u64, NODES as u64));
    assert_eq!(fleet.count_applied(|_, applied| applied == Some((v3.revision, v3.hash))), NODES);

    // Each step once, by the engine, under the lease of the owner of the time.
    let step = |change: &str, wave: Option<u64>, lease: &str| Step {
        actor: SYSTEM_ACTOR.to_owned(),
        change: change.to_owned(),
        wave,
        partition: Some(partition.to_string()),
        lease: Some(lease.to_owned()),
    };
    assert_eq!(
        steps(&js).await,
        [
            step("wave_started", Some(1), &owner_token),
            step("wave_started", Some(2), &survivor_token),
            step("complete", None, &survivor_token),
        ]
    );
    assert_eq!(other_replica.audit_fence().refused(), 0);
    // The dead owner's engine, still following the log, agrees.
    let control_engine = control.engine();
    let agreed = eventually("every engine to replay the completion", || async {
        let views = [rollout(&owner_engine).await, rollout(&control_engine).await];
        if views.iter().all(|v| v.as_ref().is_some_and(|r| r.state == Phase::Complete && r.wave == 2)) {
            Ok(views)
        } else {
            Err(format!("{views:?}"))
        }
    })
    .await;
    assert!(agreed.iter().all(|v| v.as_ref().unwrap().target_snapshot == v3.id));
    other.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_owner_cannot_record_a_rollout_step_and_the_owner_names_its_lease() {
    let Some(server) = NatsServer::start().await else { return };
    let (nats_a, nats_b) = (server.connect().await, server.connect().await);
    let js = jetstream::new(nats_b.clone());
    let (replica_a, replica_b) = (engine(&nats_a, CLUSTERS).await, engine(&nats_b, CLUSTERS).await);
    let a = replica_a.serve(nats_a, config("ingest-a")).await.unwrap();
    assert_eq!(a.owned_partitions().len(), harness::PARTITIONS);
    // Instance a stops renewing (killed, paused) while its engine lives on;
    // b takes every partition over.
    drop(a);
    let b = replica_b.serve(nats_b, config("ingest-b")).await.unwrap();
    eventually("b to own every partition", || async {
        let owned = b.owned_partitions();
        if owned.len() == harness::PARTITIONS { Ok(()) } else { Err(format!("{owned:?}")) }
    })
    .await;

    // A rollout of a cluster without nodes whose waves bake for an hour.
    let (engine_a, engine_b) = (replica_a.engine(), replica_b.engine());
    let artifacts = Artifacts::open(&js, 1).await.unwrap();
    let plan = RolloutPlan::new(WAVES, 3_600_000, 0.0, false).unwrap();
    let t = now_ms();
    let bytes = b"# eks-prod-us r3\nrate_limit: 700\n";
    fleetgov_nats::rollout::publish_with_rollout(
        &artifacts,
        &engine_b,
        CLUSTER,
        bytes,
        &By::new("alice", Role::Operator, t),
        plan,
    )
    .await
    .unwrap();
    let later = t + 2 * 3_600_000;

    // The stale owner's engine finds the canary's bake over: its wave start is refused.
    let stale = Arc::clone(&engine_a);
    let refused = tokio::task::spawn_blocking(move || {
        // Its first evaluation finds the canary converged and begins its bake
        // (a step of its own, not recorded); the second finds the bake over.
        stale.advance_rollout(CLUSTER, later)?;
        stale.advance_rollout(CLUSTER, later + 3_600_000)
    })
    .await
    .unwrap();
    assert!(!matches!(refused, Ok(n) if n > 0), "a stale owner took a step: {refused:?}");
    assert!(replica_a.audit_fence().refused() > 0);
    assert!(steps(&js).await.is_empty(), "a stale owner recorded a rollout step");
    assert_eq!(rollout(&engine_a).await.map(|r| r.wave), Some(0));

    // The owner records it, naming its partition and lease.
    let owner = Arc::clone(&engine_b);
    let taken = tokio::task::spawn_blocking(move || owner.advance_rollout(CLUSTER, later)).await.unwrap().unwrap();
    assert!(taken > 0);
    let partition = b.partition_of(CLUSTER).unwrap();
    let lease = token(&b, partition);
    let recorded = steps(&js).await;
    assert_eq!(
        recorded,
        [Step {
            actor: SYSTEM_ACTOR.to_owned(),
            change: "wave_started".to_owned(),
            wave: Some(1),
            partition: Some(partition.to_string()),
            lease: Some(lease),
        }]
    );
    assert_eq!(replica_b.audit_fence().refused(), 0);
    b.shutdown().await;
}
