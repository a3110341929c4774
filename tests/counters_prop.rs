//! Random sequences of publishes, enrolments, removals and heartbeats keep the
//! incremental counters equal to a recount and to a plain model of the rules.

mod common;

use std::collections::HashMap;

use common::{T0, engine, v};
use fleetgov::*;
use proptest::prelude::*;

const CLUSTERS: [&str; 3] = ["prod", "stage", "dev"];

#[derive(Clone, Debug)]
enum Op {
    Publish { cluster: usize, content: u8 },
    Enroll { node: usize, cluster: usize },
    Unenroll { node: usize },
    Heartbeat { node: usize, revision: u32, good_hash: bool, error: Option<u8>, dt: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0..3usize, 0..4u8).prop_map(|(cluster, content)| Op::Publish { cluster, content }),
        1 => (0..8usize, 0..3usize).prop_map(|(node, cluster)| Op::Enroll { node, cluster }),
        1 => (0..8usize).prop_map(|node| Op::Unenroll { node }),
        4 => (0..8usize, 0..5u32, any::<bool>(), proptest::option::of(0..3u8), 0..3u64)
            .prop_map(|(node, revision, good_hash, error, dt)| Op::Heartbeat { node, revision, good_hash, error, dt }),
    ]
}

/// The model: per node its cluster and last verified applied revision.
#[derive(Default)]
struct Model {
    desired: HashMap<usize, u32>,
    nodes: HashMap<usize, (usize, u32)>,
    last_at: HashMap<usize, u64>,
}

impl Model {
    fn cohesion(&self, cluster: usize) -> u8 {
        let members: Vec<_> = self.nodes.values().filter(|(c, _)| *c == cluster).collect();
        let desired = self.desired.get(&cluster).copied().unwrap_or(0);
        let in_sync = members.iter().filter(|(_, r)| desired != 0 && *r == desired).count();
        cohesion::cohesion(in_sync as u64, members.len() as u64)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn counters_equal_a_recount_and_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        let e = engine();
        let mut model = Model::default();
        let mut now = T0;
        let errors = ["RELOAD_FAILURE: x", "NATS_TIMEOUT: y", "VALIDATION_FAILED: z"];
        for op in ops {
            match op {
                Op::Publish { cluster, content } => {
                    let s = e.publish(CLUSTERS[cluster], &[content], "p", now).unwrap();
                    model.desired.insert(cluster, s.revision);
                }
                Op::Enroll { node, cluster } => {
                    let r = e.enroll(&format!("n{node}"), CLUSTERS[cluster], now);
                    match model.nodes.get(&node) {
                        Some((c, _)) if *c != cluster => prop_assert_eq!(r.unwrap_err().kind(), ErrorKind::Conflict),
                        Some(_) => prop_assert!(r.is_ok()),
                        None => { r.unwrap(); model.nodes.insert(node, (cluster, 0)); }
                    }
                }
                Op::Unenroll { node } => {
                    let r = e.unenroll(&format!("n{node}"), &By::new("op", Role::Operator, now));
                    match model.nodes.remove(&node) {
                        Some(_) => {
                            prop_assert_eq!(r.unwrap().action, audit::AuditAction::RemoveNode);
                            model.last_at.remove(&node);
                        }
                        None => prop_assert_eq!(r.unwrap_err().kind(), ErrorKind::NotFound),
                    }
                    prop_assert_eq!(e.recount_mismatches(), Vec::<String>::new());
                }
                Op::Heartbeat { node, revision, good_hash, error, dt } => {
                    now += dt;
                    let Some(&(cluster, _)) = model.nodes.get(&node) else {
                        prop_assert_eq!(e.heartbeat_by_id(&format!("n{node}"), &Heartbeat::new(now, v("3.5.0"))).unwrap_err().kind(), ErrorKind::NotFound);
                        continue;
                    };
                    let at = now - dt * (node as u64 % 2); // some heartbeats from the past
                    let id = snapshot_id(CLUSTERS[cluster], revision.max(1));
                    let real = e.snapshot(&id).ok();
                    let hash = match (&real, good_hash) { (Some(s), true) => s.hash, _ => ContentHash::of(b"other") };
                    let err: Option<SyncError> = error.map(|i| errors[i as usize].parse().unwrap());
                    let hb = Heartbeat { sync_error: err.as_ref(), ..Heartbeat::new(at, v("3.5.0")).applied(&id, hash) };
                    let r = e.heartbeat_by_id(&format!("n{node}"), &hb);
                    let last = model.last_at.get(&node).copied();
                    if last.is_some_and(|l| at < l) {
                        prop_assert_eq!(r.unwrap_err().kind(), ErrorKind::StaleHeartbeat);
                    } else {
                        r.unwrap();
                        model.last_at.insert(node, at);
                        let verified = if real.is_some() && good_hash { revision.max(1) } else { 0 };
                        model.nodes.insert(node, (cluster, verified));
                    }
                }
            }
        }
        prop_assert_eq!(e.recount_mismatches(), Vec::<String>::new());
        for (i, c) in CLUSTERS.iter().enumerate() {
            prop_assert_eq!(e.cohesion(c).unwrap(), model.cohesion(i), "cluster {}", c);
            let members = model.nodes.values().filter(|(cluster, _)| *cluster == i).count() as u64;
            prop_assert_eq!(e.cluster(c, now).unwrap().total, members, "cluster {}", c);
        }
    }
}
