//! The one workload every row of the harness runs.
//!
//! A fleet of `nodes` nodes (default 1,000,000) in `clusters` clusters
//! (default 100, so 10,000 nodes each; node `slot` belongs to cluster
//! `slot / nodes_per_cluster`). Every cluster has two published snapshots:
//! `<cluster>@r1` (the previous one) and `<cluster>@r2` (the desired one),
//! each with the blake3 hash of its own config bytes. Before a row is timed,
//! every node has reported the desired snapshot, so every cluster starts at
//! 100% cohesion.
//!
//! The heartbeat stream is generated up front and is never part of a timed
//! section. It is split into one stream per worker thread by node
//! (`slot % threads`), so the heartbeats of one node always arrive in order on
//! one thread while every thread still touches every cluster. Each heartbeat
//! names a node drawn uniformly at random from its thread's share; with
//! probability `transition_bp / 10,000` (1% by default) it is a *transition*:
//! the node now reports the other snapshot (and that snapshot's hash) than it
//! reported before. Every other heartbeat repeats what the node reported last.
//!
//! **Query rule (the same for every row that tracks state):** each worker
//! thread handles its stream in chunks of [`QUERY_EVERY`] heartbeats and, after
//! each chunk, reads the cohesion of the cluster of the chunk's last
//! heartbeat. That is the dashboard's view refreshing once per thousand
//! heartbeats per thread; trackers that must scan to answer pay for the scan
//! at that rate and no more often. The chunk is also the unit a row may batch
//! by (a Redis pipeline, one multi-row upsert, one `ingest_batch` call).
//!
//! A row that runs fewer heartbeats than the stream holds runs a prefix of
//! every thread's stream ([`Workload::prefix`]), and [`Workload::expected_in_sync`]
//! gives the exact per-cluster in-sync counts that prefix must leave behind,
//! which every row is checked against after its run.

use fleetgov::ContentHash;

/// Heartbeats per thread between two cohesion reads (and the batch size).
pub const QUERY_EVERY: usize = 1_000;

/// Unix milliseconds of the first heartbeat of every stream.
pub const BASE_MS: u64 = 1_700_000_000_000;

/// Heartbeats of one thread's stream that share one millisecond stamp.
const HEARTBEATS_PER_MS: u64 = 1_000;

/// The shape of the workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadSpec {
    /// Nodes in the fleet.
    pub nodes: u32,
    /// Clusters the nodes are spread over, in equal contiguous blocks.
    pub clusters: u32,
    /// Heartbeats in the whole stream (over all threads).
    pub heartbeats: u64,
    /// Worker threads, and so streams.
    pub threads: usize,
    /// Transitions per 10,000 heartbeats (100 = 1%).
    pub transition_bp: u32,
    /// Seed of the generator; the same seed gives the same stream.
    pub seed: u64,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        WorkloadSpec {
            nodes: 1_000_000,
            clusters: 100,
            heartbeats: 20_000_000,
            threads: 2,
            transition_bp: 100,
            seed: 0x5eed_f1ee_7e0e,
        }
    }
}

/// Which of its cluster's two snapshots a node reports having applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Applied {
    /// `<cluster>@r2` with its hash: the desired snapshot (in sync).
    Desired,
    /// `<cluster>@r1` with its hash: the previous snapshot (divergent).
    Previous,
}

impl Applied {
    /// The revision of the snapshot it names.
    pub fn revision(self) -> u32 {
        match self {
            Applied::Previous => 1,
            Applied::Desired => 2,
        }
    }

    fn toggled(self) -> Self {
        match self {
            Applied::Desired => Applied::Previous,
            Applied::Previous => Applied::Desired,
        }
    }
}

/// One heartbeat of the stream: which node, and what it reports it applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The node's dense index, `0..nodes`.
    pub slot: u32,
    /// What the node reports.
    pub applied: Applied,
}

/// A snapshot as every row names it: id string and content hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotRef {
    /// `<cluster>@r<revision>`.
    pub id: String,
    /// blake3 of the snapshot's config bytes.
    pub hash: ContentHash,
    /// The hash as 64 hex characters (what the database peers store).
    pub hash_hex: String,
}

impl SnapshotRef {
    fn new(cluster: &str, revision: u32) -> Self {
        let bytes = config_bytes(cluster, revision);
        let hash = ContentHash::of(&bytes);
        SnapshotRef { id: format!("{cluster}@r{revision}"), hash, hash_hex: hash.to_string() }
    }
}

