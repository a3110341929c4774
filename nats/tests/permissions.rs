//! The NATS permission layout of `nats/gateways.conf` (issue 18, defect 7):
//! a nats-server runs with exactly that file; the service user runs the
//! instance; a gateway user may heartbeat, enroll and read artifacts for its
//! own cluster, and the server refuses it another cluster's subject, a
//! wildcard subscription, another gateway's inbox and a partition's journal
//! subjects; neither the service user nor a gateway may delete or purge the
//! audit stream or the journal streams, only the admin.

mod harness;

use std::path::Path;

use async_nats::{ConnectOptions, Event};
use fleetgov::record::{HeartbeatRecord, Outcome};
use fleetgov::{Metrics, ProcessStatus};
use fleetgov_nats::audit::AUDIT_STREAM;
use fleetgov_nats::journal::{JOURNAL_STREAM, Journals, NODES_STREAM, Written, segments_subject};
use fleetgov_nats::partition::DEFAULT_PARTITIONS;
use fleetgov_nats::{Artifacts, FleetClient, Instance, RetryPolicy, demo};
use harness::{NatsServer, config, engine, now_ms};
use tokio::sync::mpsc;
use zerocopy::IntoBytes;

/// A gateway user's connection, with its own inbox prefix, and the server's
/// error messages to it (permission violations arrive as those).
async fn gateway(
    server: &NatsServer,
    user: &str,
    password: &str,
) -> (async_nats::Client, mpsc::UnboundedReceiver<String>) {
    let options = ConnectOptions::with_user_and_password(user.into(), password.into())
        .custom_inbox_prefix(format!("_INBOX_{user}"));
    watched(server, options).await
}

/// A connection with `options`, and the server's error messages to it.
async fn watched(
    server: &NatsServer,
    options: ConnectOptions,
) -> (async_nats::Client, mpsc::UnboundedReceiver<String>) {
    let (errors, received) = mpsc::unbounded_channel();
    let options = options.event_callback(move |event| {
        let errors = errors.clone();
        async move {
            if let Event::ServerError(e) = event {
                let _ = errors.send(e.to_string());
            }
        }
    });
    (server.connect_with(options).await, received)
}

/// Waits for the server's next error message to the gateway.
async fn next_error(errors: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(fleetgov_testkit::deadline(), errors.recv())
        .await
        .expect("the server reports a violation")
        .expect("the connection is open")
}

