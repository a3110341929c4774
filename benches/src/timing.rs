//! Running one row's worker threads and timing only the part that counts.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use crate::workload::Event;

/// What a timed run did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measured {
    /// Heartbeats handled.
    pub heartbeats: u64,
    /// Wall time from the moment every thread was ready to the moment the
    /// last one finished.
    pub elapsed: Duration,
}

impl Measured {
    /// Heartbeats per second.
    pub fn rate(&self) -> f64 {
        self.heartbeats as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs one worker thread per stream. `setup(t)` runs first on thread `t`
/// (connections, buffers: not timed); once every thread is set up the clock
/// starts and `work(&mut state, stream)` runs; the clock stops when the last
/// thread is done. The first error of any thread is returned.
pub fn run_threads<S, E>(
    streams: &[&[Event]],
    setup: impl Fn(usize) -> Result<S, E> + Sync,
    work: impl Fn(&mut S, &[Event]) -> Result<(), E> + Sync,
) -> Result<Measured, E>
where
    E: Send,
{
    let ready = Barrier::new(streams.len() + 1);
    let (started, results) = std::thread::scope(|scope| {
        let handles: Vec<_> = streams
            .iter()
            .enumerate()
            .map(|(t, stream)| {
                let (ready, setup, work) = (&ready, &setup, &work);
                scope.spawn(move || {
                    let state = setup(t);
                    ready.wait();
                    let mut state = state?;
                    work(&mut state, stream)
                })
            })
            .collect();
        ready.wait();
        let started = Instant::now();
        let results: Vec<Result<(), E>> = handles
            .into_iter()
            .map(|h| h.join().expect("worker thread panicked"))
            .collect();
        (started, results)
    });
    let elapsed = started.elapsed();
    results.into_iter().collect::<Result<Vec<()>, E>>()?;
    Ok(Measured {
        heartbeats: streams.iter().map(|s| s.len() as u64).sum(),
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Applied;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn every_event_of_every_stream_is_handled_once() {
        let a = vec![
            Event {
                slot: 0,
                applied: Applied::Desired
            };
            30
        ];
        let b = vec![
            Event {
                slot: 1,
                applied: Applied::Previous
            };
            12
        ];
        let seen = AtomicU64::new(0);
        let m = run_threads(
            &[&a, &b],
            |t| Ok::<_, String>(t as u64 + 1),
            |weight, stream| {
                seen.fetch_add(*weight * stream.len() as u64, Ordering::SeqCst);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(m.heartbeats, 42);
        assert_eq!(seen.load(Ordering::SeqCst), 30 + 2 * 12);
    }

    #[test]
    fn a_failing_setup_or_worker_fails_the_run() {
        let a = vec![
            Event {
                slot: 0,
                applied: Applied::Desired
            };
            3
        ];
        let setup_fails = run_threads(
            &[&a, &a],
            |t| if t == 1 { Err("no connection") } else { Ok(()) },
            |_, _| Ok(()),
        );
        assert_eq!(setup_fails.unwrap_err(), "no connection");
        let work_fails = run_threads(&[&a], |_| Ok(()), |_, _| Err("server went away"));
        assert_eq!(work_fails.unwrap_err(), "server went away");
    }
}