/// The config bytes published as `revision` of `cluster` (distinct per pair).
pub fn config_bytes(cluster: &str, revision: u32) -> Vec<u8> {
    format!("cluster: {cluster}\nrevision: {revision}\nroutes:\n  - path: /api\n    upstream: svc-{revision}\n")
        .into_bytes()
}

/// A cluster of the workload.
#[derive(Clone, Debug)]
pub struct ClusterRef {
    /// Its id, e.g. `cluster-007`.
    pub id: String,
    /// `<id>@r1`: what divergent nodes report.
    pub previous: SnapshotRef,
    /// `<id>@r2`: the desired snapshot.
    pub desired: SnapshotRef,
}

impl ClusterRef {
    /// The snapshot a node reporting `applied` names.
    pub fn snapshot(&self, applied: Applied) -> &SnapshotRef {
        match applied {
            Applied::Desired => &self.desired,
            Applied::Previous => &self.previous,
        }
    }
}

/// The generated workload: ids, clusters and one heartbeat stream per thread.
pub struct Workload {
    spec: WorkloadSpec,
    nodes_per_cluster: u32,
    node_ids: Vec<String>,
    clusters: Vec<ClusterRef>,
    streams: Vec<Vec<Event>>,
}

impl Workload {
    /// Generates the workload (one generator thread per stream).
    ///
    /// Errors if the spec is empty or inconsistent.
    pub fn generate(spec: WorkloadSpec) -> Result<Self, String> {
        if spec.nodes == 0 || spec.clusters == 0 || spec.threads == 0 {
            return Err("nodes, clusters and threads must all be at least 1".into());
        }
        if spec.clusters > spec.nodes || (spec.threads as u64) > u64::from(spec.nodes) {
            return Err("need at least one node per cluster and per thread".into());
        }
        if spec.nodes > 1 << 31 {
            return Err("at most 2^31 nodes".into());
        }
        if spec.transition_bp > 10_000 {
            return Err("transition rate is at most 10,000 per 10,000".into());
        }
        let nodes_per_cluster = spec.nodes.div_ceil(spec.clusters);
        let clusters: Vec<ClusterRef> = (0..spec.clusters)
            .map(|c| {
                let id = format!("cluster-{c:03}");
                ClusterRef { previous: SnapshotRef::new(&id, 1), desired: SnapshotRef::new(&id, 2), id }
            })
            .collect();
        let node_ids = (0..spec.nodes).map(|slot| format!("gw-{slot:07}")).collect();
        let per_thread = spec.heartbeats / spec.threads as u64;
        let streams = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..spec.threads)
                .map(|t| {
                    let spec = &spec;
                    scope.spawn(move || generate_stream(spec, t, per_thread))
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("generator thread panicked")).collect()
        });
        Ok(Workload { spec, nodes_per_cluster, node_ids, clusters, streams })
    }

    /// The spec it was generated from.
    pub fn spec(&self) -> &WorkloadSpec {
        &self.spec
    }

    /// Node ids by slot (`gw-0000042`).
    pub fn node_ids(&self) -> &[String] {
        &self.node_ids
    }

    /// The clusters by index.
    pub fn clusters(&self) -> &[ClusterRef] {
        &self.clusters
    }

    /// The cluster index of a node.
    pub fn cluster_of(&self, slot: u32) -> usize {
        (slot / self.nodes_per_cluster) as usize
    }

    /// The slots of cluster `c`.
    pub fn members(&self, c: usize) -> std::ops::Range<u32> {
        let start = c as u32 * self.nodes_per_cluster;
        start..(start + self.nodes_per_cluster).min(self.spec.nodes)
    }

    /// The first `heartbeats / threads` events of every thread's stream
    /// (capped at the stream's length).
    pub fn prefix(&self, heartbeats: u64) -> Vec<&[Event]> {
        let per_thread = (heartbeats / self.streams.len() as u64) as usize;
        self.streams.iter().map(|s| &s[..per_thread.min(s.len())]).collect()
    }

    /// The stamp of the `index`-th heartbeat of a thread's stream.
    pub fn at_ms(index: usize) -> u64 {
        BASE_MS + index as u64 / HEARTBEATS_PER_MS
    }

    /// The stamp of the heartbeat every node sends before the timed run.
    pub fn seed_at_ms() -> u64 {
        BASE_MS - 1
    }

    /// The newest stamp any stream of this workload carries.
    pub fn last_at_ms(&self) -> u64 {
        Self::at_ms(self.streams.iter().map(Vec::len).max().unwrap_or(0))
    }

    /// Transitions in `streams` (counted against the all-desired start).
    pub fn transitions(&self, streams: &[&[Event]]) -> u64 {
        let mut state = vec![Applied::Desired; self.spec.nodes as usize];
        let mut transitions = 0;
        for event in streams.iter().flat_map(|s| s.iter()) {
            let slot = event.slot as usize;
            if state[slot] != event.applied {
                transitions += 1;
                state[slot] = event.applied;
            }
        }
        transitions
    }

    /// Nodes in sync per cluster once `streams` (a [`prefix`](Self::prefix))
    /// has been applied on top of the all-desired start: the ground truth
    /// every row's final state is checked against.
    pub fn expected_in_sync(&self, streams: &[&[Event]]) -> Vec<u64> {
        let mut state = vec![Applied::Desired; self.spec.nodes as usize];
        for event in streams.iter().flat_map(|s| s.iter()) {
            state[event.slot as usize] = event.applied;
        }
        let mut in_sync = vec![0u64; self.clusters.len()];
        for (slot, applied) in state.iter().enumerate() {
            if *applied == Applied::Desired {
                in_sync[self.cluster_of(slot as u32)] += 1;
            }
        }
        in_sync
    }

    /// Compares a row's per-cluster in-sync counts with the ground truth.
    pub fn check(&self, streams: &[&[Event]], got: &[u64]) -> Result<(), String> {
        let want = self.expected_in_sync(streams);
        if got.len() != want.len() {
            return Err(format!("reported {} clusters, the workload has {}", got.len(), want.len()));
        }
        match want.iter().zip(got).position(|(w, g)| w != g) {
            None => Ok(()),
            Some(c) => Err(format!(
                "wrong answer: {} has {} nodes in sync, the workload leaves {}",
                self.clusters[c].id, got[c], want[c]
            )),
        }
    }
}

