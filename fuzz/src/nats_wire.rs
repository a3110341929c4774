//! Target `nats_wire`: everything fleetgov over NATS decodes from the wire.
//!
//! An input's first byte picks the message (modulo 8), the rest is its body:
//!
//! | byte | message | decoder | properties |
//! |---:|---|---|---|
//! | 0 | enrolment request | `wire::parse_enroll_request` | the ids it accepts are valid and encode back to the body |
//! | 1 | enrolment reply | `wire::parse_handles` | accepted exactly when whole, and encodes back; a reply of another count is refused |
//! | 2 | heartbeat request on `fleet.hb.<ws>.<cluster>` | `Engine::ingest_cluster_batch` | as `heartbeat_batch`, plus: a record of another cluster's node is refused and changes nothing; an unknown cluster applies nothing (the second byte picks the cluster) |
//! | 3 | heartbeat reply | `wire::parse_outcomes` | accepted exactly when whole, keeping every byte |
//! | 4 | error reply | `wire::reply_error` | any header value reads as an error, its code's kind or `INVALID_INPUT` with the whole text; an error's kind and message survive `error_headers` |
//! | 5 | cluster summary (KV value) | `serde_json` into `ClusterSummary`, `aged` | JSON round trip; aged figures never exceed the written ones, never grow with time, and follow the core's cohesion and status rules |
//! | 6 | several summaries | `FleetView::merge` | totals are the sums (saturated at `u64::MAX`) and counts of the aged summaries |
//! | 7 | subject token / KV key | `subject::decode_id`, `encode_id` | each inverts the other |

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::header::HeaderValue;
use fleetgov::cohesion::{cohesion, cohesion_bp};
use fleetgov::freshness::VERIFIED_WITHIN_MS;
use fleetgov::record::{OUTCOME_SIZE, RECORD_SIZE};
use fleetgov::{ClusterStatus, Engine, Error, ErrorKind, NodeHandle, demo, validate_id};
use fleetgov_nats::subject::{ERROR_HEADER, decode_id, encode_id};
use fleetgov_nats::wire::{
    HANDLE_SIZE, enroll_request, error_headers, handles_reply, parse_enroll_request, parse_handles, parse_outcomes,
    reply_error,
};
use fleetgov_nats::{ClusterSummary, FleetView};
use zerocopy::IntoBytes;

use crate::fleet_state::FleetState;
use crate::heartbeat_batch::{self, NOW_MS, check_batch, fleet, with_engine_tag};
use crate::{Harness, Seed};

/// Inputs run on one fleet before a fresh one is made (see `heartbeat_batch`).
const RUNS_PER_FLEET: u32 = 256;
/// How old a summary may be before a view flags it stale.
const STALE_AFTER: Duration = Duration::from_secs(30);

/// The messages, by their selector byte.
const ENROLL: u8 = 0;
const HANDLES: u8 = 1;
const HEARTBEATS: u8 = 2;
const OUTCOMES: u8 = 3;
const ERROR_REPLY: u8 = 4;
const SUMMARY: u8 = 5;
const VIEW: u8 = 6;
const TOKEN: u8 = 7;

/// The error kinds an error reply names by code.
const REPLY_KINDS: [ErrorKind; 10] = [
    ErrorKind::InvalidInput,
    ErrorKind::NotFound,
    ErrorKind::Conflict,
    ErrorKind::StaleHeartbeat,
    ErrorKind::FutureHeartbeat,
    ErrorKind::JustificationRequired,
    ErrorKind::PermissionDenied,
    ErrorKind::AuditTampered,
    ErrorKind::Io,
    ErrorKind::ReloadFailure,
];

/// Byte strings worth inserting: separators, escapes, codes, JSON numbers.
pub const DICTIONARY: &[&[u8]] = &[
    b"\n",
    b"=2E",
    b"=3A",
    b"=",
    b".",
    b":",
    b": ",
    b"NOT_FOUND",
    b"INVALID_INPUT: ",
    b"18446744073709551615",
    b"18446744073709551616",
    b"-1",
    b"0",
    b"null",
    br#""status":"HEALTHY""#,
    br#"{"untilMs":0,"nodes":18446744073709551615}"#,
    br#"{"revision":4294967295,"nodes":1}"#,
    br#"{"code":"RELOAD_FAILURE","nodes":1}"#,
    b",",
    b"[",
    b"]",
    b"{",
    b"}",
];

/// The harness: a demo fleet for the heartbeat requests, refreshed every
/// [`RUNS_PER_FLEET`] inputs.
pub struct WireHarness {
    engine: Engine,
    runs: u32,
}

impl WireHarness {
    /// A harness over a fresh demo fleet.
    pub fn new() -> Self {
        WireHarness { engine: fleet(), runs: 0 }
    }
}

