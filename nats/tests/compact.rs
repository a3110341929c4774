//! Heartbeat batch formats over NATS: a compact batch answered with only
//! the outcomes that say something, a format 1 batch answered in kind, and
//! a malformed or unknown batch refused with a typed error, changing nothing.

mod harness;

use bytes::Bytes;
use fleetgov::ErrorKind;
use fleetgov::record::{HeartbeatRecord, OUTCOME_SIZE, Outcome};
use fleetgov::{Metrics, NodeHandle, ProcessStatus};
use fleetgov_nats::{compact, demo, wire};
use harness::{NatsServer, Serving, now_ms, serving};
use zerocopy::IntoBytes;

const SUBJECT: &str = "fleet.hb.acme-edge.gke-stage-eu";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_formats_are_answered_and_bad_batches_refused() {
    let Some(server) = NatsServer::start().await else { return };
    let Serving { nats, engine, instance, client, .. } = serving(&server).await;
    let handles = client.enroll(demo::WORKSPACE, "gke-stage-eu", &["gw-1", "gw-2"]).await.unwrap();
    let version = "3.6.1".parse().unwrap();
    let record = |handle, at_ms| {
        HeartbeatRecord::new(handle, at_ms, version, ProcessStatus::Ready, Metrics::default())
            .with_applied(2, demo::hash("gke-stage-eu", 2))
    };
    let t = now_ms();
    let unknown = NodeHandle::from_raw(u64::MAX - 1);
    let batch = [record(handles[0], t), record(unknown, t), record(handles[1], t)];

    // Compact: one listed outcome (the unknown node), the others plain accepts.
    let raw = nats.request(SUBJECT, Bytes::from(compact::encode_request(batch.as_bytes()).unwrap())).await.unwrap();
    assert!(wire::reply_error(raw.headers.as_ref()).is_none());
    assert_eq!(raw.payload.len(), compact::REPLY_HEADER_SIZE + compact::LISTED_SIZE);
    let outcomes = compact::decode_reply(&raw.payload, 3).unwrap();
    let got: Vec<_> = outcomes.iter().map(|o| o.outcome()).collect();
    assert_eq!(got, [Some(Outcome::Accepted), Some(Outcome::UnknownNode), Some(Outcome::Accepted)]);
    assert_eq!(engine.cluster("gke-stage-eu", now_ms()).unwrap().in_sync, 2);

    // Format 1 (an agent that predates the compact format) is answered in format 1.
    let later = [record(handles[0], t + 1), record(unknown, t + 1), record(handles[1], t + 1)];
    let raw = nats.request(SUBJECT, Bytes::copy_from_slice(later.as_bytes())).await.unwrap();
    assert_eq!(raw.payload.len(), 3 * OUTCOME_SIZE);
    assert_eq!(wire::parse_outcomes(&raw.payload, 3).unwrap().as_bytes(), outcomes.as_bytes());

    // Refused whole, with a typed error, and nothing applied.
    let node = engine.node("gw-1", now_ms()).unwrap();
    let fresh = [record(handles[0], t + 2)];
    let mut truncated = compact::encode_request(fresh.as_bytes()).unwrap();
    truncated.pop();
    let mut unknown_format = fresh.as_bytes().to_vec();
    unknown_format[0] = 3;
    for (what, body, says) in [
        ("a truncated compact batch", truncated, "does not hold 1 records"),
        ("an unknown format", unknown_format, "format 3 is not spoken here"),
    ] {
        let raw = nats.request(SUBJECT, Bytes::from(body)).await.unwrap();
        let e = wire::reply_error(raw.headers.as_ref()).expect(what);
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}");
        assert!(e.message().contains(says), "{what}: {e}");
        assert!(raw.payload.is_empty());
    }
    assert_eq!(engine.node("gw-1", now_ms()).unwrap().last_heartbeat_ms, node.last_heartbeat_ms);

    // The client speaks the compact format.
    let outcomes = client.send_batch(demo::WORKSPACE, "gke-stage-eu", fresh.as_bytes()).await.unwrap();
    assert_eq!(outcomes[0].outcome(), Some(Outcome::Accepted));
    assert_eq!(engine.node("gw-1", now_ms()).unwrap().last_heartbeat_ms, Some(t + 2));
    instance.shutdown().await;
}