/// The node ids of one thread's stream in event order, laid end to end in
/// one buffer, the way ids arrive in a received message: built before
/// timing and read front to back, so a row that reads them pays no cache
/// miss of its own (a random read of [`Workload::node_ids`] pays two: the
/// `String` and its text).
pub struct IdStream {
    text: String,
    /// `ends[i]..ends[i + 1]` is id `i`'s byte range in `text`.
    ends: Vec<usize>,
}

impl IdStream {
    /// The ids of `stream`'s events, in order.
    pub fn of(workload: &Workload, stream: &[Event]) -> Self {
        let ids = stream.iter().map(|e| workload.node_ids()[e.slot as usize].as_str());
        let mut out = IdStream { text: String::new(), ends: vec![0] };
        for id in ids {
            out.text.push_str(id);
            out.ends.push(out.text.len());
        }
        out
    }

    /// The id of event `i` (panics past the stream, as indexing does).
    #[inline]
    pub fn get(&self, i: usize) -> &str {
        &self.text[self.ends[i]..self.ends[i + 1]]
    }
}

/// One thread's stream: `len` heartbeats over the slots `t, t + threads, ...`.
fn generate_stream(spec: &WorkloadSpec, t: usize, len: u64) -> Vec<Event> {
    let threads = spec.threads as u32;
    let t = t as u32;
    let share = (spec.nodes - t).div_ceil(threads);
    let mut state = vec![Applied::Desired; share as usize];
    let mut rng = SplitMix64(spec.seed ^ (u64::from(t) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut out = Vec::with_capacity(len as usize);
    for _ in 0..len {
        let local = rng.below(u64::from(share)) as usize;
        if rng.below(10_000) < u64::from(spec.transition_bp) {
            state[local] = state[local].toggled();
        }
        out.push(Event { slot: t + local as u32 * threads, applied: state[local] });
    }
    out
}

/// SplitMix64: a small, fast, well-mixed generator; plenty for key streams.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; bias below 2^-32 for our n).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

/// Runs one thread's `stream` under the query rule: `heartbeat(event,
/// at_ms)` for each event (its place in the stream gives its time), and
/// `query(cluster)` with the cluster of the last heartbeat after every
/// [`QUERY_EVERY`] of them; stops at the first refused heartbeat.
pub fn drive(
    workload: &Workload,
    stream: &[Event],
    mut heartbeat: impl FnMut(&Event, u64) -> bool,
    mut query: impl FnMut(usize),
) -> Result<(), String> {
    for (n, chunk) in stream.chunks(QUERY_EVERY).enumerate() {
        for (i, event) in chunk.iter().enumerate() {
            if !heartbeat(event, Workload::at_ms(n * QUERY_EVERY + i)) {
                return Err(format!("heartbeat of node {} refused", event.slot));
            }
        }
        if let Some(last) = chunk.last() {
            query(workload.cluster_of(last.slot));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(heartbeats: u64) -> Workload {
        Workload::generate(WorkloadSpec { nodes: 1_000, clusters: 10, heartbeats, ..WorkloadSpec::default() }).unwrap()
    }

    #[test]
    fn streams_partition_nodes_by_thread() {
        let w = small(20_000);
        assert_eq!(w.prefix(u64::MAX).iter().map(|s| s.len()).sum::<usize>(), 20_000);
        for (t, stream) in w.prefix(u64::MAX).iter().enumerate() {
            assert!(stream.iter().all(|e| e.slot as usize % 2 == t && e.slot < 1_000));
        }
    }

    #[test]
    fn about_one_percent_are_transitions() {
        let w = small(200_000);
        let all = w.prefix(u64::MAX);
        let transitions = w.transitions(&all);
        // Binomial(200,000, 0.01): mean 2,000, sd 44.
        assert!((1_700..2_300).contains(&transitions), "{transitions} transitions");
    }

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let a = small(5_000);
        let b = small(5_000);
        assert_eq!(a.streams, b.streams);
        let c = Workload::generate(WorkloadSpec {
            nodes: 1_000,
            clusters: 10,
            heartbeats: 5_000,
            seed: 7,
            ..WorkloadSpec::default()
        })
        .unwrap();
        assert_ne!(a.streams, c.streams);
    }

    #[test]
    fn expected_in_sync_follows_the_last_report_of_each_node() {
        let w = small(0);
        let streams: Vec<Vec<Event>> = vec![
            vec![Event { slot: 0, applied: Applied::Previous }, Event { slot: 2, applied: Applied::Previous }],
            vec![Event { slot: 1, applied: Applied::Previous }, Event { slot: 1, applied: Applied::Desired }],
        ];
        let refs: Vec<&[Event]> = streams.iter().map(Vec::as_slice).collect();
        let got = w.expected_in_sync(&refs);
        assert_eq!(got[0], 98);
        assert!(got[1..].iter().all(|&n| n == 100));
        assert_eq!(w.transitions(&refs), 4);
        assert!(w.check(&refs, &got).is_ok());
        let mut wrong = got.clone();
        wrong[3] -= 1;
        assert!(w.check(&refs, &wrong).unwrap_err().contains("cluster-003"));
    }

    #[test]
    fn clusters_are_contiguous_blocks_with_distinct_snapshots() {
        let w = small(0);
        assert_eq!(w.cluster_of(0), 0);
        assert_eq!(w.cluster_of(99), 0);
        assert_eq!(w.cluster_of(100), 1);
        assert_eq!(w.members(9), 900..1_000);
        let c = &w.clusters()[4];
        assert_eq!(c.desired.id, "cluster-004@r2");
        assert_ne!(c.desired.hash, c.previous.hash);
        assert_ne!(c.desired.hash, w.clusters()[5].desired.hash);
        assert_eq!(c.desired.hash_hex.len(), 64);
    }

    #[test]
    fn prefix_takes_the_same_share_of_every_thread() {
        let w = small(10_000);
        let p = w.prefix(3_000);
        assert_eq!(p.iter().map(|s| s.len()).collect::<Vec<_>>(), vec![1_500, 1_500]);
        assert_eq!(Workload::at_ms(999), BASE_MS);
        assert_eq!(Workload::at_ms(1_000), BASE_MS + 1);
    }

    #[test]
    fn the_id_stream_follows_the_events() {
        let w = small(3_000);
        let stream = w.prefix(u64::MAX)[1];
        let ids = IdStream::of(&w, stream);
        assert_eq!(ids.ends.len(), stream.len() + 1);
        for (i, e) in stream.iter().enumerate() {
            assert_eq!(ids.get(i), w.node_ids()[e.slot as usize], "event {i}");
        }
        assert_eq!(ids.text.len(), stream.iter().map(|e| w.node_ids()[e.slot as usize].len()).sum::<usize>());
    }

    #[test]
    fn bad_specs_are_refused() {
        for spec in [
            WorkloadSpec { nodes: 0, ..WorkloadSpec::default() },
            WorkloadSpec { nodes: 10, clusters: 11, ..WorkloadSpec::default() },
            WorkloadSpec { threads: 0, ..WorkloadSpec::default() },
            WorkloadSpec { transition_bp: 10_001, ..WorkloadSpec::default() },
        ] {
            assert!(Workload::generate(WorkloadSpec { heartbeats: 0, ..spec }).is_err());
        }
    }
}
