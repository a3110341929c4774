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
    /// CPU time this process used over the same span (user + system), or
    /// `None` where it cannot be read. Against `elapsed × threads` it shows
    /// how much of the machine the run really had: on a shared machine a
    /// low share means the wall-clock rate understates the row.
    pub cpu: Option<Duration>,
    /// Worker threads.
    pub threads: usize,
}

impl Measured {
    /// Heartbeats per second.
    pub fn rate(&self) -> f64 {
        self.heartbeats as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// CPU time used over the cores the workers could have used (1.0 = all of them).
    pub fn cpu_share(&self) -> Option<f64> {
        let possible = self.elapsed.as_secs_f64() * self.threads as f64;
        self.cpu.map(|cpu| cpu.as_secs_f64() / possible.max(1e-9))
    }

    /// Nanoseconds of CPU per heartbeat: the figure the machine's other
    /// work changes least (a loaded machine lowers the rate and the share
    /// together).
    pub fn cpu_ns_per_heartbeat(&self) -> Option<f64> {
        self.cpu.map(|cpu| cpu.as_nanos() as f64 / self.heartbeats.max(1) as f64)
    }
}

/// CPU time (user + system) this process has used so far.
pub fn process_cpu() -> Option<Duration> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: `usage` is a valid, writable rusage; getrusage writes it whole
    // when it returns 0 and touches nothing else.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: getrusage returned 0, so it initialised `usage`.
    let usage = unsafe { usage.assume_init() };
    let micros = |t: libc::timeval| {
        u64::try_from(t.tv_sec).ok()?.checked_mul(1_000_000)?.checked_add(u64::try_from(t.tv_usec).ok()?)
    };
    Some(Duration::from_micros(micros(usage.ru_utime)?.checked_add(micros(usage.ru_stime)?)?))
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
        let started = (Instant::now(), process_cpu());
        let results: Vec<Result<(), E>> =
            handles.into_iter().map(|h| h.join().expect("worker thread panicked")).collect();
        (started, results)
    });
    let (elapsed, cpu_after) = (started.0.elapsed(), process_cpu());
    results.into_iter().collect::<Result<Vec<()>, E>>()?;
    Ok(Measured {
        heartbeats: streams.iter().map(|s| s.len() as u64).sum(),
        elapsed,
        cpu: started.1.zip(cpu_after).map(|(before, after)| after.saturating_sub(before)),
        threads: streams.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Applied;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn every_event_of_every_stream_is_handled_once() {
        let a = vec![Event { slot: 0, applied: Applied::Desired }; 30];
        let b = vec![Event { slot: 1, applied: Applied::Previous }; 12];
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
        assert_eq!(m.threads, 2);
        assert!(m.cpu.is_some());
    }

    #[test]
    fn cpu_time_grows_with_work_and_the_share_is_bounded_by_the_threads() {
        let before = process_cpu().unwrap();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        assert!(process_cpu().unwrap() > before);
        let m =
            Measured { heartbeats: 1, elapsed: Duration::from_secs(2), cpu: Some(Duration::from_secs(1)), threads: 2 };
        assert_eq!(m.cpu_share(), Some(0.25));
        let m = Measured { heartbeats: 4_000, cpu: Some(Duration::from_millis(1)), ..m };
        assert_eq!(m.cpu_ns_per_heartbeat(), Some(250.0));
    }

    #[test]
    fn a_failing_setup_or_worker_fails_the_run() {
        let a = vec![Event { slot: 0, applied: Applied::Desired }; 3];
        let setup_fails = run_threads(&[&a, &a], |t| if t == 1 { Err("no connection") } else { Ok(()) }, |_, _| Ok(()));
        assert_eq!(setup_fails.unwrap_err(), "no connection");
        let work_fails = run_threads(&[&a], |_| Ok(()), |_, _| Err("server went away"));
        assert_eq!(work_fails.unwrap_err(), "server went away");
    }
}