/// Whether the server's message is a permissions violation on `subject`.
fn is_violation(message: &str, subject: &str) -> bool {
    message.to_lowercase().contains("permissions violation") && message.contains(subject)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_not_bound_to_their_subject_by_nats_permissions() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("gateways.conf");
    let Some(server) = NatsServer::start_with_config(&file, "fleetgov", "change-me-service").await else { return };
    let nats = server.connect().await;
    let replica = engine(&nats, 3).await;
    let engine = replica.engine();
    let instance = Instance::start(nats.clone(), config("ingest-1"), engine.clone()).await.unwrap();
    let ws = demo::WORKSPACE;

    // No login, or a wrong password, is refused at the door.
    assert!(async_nats::connect(&server.url).await.is_err());
    let wrong = ConnectOptions::with_user_and_password("gw-eks-prod-us".into(), "guess".into());
    assert!(wrong.connect(&server.url).await.is_err());

    let (prod, mut prod_errors) = gateway(&server, "gw-eks-prod-us", "change-me-eks-prod-us").await;
    let prod_client = FleetClient::new(prod.clone(), RetryPolicy::default()).await.unwrap();
    let (stage, _stage_errors) = gateway(&server, "gw-gke-stage-eu", "change-me-gke-stage-eu").await;
    let stage_client = FleetClient::new(stage, RetryPolicy::default()).await.unwrap();

    // On its own subjects a gateway enrolls and heartbeats, and fetches what a directive names.
    let gw_prod = prod_client.enroll(ws, "eks-prod-us", &["gw-prod"]).await.unwrap()[0];
    let gw_stage = stage_client.enroll(ws, "gke-stage-eu", &["gw-stage"]).await.unwrap()[0];
    let version = "3.6.1".parse().unwrap();
    let record = |handle, cluster, revision| {
        HeartbeatRecord::new(handle, now_ms(), version, ProcessStatus::Ready, Metrics::default())
            .with_applied(revision, demo::hash(cluster, revision))
    };
    let outcomes = prod_client.send_batch(ws, "eks-prod-us", record(gw_prod, "eks-prod-us", 2).as_bytes()).await;
    assert_eq!(outcomes.unwrap()[0].outcome(), Some(Outcome::Accepted));
    let outcomes = stage_client.send_batch(ws, "gke-stage-eu", record(gw_stage, "gke-stage-eu", 1).as_bytes()).await;
    let directive = outcomes.unwrap()[0].directive().expect("the staging cluster auto-reconciles to r2");
    assert_eq!(stage_client.fetch_artifact(&directive.1).await.unwrap(), demo::config("gke-stage-eu", 2));
    // One of many chunks, read under the consumer's flow control.
    let large: Vec<u8> = (0..8u32 << 20).map(|i| (i % 251) as u8).collect();
    let artifacts = Artifacts::open(&async_nats::jetstream::new(nats.clone()), 1).await.unwrap();
    let hash = artifacts.put(&large).await.unwrap();
    assert!(stage_client.fetch_artifact(&hash).await.unwrap() == large, "the large artifact read back");
    let t = now_ms();
    let stage_before = engine.node("gw-stage", t).unwrap();

    // Another cluster's subject: the server refuses the publish, and nothing reaches the engine.
    let other = "fleet.hb.acme-edge.gke-stage-eu";
    prod.publish_with_reply(other, prod.new_inbox(), record(gw_stage, "gke-stage-eu", 2).as_bytes().to_vec().into())
        .await
        .unwrap();
    let violation = next_error(&mut prod_errors).await;
    assert!(is_violation(&violation, other), "{violation}");
    let denied = [
        "fleet.enroll.acme-edge.gke-stage-eu",
        "fleet.audit.publish",
        // Nor forge a partition's history or node state.
        "fleet.journal.p0",
        "fleet.nodes.p0",
        "$JS.API.STREAM.DELETE.FLEET_AUDIT",
        "$JS.API.STREAM.PURGE.FLEET_AUDIT",
    ];
    for subject in denied {
        prod.publish(subject, bytes::Bytes::new()).await.unwrap();
        let violation = next_error(&mut prod_errors).await;
        assert!(is_violation(&violation, subject), "{subject}: {violation}");
    }
    // Nor may it listen to other subjects: every heartbeat, or another gateway's replies.
    for subject in ["fleet.hb.>", "_INBOX_gw-gke-stage-eu.>", "_INBOX.>"] {
        let _subscription = prod.subscribe(subject).await.unwrap();
        let violation = next_error(&mut prod_errors).await;
        assert!(is_violation(&violation, subject), "{subject}: {violation}");
    }
    prod.flush().await.unwrap();
    assert_eq!(engine.node("gw-stage", t).unwrap(), stage_before, "the staging node was not touched");
    assert_eq!(instance.wrong_cluster_records(), 0, "nothing reached the service");

    // And the gateway still works on its own subject.
    let outcomes = prod_client.send_batch(ws, "eks-prod-us", record(gw_prod, "eks-prod-us", 2).as_bytes()).await;
    assert_eq!(outcomes.unwrap()[0].outcome(), Some(Outcome::Accepted));
    instance.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_admin_may_delete_streams_or_purge_the_audit_and_checkpoints_and_the_service_trims_the_journal() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("gateways.conf");
    let Some(server) = NatsServer::start_with_config(&file, "fleetgov", "change-me-service").await else { return };
    let nats = server.connect().await;
    let _replica = engine(&nats, 1).await; // the service user creates the streams and the authority
    Journals::open(&async_nats::jetstream::new(nats.clone()), 1, DEFAULT_PARTITIONS)
        .await
        .expect("the journal streams");
    let audit_len = || async {
        let js = async_nats::jetstream::new(server.connect().await);
        js.get_stream(AUDIT_STREAM).await.expect("FLEET_AUDIT is there").info().await.unwrap().state.messages
    };
    let before = audit_len().await;
    assert!(before > 0);

    let service = ConnectOptions::with_user_and_password("fleetgov".into(), "change-me-service".into());
    let (service, mut service_errors) = watched(&server, service).await;
    let (gateway, mut gateway_errors) = gateway(&server, "gw-eks-prod-us", "change-me-eks-prod-us").await;
    for (who, client, errors) in
        [("service", &service, &mut service_errors), ("gateway", &gateway, &mut gateway_errors)]
    {
        let mut js = async_nats::jetstream::new(client.clone());
        js.set_timeout(std::time::Duration::from_secs(1)); // the server never answers a refused request
        for stream in [AUDIT_STREAM, JOURNAL_STREAM, NODES_STREAM] {
            assert!(js.delete_stream(stream).await.is_err(), "the {who} user deleted {stream}");
            let violation = next_error(errors).await;
            assert!(is_violation(&violation, &format!("$JS.API.STREAM.DELETE.{stream}")), "{who}: {violation}");
            if who == "service" && stream == JOURNAL_STREAM {
                continue; // the partition owners trim it (below)
            }
            let purge = format!("$JS.API.STREAM.PURGE.{stream}");
            client.publish_with_reply(purge.clone(), client.new_inbox(), bytes::Bytes::new()).await.unwrap();
            let violation = next_error(errors).await;
            assert!(is_violation(&violation, &purge), "{who}: {violation}");
        }
    }
    assert_eq!(audit_len().await, before, "every record is still there");

    // The service user trims a partition's journal by subject and sequence.
    let js = async_nats::jetstream::new(service.clone());
    let journals = Journals::open(&js, 1, DEFAULT_PARTITIONS).await.unwrap();
    let mut last = 0;
    for body in [b"one", b"two"] {
        let Written::At(at) = journals.append_segment(&harness::lease(2, 7), body.to_vec(), 0, last).await.unwrap()
        else {
            panic!("nobody else writes partition 2")
        };
        last = at;
    }
    let journal = js.get_stream(JOURNAL_STREAM).await.unwrap();
    let purged = journal.purge().filter(segments_subject(2)).sequence(last).await.expect("the service trims");
    assert_eq!(purged.purged, 1, "the segment below the last one");

    // The admin may administer streams.
    let admin = ConnectOptions::with_user_and_password("fleetgov-admin".into(), "change-me-admin".into());
    let js = async_nats::jetstream::new(server.connect_with(admin).await);
    js.delete_stream(AUDIT_STREAM).await.expect("the admin deletes FLEET_AUDIT");
}