impl Default for WireHarness {
    fn default() -> Self {
        WireHarness::new()
    }
}

impl Harness for WireHarness {
    fn run(&mut self, data: &[u8]) {
        let Some((&kind, body)) = data.split_first() else { return };
        self.runs += 1;
        if self.runs.is_multiple_of(RUNS_PER_FLEET) {
            self.engine = fleet();
        }
        match kind % 8 {
            ENROLL => check_enroll_request(body),
            HANDLES => check_handles(body),
            HEARTBEATS => check_heartbeats(&self.engine, body),
            OUTCOMES => check_outcomes(body),
            ERROR_REPLY => check_error_reply(body),
            SUMMARY => {
                if let Ok(summary) = serde_json::from_slice::<ClusterSummary>(body) {
                    check_summary(&summary);
                }
            }
            VIEW => {
                if let Ok(summaries) = serde_json::from_slice::<Vec<ClusterSummary>>(body) {
                    summaries.iter().for_each(check_summary);
                    check_view(summaries);
                }
            }
            _ => check_token(body),
        }
    }
}

fn check_enroll_request(body: &[u8]) {
    match parse_enroll_request(body) {
        Ok(nodes) => {
            assert!(nodes.iter().all(|n| validate_id("node", n).is_ok()), "an invalid id was accepted");
            assert_eq!(enroll_request(&nodes).expect("valid ids encode"), body, "a request encodes back to its body");
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}"),
    }
}

fn check_handles(body: &[u8]) {
    let count = body.len() / HANDLE_SIZE;
    match parse_handles(body, count) {
        Ok(handles) => assert_eq!(handles_reply(&handles), body, "a reply encodes back to its body"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            assert!(!body.len().is_multiple_of(HANDLE_SIZE), "a whole reply was refused: {e}");
        }
    }
    let other = parse_handles(body, count + 1);
    assert_eq!(other.err().map(|e| e.kind()), Some(ErrorKind::InvalidInput), "a reply of another count");
}

fn check_outcomes(body: &[u8]) {
    let count = body.len() / OUTCOME_SIZE;
    match parse_outcomes(body, count) {
        Ok(outcomes) => assert_eq!(outcomes.as_bytes(), body, "outcomes keep every byte"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            assert!(!body.len().is_multiple_of(OUTCOME_SIZE), "a whole reply was refused: {e}");
        }
    }
    let other = parse_outcomes(body, count + 1);
    assert_eq!(other.err().map(|e| e.kind()), Some(ErrorKind::InvalidInput), "a reply of another count");
}

/// The second byte picks the subject's cluster: one of the demo's three, or
/// one the engine does not know.
fn check_heartbeats(engine: &Engine, body: &[u8]) {
    let Some((&pick, records)) = body.split_first() else { return };
    match demo::CLUSTERS.get(usize::from(pick % 4)) {
        Some(&(cluster, ..)) => {
            check_batch(engine, Some(cluster), &with_engine_tag(engine, records));
        }
        None => {
            let before = FleetState::of(engine, NOW_MS);
            let mut outcomes = vec![0u8; records.len() / RECORD_SIZE * OUTCOME_SIZE];
            let e = engine.ingest_cluster_batch("no-such-cluster", records, &mut outcomes).expect_err("unknown");
            assert_eq!(e.kind(), ErrorKind::NotFound, "a subject of an unknown cluster: {e}");
            before.assert_unchanged(engine, NOW_MS, "a batch for an unknown cluster");
        }
    }
}

fn check_error_reply(body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    if let Ok(value) = text.parse::<HeaderValue>() {
        let mut headers = HeaderMap::new();
        headers.insert(ERROR_HEADER, value);
        let error = reply_error(Some(&headers)).expect("an error header is an error");
        let (code, message) = text.split_once(": ").unwrap_or((&text, ""));
        let known = REPLY_KINDS.iter().find(|k| k.code() == code).map(|&k| (k, message.to_owned()));
        let expected = known.unwrap_or((ErrorKind::InvalidInput, text.clone().into_owned()));
        assert_eq!((error.kind(), error.message().to_owned()), expected, "an error reply's kind and message");
    }
    let kind = REPLY_KINDS[body.first().map_or(0, |&b| usize::from(b)) % REPLY_KINDS.len()];
    let sent = Error::new(kind, text.clone().into_owned());
    let back = reply_error(Some(&error_headers(&sent))).expect("an error reply");
    let message: String = sent.message().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    assert_eq!((back.kind(), back.message()), (kind, message.as_str()), "an error survives its reply");
}

