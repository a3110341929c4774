//! The machine's roofline: the same key stream, no engine logic at all.
//!
//! An array of one 64-byte, 64-byte-aligned slot per node (64 MB for a million
//! nodes, far beyond the caches); each heartbeat reads its slot and writes it
//! back (stamp, applied snapshot, count). What is left is the cost of taking
//! one random cache line from memory and dirtying it: no tracker that keeps
//! per-node state at random addresses can go faster on this machine.
//! No cohesion reads: the roofline answers no questions.
//!
//! Two rows: **roofline** takes its keys from the workload's events;
//! **record-roofline** reads the same 128-byte heartbeat records the batch
//! row ingests (encoded before timing, the same way) and takes the node,
//! the time and the applied revision from each: the limit of the batch's
//! own work, reading records included, on this machine.

use std::sync::atomic::{AtomicU64, Ordering};

use fleetgov::NodeHandle;
use fleetgov::record::HeartbeatRecord;

use crate::fleetgov_peer::encode;
use crate::timing::{Measured, run_threads};
use crate::workload::{Applied, Event, Workload};

/// One node's cache line.
#[repr(align(64))]
#[derive(Default)]
struct Slot {
    at_ms: AtomicU64,
    applied: AtomicU64,
    count: AtomicU64,
}

/// The slot array.
pub struct Roofline {
    slots: Vec<Slot>,
}

impl Roofline {
    /// One zeroed slot per node, every page touched before timing.
    pub fn new(nodes: u32) -> Self {
        Roofline { slots: (0..nodes).map(|_| Slot::default()).collect() }
    }

    /// Runs `streams` over the slots.
    pub fn run(&self, streams: &[&[Event]]) -> Measured {
        let result: Result<Measured, std::convert::Infallible> = run_threads(
            streams,
            |_| Ok(()),
            |_, stream| {
                for (i, event) in stream.iter().enumerate() {
                    let slot = &self.slots[event.slot as usize];
                    // Relaxed everywhere: every node belongs to one thread's
                    // stream, so no slot is shared while the threads run, and
                    // the scope's join publishes the final values to the reader.
                    let count = slot.count.load(Ordering::Relaxed);
                    slot.count.store(count + 1, Ordering::Relaxed);
                    slot.at_ms.store(Workload::at_ms(i), Ordering::Relaxed);
                    slot.applied.store(event.applied as u64, Ordering::Relaxed);
                }
                Ok(())
            },
        );
        match result {
            Ok(m) => m,
            Err(never) => match never {},
        }
    }

    /// Runs the records of `streams` (encoded per thread before timing)
    /// over the slots.
    pub fn run_records(&self, workload: &Workload, streams: &[&[Event]]) -> Measured {
        let result: Result<Measured, std::convert::Infallible> = run_threads(
            streams,
            |t| Ok(encode(workload, streams[t], |slot| NodeHandle::from_raw(u64::from(slot)))),
            |records: &mut Vec<HeartbeatRecord>, _| {
                for r in records.iter() {
                    let slot = &self.slots[r.handle().slot() as usize];
                    let applied = match r.applied() {
                        Some((revision, _)) if revision == Applied::Desired.revision() => Applied::Desired,
                        _ => Applied::Previous,
                    };
                    // Relaxed: as in `run`.
                    let count = slot.count.load(Ordering::Relaxed);
                    slot.count.store(count + 1, Ordering::Relaxed);
                    slot.at_ms.store(r.at_ms(), Ordering::Relaxed);
                    slot.applied.store(applied as u64, Ordering::Relaxed);
                }
                Ok(())
            },
        );
        match result {
            Ok(m) => m,
            Err(never) => match never {},
        }
    }

    /// Heartbeats recorded so far (a check that every update landed).
    pub fn total_updates(&self) -> u64 {
        // Relaxed: read after the worker threads were joined.
        self.slots.iter().map(|s| s.count.load(Ordering::Relaxed)).sum()
    }

    /// Nodes per cluster whose slot holds the desired snapshot (every slot
    /// starts there), for the same end-of-run check every row passes.
    pub fn in_sync(&self, workload: &Workload) -> Vec<u64> {
        (0..workload.clusters().len())
            .map(|c| {
                workload
                    .members(c)
                    // Relaxed: read after the worker threads were joined.
                    .filter(|&s| self.slots[s as usize].applied.load(Ordering::Relaxed) == Applied::Desired as u64)
                    .count() as u64
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::WorkloadSpec;

    #[test]
    fn every_heartbeat_lands_in_its_slot() {
        let w = Workload::generate(WorkloadSpec {
            nodes: 2_000,
            clusters: 4,
            heartbeats: 50_000,
            ..WorkloadSpec::default()
        })
        .unwrap();
        let roof = Roofline::new(2_000);
        assert_eq!(std::mem::size_of::<Slot>(), 64);
        let streams = w.prefix(u64::MAX);
        let m = roof.run(&streams);
        assert_eq!(m.heartbeats, 50_000);
        assert_eq!(roof.total_updates(), 50_000);
        w.check(&streams, &roof.in_sync(&w)).unwrap();
        let from_records = Roofline::new(2_000);
        let m = from_records.run_records(&w, &streams);
        assert_eq!((m.heartbeats, from_records.total_updates()), (50_000, 50_000));
        w.check(&streams, &from_records.in_sync(&w)).unwrap();
    }
}
