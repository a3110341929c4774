//! The partition journal streams on a real server: writes are fenced (a
//! stale tenure's write is refused, and the last writer's token tells a
//! later tenure from an acknowledgement lost), a checkpoint larger than a
//! part is written in parts and read back whole, and a checkpoint cut short
//! by a writer that died leaves the previous whole one readable.

mod harness;

use bytes::Bytes;
use fleetgov_nats::journal::{Journals, Marks, PART_BYTES, Written, checkpoints_subject};
use harness::NatsServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_writes_are_fenced_by_the_subjects_end_and_the_lease() {
    let Some(server) = NatsServer::start().await else { return };
    let js = async_nats::jetstream::new(server.connect().await);
    let journals = Journals::open(&js, 1).await.unwrap();
    assert!(journals.read(5).await.unwrap().segments.is_empty());
    assert!(journals.last_write(5, false).await.unwrap().is_none());

    // The owner of lease 7 writes; a second writer that read the same end is refused.
    let Written::At(first) = journals.append_segment(5, 7, b"one".to_vec(), 0).await.unwrap() else {
        panic!("the first segment is written")
    };
    assert_eq!(journals.append_segment(5, 7, b"again".to_vec(), 0).await.unwrap(), Written::Refused);
    let last = journals.last_write(5, false).await.unwrap().unwrap();
    assert_eq!((last.token, last.seq, last.body), (7, first, Bytes::from_static(b"one")));

    // A new tenure (lease 9) writes after it: the old one is refused from now on.
    let Written::At(second) = journals.append_segment(5, 9, b"two".to_vec(), first).await.unwrap() else {
        panic!("the new tenure's segment is written")
    };
    assert_eq!(journals.append_segment(5, 7, b"late".to_vec(), first).await.unwrap(), Written::Refused);
    assert!(journals.last_write(5, false).await.unwrap().unwrap().token > 7, "the old tenure learns it is stale");

    // Another partition's subject is its own.
    assert!(matches!(journals.append_segment(6, 7, b"p6".to_vec(), 0).await.unwrap(), Written::At(_)));
    let stored = journals.read(5).await.unwrap();
    assert_eq!(stored.segments, [Bytes::from_static(b"one"), Bytes::from_static(b"two")]);
    assert_eq!(stored.marks, Marks { segments: second, checkpoints: 0, whole: 0 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_is_written_in_parts_and_a_torn_one_leaves_the_previous() {
    let Some(server) = NatsServer::start().await else { return };
    let nats = server.connect().await;
    let js = async_nats::jetstream::new(nats.clone());
    let journals = Journals::open(&js, 1).await.unwrap();
    let body: Vec<u8> = (0..PART_BYTES * 2 + 1_000).map(|i| (i % 251) as u8).collect();

    let Written::At(whole) = journals.put_checkpoint(2, 7, &body, Marks::default()).await.unwrap() else {
        panic!("the checkpoint is written")
    };
    let stored = journals.read(2).await.unwrap();
    assert_eq!(stored.checkpoint.as_deref(), Some(&body[..]), "three parts, read back whole");
    assert_eq!((stored.marks.checkpoints, stored.marks.whole, stored.skipped), (whole, whole, None));

    // A stale writer's checkpoint is refused at its first part.
    assert_eq!(journals.put_checkpoint(2, 7, b"stale", Marks::default()).await.unwrap(), Written::Refused);

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

    // The next owner's checkpoint follows the torn one and replaces both.
    let Written::At(next) = journals.put_checkpoint(2, 11, b"small", stored.marks).await.unwrap() else {
        panic!("the next checkpoint is written")
    };
    let stored = journals.read(2).await.unwrap();
    assert_eq!((stored.checkpoint.as_deref(), stored.marks.whole), (Some(&b"small"[..]), next));
}