fn check_summary(summary: &ClusterSummary) {
    let json = serde_json::to_vec(summary).expect("a summary serializes");
    let back: ClusterSummary = serde_json::from_slice(&json).expect("a summary's JSON decodes");
    assert_eq!(&back, summary, "a summary survives its JSON");
    let mut times = vec![0, summary.at_ms, NOW_MS, summary.at_ms.saturating_add(VERIFIED_WITHIN_MS), u64::MAX];
    times.extend(summary.verified_until.iter().flat_map(|v| [v.until_ms, v.until_ms.saturating_add(1)]));
    times.sort_unstable();
    let mut previous = u64::MAX;
    for now in times {
        let aged = summary.clone().aged(now);
        assert!(aged.in_sync <= summary.in_sync, "aging raised the verified count");
        assert!(aged.in_sync <= previous, "the verified count grew with time");
        previous = aged.in_sync;
        assert_eq!(aged.cohesion, cohesion(aged.in_sync, aged.enrolled), "aged cohesion");
        assert_eq!(aged.cohesion_bp, cohesion_bp(aged.in_sync, aged.enrolled), "aged cohesion in basis points");
        assert!(aged.cohesion <= 100 && aged.cohesion_bp <= 10_000, "cohesion over 100 %");
        assert_eq!(aged.status, ClusterStatus::of(aged.in_sync, aged.enrolled, aged.errors), "aged status");
    }
}

fn check_view(summaries: Vec<ClusterSummary>) {
    // Each partition owned by the instance that wrote its last summary.
    let owners: std::collections::BTreeMap<u32, String> =
        summaries.iter().map(|s| (s.partition, s.owner.clone())).collect();
    let view = FleetView::merge(summaries.clone(), owners.clone(), NOW_MS, STALE_AFTER);
    let stale_before = NOW_MS.saturating_sub(u64::try_from(STALE_AFTER.as_millis()).unwrap_or(u64::MAX));
    // Of two summaries of one cluster, the later wins.
    let mut latest = std::collections::BTreeMap::new();
    for s in summaries {
        latest.insert(s.cluster.clone(), s);
    }
    assert_eq!(view.clusters.len(), latest.len(), "one entry per cluster");
    let t = &view.totals;
    assert_eq!(t.clusters, latest.len(), "cluster count");
    // Exact sums, saturated at u64::MAX.
    let sum = |f: fn(&ClusterSummary) -> u64| {
        let exact = view.clusters.values().map(|s| u128::from(f(s))).sum::<u128>();
        u64::try_from(exact).unwrap_or(u64::MAX)
    };
    assert_eq!(t.enrolled, sum(|s| s.enrolled), "enrolled is the sum over clusters");
    assert_eq!(t.in_sync, sum(|s| s.in_sync), "in sync is the sum over clusters");
    assert_eq!(t.healthy + t.syncing + t.divergent + t.stale, t.clusters, "every cluster has one status or is stale");
    assert_eq!(t.stale, view.stale().count(), "stale count");
    assert_eq!(t.cohesion, cohesion(t.in_sync, t.enrolled), "fleet cohesion");
    for (id, s) in latest {
        let stale = s.at_ms < stale_before || s.restoring || owners.get(&s.partition) != Some(&s.owner);
        let expected = ClusterSummary { stale, ..s.aged(NOW_MS) };
        assert_eq!(view.clusters.get(&id), Some(&expected), "cluster {id} is its latest summary, aged");
    }
}

fn check_token(body: &[u8]) {
    let Ok(token) = std::str::from_utf8(body) else { return };
    if let Ok(id) = decode_id(token) {
        assert!(validate_id("id", &id).is_ok(), "a decoded id is valid");
        assert_eq!(encode_id(&id).expect("a valid id encodes"), token, "decoding inverts encoding");
    }
    match encode_id(token) {
        Ok(encoded) => assert_eq!(decode_id(&encoded).expect("an encoded id decodes"), token, "encoding inverts"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}"),
    }
}

fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    [&[kind][..], body].concat()
}

