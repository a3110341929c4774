//! `fleetgov-nats ingest` in a process of its own, so that a test can
//! pause it (`SIGSTOP`), resume it, kill it or stop it gracefully; its
//! lease history is read from the lines it prints with `--lease-log`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fleetgov_nats::lease::Lease;

use super::owners::Tenures;

/// What the lines printed so far say.
#[derive(Default)]
struct History {
    /// Every tenure seen held, with its latest deadline.
    seen: Tenures,
    /// Every tenure seen ended, as it ended.
    ended: Tenures,
    /// The tenure held of each partition, as of the last line.
    held: BTreeMap<u32, u64>,
}

/// A running `fleetgov-nats ingest --lease-log`; killed when dropped.
pub struct IngestProcess {
    /// Its instance id.
    pub id: String,
    child: Child,
    paused: bool,
    history: Arc<Mutex<History>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl IngestProcess {
    /// Starts an ingest instance `id` against `url` with 2 s leases and a
    /// summary refresh every second, and `args` after them.
    pub fn spawn(url: &str, id: &str, args: &[&str]) -> IngestProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fleetgov-nats"))
            .args(["--url", url, "ingest", "--id", id, "--lease-ttl-ms", "2000", "--summary-refresh-ms", "1000"])
            .arg("--lease-log")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the ingest process");
        let stdout = child.stdout.take().expect("its standard output");
        let history = Arc::new(Mutex::new(History::default()));
        let reader = std::thread::spawn({
            let history = history.clone();
            // The wall clock of the process's lines, on this process's monotonic clock.
            let anchor = (Instant::now(), SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros());
            move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let Some((ended, lease)) = parse(&line, anchor) else { continue };
                    let mut history = history.lock().unwrap_or_else(PoisonError::into_inner);
                    let key = (lease.partition, lease.token);
                    if ended {
                        history.ended.insert(key, lease);
                        if history.held.get(&lease.partition) == Some(&lease.token) {
                            history.held.remove(&lease.partition);
                        }
                    } else {
                        let tenure = history.seen.entry(key).or_insert(lease);
                        tenure.serve_until = tenure.serve_until.max(lease.serve_until);
                        history.held.insert(lease.partition, lease.token);
                    }
                }
            }
        });
        IngestProcess { id: id.to_owned(), child, paused: false, history, reader: Some(reader) }
    }

    /// Sends `signal` (`-STOP`, `-CONT`, ...).
    fn signal(&self, signal: &str) {
        let sent = Command::new("kill").args([signal, &self.child.id().to_string()]).status().expect("run kill");
        assert!(sent.success(), "kill {signal} failed");
    }

    /// Stops it where it is (`SIGSTOP`).
    pub fn pause(&mut self) {
        self.signal("-STOP");
        self.paused = true;
    }

    /// Lets it go on (`SIGCONT`).
    pub fn resume(&mut self) {
        self.signal("-CONT");
        self.paused = false;
    }

    /// Whether it is paused.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// The partitions it holds, as of its last line.
    pub fn held(&self) -> Vec<u32> {
        self.history.lock().unwrap_or_else(PoisonError::into_inner).held.keys().copied().collect()
    }

    /// Kills it (`SIGKILL`: nothing released) and returns its lease history.
    pub fn kill(mut self) -> Tenures {
        let _ = self.child.kill();
        self.finish()
    }

    /// Stops it gracefully (`SIGTERM`: it releases its leases) and returns its lease history.
    pub fn stop(mut self) -> Tenures {
        if self.paused {
            self.resume();
        }
        self.signal("-TERM");
        self.finish()
    }

    fn finish(&mut self) -> Tenures {
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let mut history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        let mut tenures = std::mem::take(&mut history.seen);
        tenures.extend(std::mem::take(&mut history.ended));
        tenures
    }
}

impl Drop for IngestProcess {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A `lease <held|ended> p<k> token <t> since_us <us> until_us <us>` line:
/// whether it ended, and the lease with its times on this process's
/// monotonic clock (`anchor`: one moment on it and on the wall clock).
fn parse(line: &str, anchor: (Instant, u128)) -> Option<(bool, Lease)> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let ["lease", state, partition, "token", token, "since_us", since, "until_us", until] = words[..] else {
        return None;
    };
    let at = |us: &str| {
        let us: u128 = us.parse().ok()?;
        let offset = |d: u128| Duration::from_micros(u64::try_from(d).unwrap_or(u64::MAX));
        if us >= anchor.1 {
            Some(anchor.0 + offset(us - anchor.1))
        } else {
            anchor.0.checked_sub(offset(anchor.1 - us))
        }
    };
    let lease = Lease {
        partition: partition.strip_prefix('p')?.parse().ok()?,
        token: token.parse().ok()?,
        since: at(since)?,
        serve_until: at(until)?,
    };
    Some((state == "ended", lease))
}
