//! Floods through heartbeats: a node reporting a fresh unmatched hash with
//! every heartbeat grows its history by at most the hour's budget, then not
//! at all; it stays divergent throughout.

mod common;

use common::{T0, engine, v};
use fleetgov::unmatched::MAX_NEW_PER_HOUR;
use fleetgov::*;

#[test]
fn fresh_random_hashes_grow_history_by_the_hourly_budget_only() {
    let e = engine();
    e.clock().set(T0 + 2 * 3_600_000);
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    let nodes: Vec<_> = (0..4).map(|i| e.enroll(&format!("n{i}"), "prod", T0).unwrap()).collect();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..20_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let hash = ContentHash::of(&x.to_le_bytes());
        let hb = Heartbeat::new(T0 + i / 10, v("3.5.0")).applied(&s.id, hash);
        e.heartbeat(nodes[(i % 4) as usize], &hb).unwrap();
    }
    for i in 0..4 {
        let node = format!("n{i}");
        let changes = e.history(&node, T0, T0 + 3_600_000).unwrap();
        assert_eq!(changes.len(), usize::from(MAX_NEW_PER_HOUR) + 1, "{node}: the budget, then one withheld report");
        let last = changes.last().unwrap();
        assert_eq!((last.hash, last.verified, last.snapshot.as_deref()), (None, false, Some("prod@r1")));
        let view = e.node(&node, T0 + 3_600_000).unwrap();
        assert_eq!(view.config_status, ConfigStatus::Divergent);
        let error = view.last_sync_error.unwrap();
        assert_eq!(error.code, SyncErrorCode::HashMismatch);
        assert!(error.detail.contains("not kept"), "{}", error.detail);
    }
    // The next hour brings a new budget; the snapshot's own hash is always kept.
    let n0 = nodes[0];
    e.heartbeat(n0, &Heartbeat::new(T0 + 3_600_000, v("3.5.0")).applied(&s.id, ContentHash::of(b"next hour"))).unwrap();
    e.heartbeat(n0, &Heartbeat::new(T0 + 3_600_001, v("3.5.0")).applied(&s.id, s.hash)).unwrap();
    let changes = e.history("n0", T0 + 3_600_000, T0 + 2 * 3_600_000).unwrap();
    assert_eq!(
        changes.iter().map(|c| (c.hash, c.verified)).collect::<Vec<_>>(),
        [(Some(ContentHash::of(b"next hour")), false), (Some(s.hash), true)]
    );
    assert!(e.recount_mismatches().is_empty());
}