/// The seeds: valid and broken bodies of each message.
pub fn seeds() -> Vec<Seed> {
    let engine = fleet();
    let summaries: Vec<ClusterSummary> = engine
        .cluster_ids()
        .iter()
        .map(|c| ClusterSummary::read(&engine, c, "ingest-1", NOW_MS).expect("a demo summary"))
        .collect();
    let summary_json = |s: &ClusterSummary| serde_json::to_vec(s).expect("JSON");
    let mut overflowing = summaries[0].clone();
    overflowing.verified_until = vec![
        fleetgov_nats::VerifiedUntil { until_ms: u64::MAX, nodes: u64::MAX },
        fleetgov_nats::VerifiedUntil { until_ms: u64::MAX, nodes: 2 },
    ];
    overflowing.in_sync = u64::MAX;
    let mut huge = summaries[1].clone();
    huge.enrolled = u64::MAX;
    let mut inconsistent = summaries[2].clone();
    (inconsistent.in_sync, inconsistent.enrolled, inconsistent.cohesion) = (9, 3, 250);
    let batch = |name: &str| heartbeat_batch::seeds().into_iter().find(|s| s.name == name).expect("a batch seed").bytes;
    let mut seeds = vec![
        Seed::new("enroll-two", message(ENROLL, b"gw-1\ngw-2")),
        Seed::new("enroll-encoded-characters", message(ENROLL, b"gw.1:eu\n_x-9")),
        Seed::new("enroll-empty", message(ENROLL, b"")),
        Seed::new("enroll-trailing-newline", message(ENROLL, b"gw-1\n")),
        Seed::new("enroll-empty-line", message(ENROLL, b"a\n\nb")),
        Seed::new("enroll-crlf", message(ENROLL, b"gw-1\r\ngw-2")),
        Seed::new("enroll-longest-id", message(ENROLL, "n".repeat(128).as_bytes())),
        Seed::new("enroll-id-too-long", message(ENROLL, "n".repeat(129).as_bytes())),
        Seed::new("enroll-not-utf8", message(ENROLL, b"gw-\xff")),
        Seed::new(
            "handles-two",
            message(HANDLES, &handles_reply(&[NodeHandle::from_raw(1), NodeHandle::from_raw(u64::MAX)])),
        ),
        Seed::new("handles-none", message(HANDLES, b"")),
        Seed::new("handles-cut", message(HANDLES, &[7; 15])),
        Seed::new("outcomes-two", message(OUTCOMES, &[[0u8; 40], [1; 40]].concat())),
        Seed::new("outcomes-cut", message(OUTCOMES, &[0; 39])),
        Seed::new("outcomes-unknown-code", message(OUTCOMES, &[&[7u8][..], &[0; 39]].concat())),
        Seed::new("error-known", message(ERROR_REPLY, b"NOT_FOUND: cluster 'x' not found")),
        Seed::new("error-unknown-code", message(ERROR_REPLY, b"NEW_KIND: something")),
        Seed::new("error-no-separator", message(ERROR_REPLY, b"INVALID_INPUT")),
        Seed::new("error-empty-message", message(ERROR_REPLY, b"CONFLICT: ")),
        Seed::new("error-control-characters", message(ERROR_REPLY, b"IO: line one\r\nline two\t\x7f\xc2\x85")),
        Seed::new("error-empty", message(ERROR_REPLY, b"")),
        Seed::new("summary-overflowing-counts", message(SUMMARY, &summary_json(&overflowing))),
        Seed::new("summary-enrolled-max", message(SUMMARY, &summary_json(&huge))),
        Seed::new("summary-inconsistent", message(SUMMARY, &summary_json(&inconsistent))),
        Seed::new("summary-negative", message(SUMMARY, br#"{"cluster":"c","enrolled":-1}"#)),
        Seed::new("summary-not-json", message(SUMMARY, b"{")),
        Seed::new("view-demo", message(VIEW, &serde_json::to_vec(&summaries).expect("JSON"))),
        Seed::new(
            "view-one-cluster-twice",
            message(VIEW, &serde_json::to_vec(&[&summaries[0], &summaries[0]]).expect("JSON")),
        ),
        Seed::new("view-enrolled-overflow", message(VIEW, &serde_json::to_vec(&[&huge, &summaries[0]]).expect("JSON"))),
        Seed::new("view-empty", message(VIEW, b"[]")),
        Seed::new("token-encoded", message(TOKEN, b"gw-1=2Eeu=3Aa")),
        Seed::new("token-unknown-escape", message(TOKEN, b"a=41")),
        Seed::new("token-cut-escape", message(TOKEN, b"a=2")),
        Seed::new("token-raw-dot", message(TOKEN, b"a.b")),
        Seed::new("token-empty", message(TOKEN, b"")),
        Seed::new("token-subject-wildcard", message(TOKEN, b"fleet.hb.>")),
    ];
    for (i, (cluster, ..)) in demo::CLUSTERS.iter().enumerate() {
        let pick = i as u8;
        seeds.push(Seed::new(format!("summary-{cluster}"), message(SUMMARY, &summary_json(&summaries[i]))));
        seeds.push(Seed::new(
            format!("heartbeats-on-{cluster}"),
            message(HEARTBEATS, &[&[pick][..], &batch("all-in-sync")].concat()),
        ));
    }
    seeds.extend([
        Seed::new("heartbeats-unknown-cluster", message(HEARTBEATS, &[&[3][..], &batch("one-in-sync")].concat())),
        Seed::new("heartbeats-malformed", message(HEARTBEATS, &[&[0][..], &batch("nan-cpu")].concat())),
        Seed::new("heartbeats-unknown-handles", message(HEARTBEATS, &[&[0][..], &batch("unknown-handles")].concat())),
    ]);
    seeds
}
