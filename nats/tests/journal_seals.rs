//! A partition's journal is committed to the audit log: every segment its
//! owner writes to `FLEET_JOURNAL` has a `seal_journal` record in
//! `FLEET_AUDIT` whose hash is the blake3 hash of the segment's bytes,
//! written under the partition's lease (`Fleet-Partition`, `Fleet-Lease`).

mod harness;

use std::collections::BTreeMap;

use fleetgov_nats::audit::AUDIT_STREAM;
use fleetgov_nats::journal::{JOURNAL_STREAM, segments_subject};
use fleetgov_nats::load::SimFleet;
use fleetgov_nats::partition::DEFAULT_PARTITIONS;
use fleetgov_nats::seal::{Seal, seals_of};
use fleetgov_nats::wave::{LEASE_HEADER, PARTITION_HEADER};
use fleetgov_nats::{FleetClient, RetryPolicy, demo};
use harness::{NatsServer, checkpointed, config, engine, mostly_current, now_ms};

const CLUSTERS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_journal_segment_is_sealed_under_its_partitions_lease_and_verifies() {
    let Some(server) = NatsServer::start().await else { return };
    let js = async_nats::jetstream::new(server.connect().await);
    let nats = server.connect().await;
    let replica = engine(&nats, CLUSTERS).await;
    let instance = replica.serve(nats, config("ingest-a")).await.unwrap();
    let client = FleetClient::new(server.connect().await, RetryPolicy::default()).await.unwrap();
    let mut fleet = SimFleet::enroll(client, &mostly_current(CLUSTERS, 40), 100, 8).await.unwrap();
    fleet.round(now_ms(), 8).await.unwrap();
    fleet.round(now_ms(), 8).await.unwrap();
    let clusters: Vec<String> = demo::clusters(CLUSTERS).into_iter().map(|(c, ..)| c).collect();
    let partitions: Vec<u32> = clusters.iter().map(|c| instance.partition_of(c).unwrap()).collect();
    checkpointed(&js, &partitions).await;

    // Every segment on the stream, by partition.
    let journal = js.get_stream(JOURNAL_STREAM).await.unwrap();
    let last = journal.clone().info().await.unwrap().state.last_sequence;
    let mut segments: BTreeMap<u32, Vec<(u64, bytes::Bytes)>> = BTreeMap::new();
    for seq in 1..=last {
        let message = journal.get_raw_message(seq).await.unwrap();
        let partition = (0..DEFAULT_PARTITIONS.get()).find(|&p| segments_subject(p) == message.subject.as_str());
        segments.entry(partition.expect("a partition's subject")).or_default().push((seq, message.payload));
    }
    assert!(!segments.is_empty(), "the owner wrote segments");

    let engine = replica.engine();
    let audit = js.get_stream(AUDIT_STREAM).await.unwrap();
    let token = |p: u32| instance.status().leases.iter().find(|l| l.partition == p).map(|l| l.token);
    for (partition, written) in &segments {
        // The seals follow the segments within a journal round.
        let seals = fleetgov_testkit::eventually(&format!("the seals of p{partition}"), || async {
            let seals = seals_of(&engine.audit(), *partition);
            if seals.len() == written.len() { Ok(seals) } else { Err(format!("{seals:?} of {}", written.len())) }
        })
        .await;
        for ((seq, bytes), seal) in written.iter().zip(&seals) {
            assert_eq!(seal.seq, *seq, "one seal per segment, in order");
            assert!(seal.verifies(bytes), "p{partition} segment {seq}: its hash is its seal's");
            assert!(seal.count > 0 && seal.from_ms <= seal.to_ms);
        }
        let tampered: Vec<u8> = written[0].1.iter().map(|b| b ^ 1).collect();
        assert!(!seals[0].verifies(&tampered), "a changed segment does not verify");

        // Each seal in FLEET_AUDIT names the tenure it was written under.
        for record in engine.audit().iter().filter(|r| Seal::of(r).is_some_and(|s| s.partition == *partition)) {
            let message = audit.get_raw_message(record.seq + 1).await.unwrap();
            let header = |name: &str| message.headers.get(name).map(|v| v.as_str().parse::<u64>().unwrap());
            assert_eq!(header(PARTITION_HEADER), Some(u64::from(*partition)));
            assert_eq!(header(LEASE_HEADER), token(*partition));
        }
    }
    engine.verify_audit().expect("the chain with its seals verifies");
    instance.shutdown().await;
}
