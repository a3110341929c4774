//! `FLEET_JOURNAL` is trimmed behind the sealed, checkpointed segments
//! that lie wholly before the retention horizon and hold no node's base:
//! the stream holds fewer messages than transitions were written, every
//! segment left verifies against its seal, and a new owner that restores
//! the partition from what is left answers every question within the
//! horizon exactly as the old owner did.

mod harness;

use std::time::Duration;

use fleetgov::{Clock, Engine, EngineConfig, ErrorKind, Heartbeat, snapshot_id};
use fleetgov_nats::journal::JOURNAL_STREAM;
use fleetgov_nats::seal::seals_of;
use fleetgov_nats::{Instance, Replica, StreamOptions, demo};
use harness::{NatsServer, config, engine, now_ms};

const CLUSTERS: usize = 4;
const NODES_PER_CLUSTER: usize = 25;
/// The engines' retention horizon.
const RETENTION: Duration = Duration::from_secs(3);

/// Every node's and every cluster's answer at `at_ms`, or the error's kind.
type Answer = Result<(Vec<Option<fleetgov::AppliedAt>>, Vec<Vec<fleetgov::AppliedAt>>), ErrorKind>;

fn answers(engine: &Engine, clusters: &[String], at_ms: u64) -> Answer {
    let mut nodes = Vec::new();
    let mut fleets = Vec::new();
    for cluster in clusters {
        for i in 0..NODES_PER_CLUSTER {
            nodes.push(engine.what_ran(&format!("gw-{cluster}-{i}"), at_ms).map_err(|e| e.kind())?);
        }
        fleets.push(engine.fleet_at(cluster, at_ms).map_err(|e| e.kind())?);
    }
    Ok((nodes, fleets))
}

/// Every node of `clusters` reports revision `revision` at the clock's now.
fn report(engine: &Engine, clusters: &[String], revision: u32) {
    let at = engine.clock().now_ms();
    for cluster in clusters {
        let snapshot = engine.snapshot(&snapshot_id(cluster, revision)).unwrap();
        for i in 0..NODES_PER_CLUSTER {
            let hb = Heartbeat::new(at, "3.6.0".parse().unwrap()).applied(&snapshot.id, snapshot.hash);
            engine.heartbeat_by_id(&format!("gw-{cluster}-{i}"), &hb).unwrap();
        }
    }
}

/// How many segments each partition's journal subject holds, summed.
async fn segments_held(js: &async_nats::jetstream::Context) -> u64 {
    js.get_stream(JOURNAL_STREAM).await.unwrap().info().await.unwrap().state.messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trimmed_journal_restores_every_answer_within_the_horizon() {
    let Some(server) = NatsServer::start().await else { return };
    let js = async_nats::jetstream::new(server.connect().await);
    let _authority = engine(&server.connect().await, CLUSTERS).await;
    let clock = Clock::manual(now_ms());
    let open = |nats: async_nats::Client| {
        let config = EngineConfig { clock: clock.clone(), retention: RETENTION, ..EngineConfig::default() };
        async move { Replica::open(&nats, config, &StreamOptions::default()).await.unwrap() }
    };
    let nats_a = server.connect().await;
    let replica_a = open(nats_a.clone()).await;
    let engine_a = replica_a.engine();
    let a = replica_a.serve(nats_a, config("ingest-a")).await.unwrap();
    let clusters: Vec<String> = demo::clusters(CLUSTERS).into_iter().map(|(c, ..)| c).collect();
    let partitions: std::collections::BTreeSet<u32> = clusters.iter().map(|c| a.partition_of(c).unwrap()).collect();
    // The seals written, once they cover `transitions` transitions.
    let sealed = |transitions: u64| {
        let engine = engine_a.clone();
        let partitions = partitions.clone();
        fleetgov_testkit::eventually("the transitions sealed", move || {
            let seals: Vec<_> = partitions.iter().flat_map(|&p| seals_of(&engine.audit(), p)).collect();
            let count: u64 = seals.iter().map(|s| s.count).sum();
            async move { if count == transitions { Ok(seals.len()) } else { Err(format!("{count} sealed")) } }
        })
    };

    // Two rounds of transitions, each sealed in segments of its own: every
    // node applies revision 1, then a second later revision 2.
    for cluster in &clusters {
        for n in 0..NODES_PER_CLUSTER {
            engine_a.enroll(&format!("gw-{cluster}-{n}"), cluster, clock.now_ms()).unwrap();
        }
    }
    let nodes = (CLUSTERS * NODES_PER_CLUSTER) as u64;
    report(&engine_a, &clusters, 1);
    let first_round = sealed(nodes).await;
    clock.set(clock.now_ms() + 1_000);
    report(&engine_a, &clusters, 2);
    let written = sealed(2 * nodes).await;
    let transitions = 2 * nodes;

    // Both rounds fall behind the horizon: the first holds no node's base
    // any more (every node moved on in the second) and is trimmed once a
    // checkpoint covers it; the second holds every base and stays.
    clock.set(clock.now_ms() + 10_000);
    let held = fleetgov_testkit::eventually("the first round trimmed", || async {
        let held = segments_held(&js).await;
        if held as usize + first_round == written { Ok(held) } else { Err(format!("{held} of {written} segments")) }
    })
    .await;
    assert!(held < transitions, "{held} messages for {transitions} transitions");
    let stream = js.get_stream(JOURNAL_STREAM).await.unwrap();
    let seals = partitions.iter().flat_map(|&p| seals_of(&engine_a.audit(), p)).collect::<Vec<_>>();
    let mut left = 0;
    for seal in &seals {
        if let Ok(message) = stream.get_raw_message(seal.seq).await {
            assert!(seal.verifies(&message.payload), "segment {} verifies against its seal", seal.seq);
            left += 1;
        }
    }
    assert_eq!(left, held, "every segment left is sealed");

    // a is killed; b restores the partitions from what is left.
    let now = clock.now_ms();
    let horizon = engine_a.retention().horizon_ms;
    let times = [horizon, horizon + 1, (horizon + now) / 2, now];
    let shown: Vec<Answer> = times.iter().map(|&t| answers(&engine_a, &clusters, t)).collect();
    assert!(shown.iter().all(Result::is_ok), "every time within the horizon is answered");
    assert!(answers(&engine_a, &clusters, horizon - 1).is_err(), "older times are refused");
    drop(a);
    let nats_b = server.connect().await;
    let engine_b = open(nats_b.clone()).await.engine();
    let b = Instance::start(nats_b, config("ingest-b"), engine_b.clone()).await.unwrap();
    fleetgov_testkit::eventually("b to own and restore every partition", || async {
        let status = b.status();
        if status.restored.len() == harness::PARTITIONS { Ok(()) } else { Err(format!("{status:?}")) }
    })
    .await;
    let restored: Vec<Answer> = times.iter().map(|&t| answers(&engine_b, &clusters, t)).collect();
    assert_eq!(restored, shown, "b answers within the horizon as a did");
    b.shutdown().await;
}
