//! Criterion benches of the engine's hot paths and O(1) reads.
//!
//! `cargo bench -p fleetgov-bench --bench engine` (CI runs it with `--no-run`).
//! Fleets of 1,000 and 1,000,000 nodes in 100 clusters, and one cluster of
//! 1,000,000 nodes for publishes and rollouts.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use fleetgov::record::{HeartbeatRecord, OUTCOME_SIZE};
use fleetgov::*;
use zerocopy::IntoBytes;

const T0: u64 = 1_700_000_000_000;
const CLUSTERS: usize = 100;

struct Fleet {
    engine: Engine,
    handles: Vec<NodeHandle>,
    ids: Vec<String>,
    snapshots: Vec<Snapshot>,
}

fn fleet(nodes: usize) -> Fleet {
    let engine =
        Engine::with_config(EngineConfig { clock: Clock::manual(T0), capacity: nodes, ..EngineConfig::default() })
            .unwrap();
    engine.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    let snapshots: Vec<Snapshot> = (0..CLUSTERS)
        .map(|c| {
            let id = format!("c{c}");
            engine.upsert_cluster(ClusterSpec::new(&id, "ws", Environment::Production)).unwrap();
            engine.publish(&id, b"config v1", "bench", T0).unwrap()
        })
        .collect();
    let ids: Vec<String> = (0..nodes).map(|i| format!("gw-{i:07}")).collect();
    let handles =
        ids.iter().enumerate().map(|(i, id)| engine.enroll(id, &format!("c{}", i % CLUSTERS), T0).unwrap()).collect();
    Fleet { engine, handles, ids, snapshots }
}

fn heartbeat(f: &Fleet, i: usize, at: u64) -> Heartbeat<'_> {
    let s = &f.snapshots[i % CLUSTERS];
    Heartbeat::new(at, "3.5.0".parse().unwrap()).applied(&s.id, s.hash)
}

fn records(f: &Fleet, n: usize) -> Vec<HeartbeatRecord> {
    let mut x = 0x9e3779b97f4a7c15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = x as usize % f.handles.len();
            let s = &f.snapshots[i % CLUSTERS];
            HeartbeatRecord::new(f.handles[i], T0, "3.5.0".parse().unwrap(), ProcessStatus::Ready, Metrics::default())
                .with_applied(s.revision, s.hash)
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let small = fleet(1_000);
    let big = fleet(1_000_000);

    let mut g = c.benchmark_group("heartbeat");
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("by_handle_1m", |b| {
        b.iter(|| {
            i = (i + 7919) % big.handles.len();
            black_box(big.engine.heartbeat(big.handles[i], &heartbeat(&big, i, T0)).unwrap().is_some())
        })
    });
    g.bench_function("by_id_1m", |b| {
        b.iter(|| {
            i = (i + 7919) % big.handles.len();
            black_box(big.engine.heartbeat_by_id(&big.ids[i], &heartbeat(&big, i, T0)).unwrap().is_some())
        })
    });
    g.finish();

    let batch = records(&big, 100_000);
    let mut g = c.benchmark_group("batch");
    g.throughput(Throughput::Elements(batch.len() as u64));
    let mut out = vec![0u8; batch.len() * OUTCOME_SIZE];
    g.bench_function("ingest_100k_1m", |b| b.iter(|| big.engine.ingest_batch(batch.as_bytes(), &mut out).unwrap()));
    g.finish();

    let mut g = c.benchmark_group("read");
    g.bench_function("cohesion_1k", |b| b.iter(|| small.engine.cohesion(black_box("c7")).unwrap()));
    g.bench_function("cohesion_1m", |b| b.iter(|| big.engine.cohesion(black_box("c7")).unwrap()));
    g.bench_function("cluster_status_1m", |b| b.iter(|| big.engine.cluster_status(black_box("c7")).unwrap()));
    g.sample_size(10);
    g.bench_function("fleet_summary_1m", |b| b.iter(|| big.engine.fleet_summary("ws", T0).unwrap()));
    g.bench_function("recount_1m", |b| b.iter(|| big.engine.recount_mismatches()));
    g.finish();

    let one =
        Engine::with_config(EngineConfig { clock: Clock::manual(T0), capacity: 1_000_000, ..EngineConfig::default() })
            .unwrap();
    one.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    one.upsert_cluster(ClusterSpec::new("c", "ws", Environment::Production)).unwrap();
    let s = one.publish("c", b"v1", "bench", T0).unwrap();
    for n in 0..1_000_000 {
        let h = one.enroll(&format!("n{n}"), "c", T0).unwrap();
        one.heartbeat(h, &Heartbeat::new(T0, "3.5.0".parse().unwrap()).applied(&s.id, s.hash)).unwrap();
    }
    let handles: Vec<NodeHandle> = (0..1_000_000).map(|n| one.node_handle(&format!("n{n}")).unwrap()).collect();
    let mut g = c.benchmark_group("rollout");
    g.throughput(Throughput::Elements(1));
    // The same heartbeats before and during a rollout: nodes report the
    // snapshot they run; the rollout's canary (1 %) is told to pull the target.
    let steady = |b: &mut criterion::Bencher<'_>, s: &Snapshot| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 7919) % handles.len();
            let hb = Heartbeat::new(T0, "3.5.0".parse().unwrap()).applied(&s.id, s.hash);
            black_box(one.heartbeat(handles[i], &hb).unwrap().is_some())
        })
    };
    g.bench_function("heartbeat_1m_node_cluster", |b| steady(b, &s));
    let by = By::new("bench", Role::Operator, T0);
    let hold = fleetgov::rollout::RolloutPlan::new([1, 100], u64::MAX, 0.0, false).unwrap();
    one.publish_with_rollout("c", b"rollout target", &by, hold).unwrap();
    g.bench_function("heartbeat_1m_node_cluster_during_rollout", |b| steady(b, &s));
    g.finish();

    let mut g = c.benchmark_group("publish");
    let mut rev = 0u64;
    let mut next = || {
        rev += 1;
        rev.to_le_bytes()
    };
    g.bench_function("flip_1m_node_cluster", |b| {
        b.iter_batched(&mut next, |bytes| one.publish("c", &bytes, "bench", T0).unwrap(), BatchSize::SmallInput)
    });
    let plan = fleetgov::rollout::RolloutPlan::new([1, 10, 50, 100], 60_000, 5.0, true).unwrap();
    g.bench_function("rollout_start_1m_node_cluster", |b| {
        b.iter_batched(
            &mut next,
            |bytes| one.publish_with_rollout("c", &bytes, &by, plan.clone()).unwrap(),
            BatchSize::SmallInput,
        )
    });
    let why = Override::new("bench", Role::Operator, "start every wave", T0);
    g.bench_function("wave_start_1m_node_cluster", |b| {
        b.iter_batched(
            || one.publish_with_rollout("c", &next(), &by, plan.clone()).unwrap(),
            |_| one.promote_rollout("c", &why).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("rollout_read_1m_node_cluster", |b| b.iter(|| one.rollout(black_box("c"), T0).unwrap()));
    g.finish();
}

criterion_group!(engine, benches);
criterion_main!(engine);
