//! The partition journal streams on a real server: writes are fenced (a
//! stale tenure's write is refused, and the last writer's token tells a
//! later tenure from an acknowledgement lost), nothing is written or
//! trimmed under a lease past its deadline, a checkpoint larger than a
//! part is written in parts and read back whole, a checkpoint cut short
//! by a writer that died leaves the previous whole one readable, and a
//! segment not sealed into the audit log is never trimmed, nor anything
//! after it.

mod harness;

use std::time::Instant;

use bytes::Bytes;
use fleetgov::ErrorKind;
use fleetgov_nats::journal::{Journals, Marks, PART_BYTES, Written, checkpoints_subject};
use fleetgov_nats::lease::Lease;
use fleetgov_nats::partition::DEFAULT_PARTITIONS;
use fleetgov_nats::seal::{journal_name, seals_of, trimmable};
use harness::{NatsServer, lease};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_writes_are_fenced_by_the_subjects_end_and_the_lease() {
    let Some(server) = NatsServer::start().await else { return };
    let js = async_nats::jetstream::new(server.connect().await);
    let journals = Journals::open(&js, 1, DEFAULT_PARTITIONS).await.unwrap();
    assert!(journals.read(5).await.unwrap().segments.is_empty());
    assert!(journals.last_write(5, false).await.unwrap().is_none());

    // The owner of lease 7 writes; a second writer that read the same end is refused.
    let Written::At(first) = journals.append_segment(&lease(5, 7), b"one".to_vec(), 30, 0).await.unwrap() else {
        panic!("the first segment is written")
    };
    assert_eq!(journals.append_segment(&lease(5, 7), b"again".to_vec(), 0, 0).await.unwrap(), Written::Refused);
    let last = journals.last_write(5, false).await.unwrap().unwrap();
    assert_eq!((last.token, last.seq, last.body), (7, first, Bytes::from_static(b"one")));

    // A new tenure (lease 9) writes after it: the old one is refused from now on.
    let Written::At(second) = journals.append_segment(&lease(5, 9), b"two".to_vec(), 12, first).await.unwrap() else {
        panic!("the new tenure's segment is written")
    };
    assert_eq!(journals.append_segment(&lease(5, 7), b"late".to_vec(), 0, first).await.unwrap(), Written::Refused);
    assert!(journals.last_write(5, false).await.unwrap().unwrap().token > 7, "the old tenure learns it is stale");

    // Another partition's subject is its own.
    assert!(matches!(journals.append_segment(&lease(6, 7), b"p6".to_vec(), 0, 0).await.unwrap(), Written::At(_)));
    let stored = journals.read(5).await.unwrap();
    assert_eq!(stored.segments, [Bytes::from_static(b"one"), Bytes::from_static(b"two")]);
    assert_eq!(stored.marks, Marks { segments: second, checkpoints: 0, whole: 0 });
    assert_eq!(stored.audit, 30, "the most audit records a segment read was written after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_is_written_in_parts_and_a_torn_one_leaves_the_previous() {
    let Some(server) = NatsServer::start().await else { return };
    let nats = server.connect().await;
    let js = async_nats::jetstream::new(nats.clone());
    let journals = Journals::open(&js, 1, DEFAULT_PARTITIONS).await.unwrap();
    let body: Vec<u8> = (0..PART_BYTES * 2 + 1_000).map(|i| (i % 251) as u8).collect();

    let Written::At(whole) = journals.put_checkpoint(&lease(2, 7), &body, 40, Marks::default()).await.unwrap() else {
        panic!("the checkpoint is written")
    };
    let stored = journals.read(2).await.unwrap();
    assert_eq!(stored.checkpoint.as_deref(), Some(&body[..]), "three parts, read back whole");
    assert_eq!((stored.marks.checkpoints, stored.marks.whole, stored.skipped), (whole, whole, None));
    assert_eq!(stored.audit, 40, "the checkpoint was written after 40 audit records");

    // A stale writer's checkpoint is refused at its first part.
    assert_eq!(journals.put_checkpoint(&lease(2, 7), b"stale", 0, Marks::default()).await.unwrap(), Written::Refused);

    // A writer dies after the first part of three: readers keep the whole one before it.
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Fleet-Lease", "9");
    headers.insert("Fleet-Part", "1/3");
    headers.insert("Fleet-Previous", whole.to_string().as_str());
    let ack = js.publish_with_headers(checkpoints_subject(2), headers, Bytes::from_static(b"cut")).await.unwrap();
    let torn = ack.await.unwrap().sequence;
    let stored = journals.read(2).await.unwrap();
    assert_eq!(stored.checkpoint.as_deref(), Some(&body[..]));
    assert_eq!((stored.marks.checkpoints, stored.marks.whole), (torn, whole));
    assert_eq!(stored.audit, 40, "the whole checkpoint's, not the torn one's");

    // The next owner's checkpoint follows the torn one and replaces both.
    let Written::At(next) = journals.put_checkpoint(&lease(2, 11), b"small", 0, stored.marks).await.unwrap() else {
        panic!("the next checkpoint is written")
    };
    let stored = journals.read(2).await.unwrap();
    assert_eq!((stored.checkpoint.as_deref(), stored.marks.whole), (Some(&b"small"[..]), next));
}

/// Three journal segments (one per demo cluster, each with transitions)
/// and an engine whose audit log can seal them.
fn segments() -> (fleetgov::Engine, Vec<Bytes>) {
    let engine = fleetgov::demo::engine(harness::T0).unwrap();
    let bodies = ["eks-prod-us", "gke-stage-eu", "azure-dev-west"]
        .iter()
        .map(|cluster| {
            let export = engine.export_journal(&[cluster], 0, usize::MAX).unwrap();
            assert!(export.transitions > 0, "{cluster}");
            Bytes::from(export.bytes)
        })
        .collect();
    (engine, bodies)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_written_or_trimmed_under_a_lease_past_its_deadline() {
    let Some(server) = NatsServer::start().await else { return };
    let js = async_nats::jetstream::new(server.connect().await);
    let journals = Journals::open(&js, 1, DEFAULT_PARTITIONS).await.unwrap();
    let (engine, bodies) = segments();
    let Written::At(first) = journals.append_segment(&lease(4, 7), bodies[0].clone(), 0, 0).await.unwrap() else {
        panic!("the owner writes before its deadline")
    };
    engine.record_journal_segment(&journal_name(4), first, &bodies[0]).unwrap();
    let sealed = trimmable(&seals_of(&engine.audit(), 4), u64::MAX, u64::MAX, &[]);
    assert_eq!(sealed.len(), 1);

    // The same tenure past its deadline (an owner paused or cut off that
    // resumes): nobody else has written the subject, yet nothing is
    // written, nor trimmed.
    let past = Lease { serve_until: Instant::now(), ..lease(4, 7) };
    let refused = |e: fleetgov_nats::Error| e.kind();
    let segment = journals.append_segment(&past, bodies[1].clone(), 0, first).await.map_err(refused);
    assert_eq!(segment, Err(Some(ErrorKind::Conflict)));
    let checkpoint = journals.put_checkpoint(&past, b"nodes", 0, Marks::default()).await.map_err(refused);
    assert_eq!(checkpoint, Err(Some(ErrorKind::Conflict)));
    assert_eq!(journals.trim(&past, &sealed).await.map_err(refused), Err(Some(ErrorKind::Conflict)));
    let stored = journals.read(4).await.unwrap();
    assert_eq!(stored.segments, [bodies[0].clone()], "nothing written, nothing trimmed");
    assert_eq!((stored.marks.segments, stored.marks.checkpoints, stored.checkpoint), (first, 0, None));

    // Before the deadline the same calls go through.
    assert!(matches!(journals.append_segment(&lease(4, 7), bodies[1].clone(), 0, first).await, Ok(Written::At(_))));
    assert_eq!(journals.trim(&lease(4, 7), &sealed).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_not_sealed_into_the_audit_log_stops_the_trim() {
    let Some(server) = NatsServer::start().await else { return };
    let js = async_nats::jetstream::new(server.connect().await);
    let journals = Journals::open(&js, 1, DEFAULT_PARTITIONS).await.unwrap();
    let (engine, bodies) = segments();
    let owner = lease(9, 3);
    let mut seqs = Vec::new();
    for body in &bodies {
        let last = seqs.last().copied().unwrap_or(0);
        let Written::At(at) = journals.append_segment(&owner, body.clone(), 0, last).await.unwrap() else {
            panic!("the owner's segment is written")
        };
        seqs.push(at);
    }
    // The first and the third are sealed; the second's seal never made it.
    for i in [0, 2] {
        engine.record_journal_segment(&journal_name(9), seqs[i], &bodies[i]).unwrap();
    }
    let sealed = || trimmable(&seals_of(&engine.audit(), 9), u64::MAX, u64::MAX, &[]);
    assert_eq!(sealed().len(), 2, "both sealed segments could go by their seals alone");
    assert_eq!(journals.trim(&owner, &sealed()).await.unwrap(), 1, "only the one before the unsealed");
    assert_eq!(journals.read(9).await.unwrap().segments, bodies[1..], "the unsealed one stays, and what follows");
    assert_eq!(journals.trim(&owner, &sealed()).await.unwrap(), 0, "still unsealed: nothing more");

    // Once sealed, the next trim takes it and the one after it.
    engine.record_journal_segment(&journal_name(9), seqs[1], &bodies[1]).unwrap();
    assert_eq!(journals.trim(&owner, &sealed()).await.unwrap(), 2);
    assert!(journals.read(9).await.unwrap().segments.is_empty());
}

/// Placement is recorded with the streams: new streams place clusters by
/// creation order and refuse another partition count, naming theirs;
/// streams created before (no record) keep hash placement, so what they
/// store stays where its readers look.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streams_record_placement_and_the_partition_count() {
    use async_nats::jetstream::stream::Config;
    use fleetgov_nats::journal::{JOURNAL_STREAM, NODES_STREAM};
    use fleetgov_nats::placement::PlacementMode;

    let Some(server) = NatsServer::start().await else { return };
    let js = async_nats::jetstream::new(server.connect().await);
    let journals = Journals::open(&js, 1, DEFAULT_PARTITIONS).await.unwrap();
    assert_eq!(journals.placement(), PlacementMode::Placed);
    assert_eq!(Journals::open(&js, 1, DEFAULT_PARTITIONS).await.unwrap().placement(), PlacementMode::Placed);
    let other = std::num::NonZeroU32::new(DEFAULT_PARTITIONS.get() * 2).unwrap();
    let refused = Journals::open(&js, 1, other).await.err().expect("another partition count is refused");
    assert_eq!(refused.kind(), Some(ErrorKind::InvalidInput));
    assert!(refused.to_string().contains(&format!("--partitions {DEFAULT_PARTITIONS}")), "{refused}");

    // Streams as an earlier version created them: no placement recorded.
    let old = async_nats::jetstream::new(server.connect().await);
    for (name, subjects) in [(JOURNAL_STREAM, "fleet.journal.>"), (NODES_STREAM, "fleet.nodes.>")] {
        old.delete_stream(name).await.unwrap();
        let config = Config {
            name: name.to_owned(),
            description: Some("fleetgov: an earlier version".to_owned()),
            subjects: vec![subjects.to_owned()],
            ..Config::default()
        };
        old.create_stream(config).await.unwrap();
    }
    assert_eq!(Journals::open(&js, 1, DEFAULT_PARTITIONS).await.unwrap().placement(), PlacementMode::Hashed);
    assert_eq!(
        Journals::open(&js, 1, other).await.unwrap().placement(),
        PlacementMode::Hashed,
        "nothing to check against"
    );
}
