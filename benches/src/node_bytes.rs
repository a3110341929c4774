//! Where an engine's bytes per node go: the heap bytes live after each stage
//! of building the peers harness's fleet (100 clusters, node ids
//! `gw-0000000`…, each node enrolled and seeded with one heartbeat of its
//! cluster's desired snapshot), counted by a global allocator that tallies
//! every allocation, and the resident-set growth beside them.
//!
//! `cargo run --release -p fleetgov-bench --bin node_bytes -- [--nodes N] [--keep]`
//!
//! `--keep` leaves the engine allocated at exit, so a heap profiler's report
//! of what is still allocated names every table by the line that made it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use fleetgov::*;

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counter is bookkeeping only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Relaxed: a tally read by this one thread between stages.
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // Relaxed: as in `alloc`.
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Relaxed: as in `alloc`.
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Relaxed: as in `alloc`.
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const T0: u64 = 1_700_000_000_000;
const CLUSTERS: usize = 100;

/// The process's resident set in bytes (0 where `/proc` is missing).
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<usize>().ok()).map_or(0, |pages| pages * 4096)
}

/// Prints the heap and resident growth since `last` per node, and returns the new readings.
fn stage(name: &str, nodes: usize, last: (usize, usize)) -> (usize, usize) {
    // Relaxed: read by the only thread that allocates between stages.
    let now = (LIVE.load(Ordering::Relaxed), rss());
    let per = |a: usize, b: usize| (a as f64 - b as f64) / nodes as f64;
    println!("| {name} | {:.1} | {:.1} |", per(now.0, last.0), per(now.1, last.1));
    now
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut nodes, mut keep) = (1_000_000usize, false);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--nodes" => nodes = args.next().and_then(|v| v.parse().ok()).unwrap_or(nodes),
            "--keep" => keep = true,
            _ => return Err(Error::invalid(format!("unknown argument {flag}; see the file's documentation"))),
        }
    }
    let ids: Vec<String> = (0..nodes).map(|n| format!("gw-{n:07}")).collect();
    let version: RuntimeVersion = "3.5.0".parse()?;
    println!("| stage ({nodes} nodes) | heap bytes/node | resident bytes/node |\n|---|---:|---:|");
    let start = stage("before the engine", nodes, (0, 0));
    let engine =
        Engine::with_config(EngineConfig { clock: Clock::manual(T0), capacity: nodes, ..EngineConfig::default() })?;
    engine.upsert_workspace(WorkspaceSpec::new("ws"))?;
    let mut desired = Vec::with_capacity(CLUSTERS);
    for c in 0..CLUSTERS {
        let id = format!("cluster-{c:03}");
        engine.upsert_cluster(ClusterSpec::new(&id, "ws", Environment::Production))?;
        engine.publish(&id, b"r1", "bench", T0)?;
        desired.push((id.clone(), engine.publish(&id, b"r2", "bench", T0)?));
    }
    let built = stage("engine, workspace, clusters, snapshots", nodes, start);
    let mut handles = Vec::with_capacity(nodes);
    let with_handles = stage("the harness's handle vector (resident as it fills)", nodes, built);
    for (n, id) in ids.iter().enumerate() {
        handles.push(engine.enroll(id, &desired[n * CLUSTERS / nodes].0, T0)?);
    }
    let enrolled = stage("enrolment (slot, id, enrolment time, id table, member list)", nodes, with_handles);
    for (n, &h) in handles.iter().enumerate() {
        let snapshot = &desired[n * CLUSTERS / nodes].1;
        engine.heartbeat(h, &Heartbeat::new(T0, version).applied(&snapshot.id, snapshot.hash))?;
    }
    let seeded = stage("first heartbeat (journal entry, expiry queue entry)", nodes, enrolled);
    // Its pages become resident as it fills, during enrolment: count its heap size in both columns.
    let handle_vector = with_handles.0 - built.0;
    let per = |a: usize, b: usize, less: usize| (a - b - less) as f64 / nodes as f64;
    println!(
        "| engine total (handle vector excluded) | {:.1} | {:.1} |",
        per(seeded.0, start.0, handle_vector),
        per(seeded.1, start.1, handle_vector)
    );
    if keep {
        std::mem::forget(engine);
    }
    Ok(())
}
