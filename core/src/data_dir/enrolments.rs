//! The enrolment log: one frame per enrolment (slot, time, cluster, node),
//! appended and fsynced before `enroll` returns; a removal is a frame with
//! an empty cluster (no cluster id is empty), fsynced before `unenroll`
//! returns (a removal a restore of stored state made has the cluster `!`:
//! no audit record of its own goes with it), and a reopened engine replays
//! the frames in order. Concurrent enrolments share
//! one fsync (group commit: the first waiter writes and syncs what is
//! queued, the others wait for it).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::{frames, io};
use crate::error::{Error, ErrorKind, Result};

/// The cluster field of a removal a restore made: not an id, so no
/// enrolment frame holds it.
const HANDED_OVER: &str = "!";

/// One enrolment as the log keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Enrolment {
    pub(crate) slot: u32,
    /// Whole unix seconds, as the registry keeps it.
    pub(crate) at_s: u32,
    pub(crate) cluster: String,
    pub(crate) node: String,
}

impl Enrolment {
    /// The frame that ends the enrolment of `node` at `slot`.
    pub(crate) fn removal(slot: u32, at_s: u32, node: &str) -> Enrolment {
        Enrolment { slot, at_s, cluster: String::new(), node: node.to_owned() }
    }

    /// The frame that ends the enrolment of `node` at `slot` as a restore
    /// of stored state did: no audit record of this engine goes with it.
    pub(crate) fn handed_over(slot: u32, at_s: u32, node: &str) -> Enrolment {
        Enrolment { slot, at_s, cluster: HANDED_OVER.to_owned(), node: node.to_owned() }
    }

    /// Whether this frame ends an enrolment rather than starts one.
    pub(crate) fn is_removal(&self) -> bool {
        self.is_audited_removal() || self.cluster == HANDED_OVER
    }

    /// Whether this frame ends an enrolment as `unenroll` does, after its
    /// audit record.
    pub(crate) fn is_audited_removal(&self) -> bool {
        self.cluster.is_empty()
    }

    fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(10 + self.cluster.len() + self.node.len());
        body.extend_from_slice(&self.slot.to_be_bytes());
        body.extend_from_slice(&self.at_s.to_be_bytes());
        for id in [&self.cluster, &self.node] {
            // Ids are validated to at most 128 bytes before they are enrolled.
            body.push(id.len() as u8);
            body.extend_from_slice(id.as_bytes());
        }
        body
    }

    fn decode(body: &[u8]) -> Option<Enrolment> {
        let slot = u32::from_be_bytes(body.get(..4)?.try_into().ok()?);
        let at_s = u32::from_be_bytes(body.get(4..8)?.try_into().ok()?);
        let mut rest = body.get(8..)?;
        let mut id = || {
            let (&len, tail) = rest.split_first()?;
            let (id, tail) = tail.split_at_checked(len as usize)?;
            rest = tail;
            String::from_utf8(id.to_vec()).ok()
        };
        let (cluster, node) = (id()?, id()?);
        rest.is_empty().then_some(Enrolment { slot, at_s, cluster, node })
    }
}

#[derive(Default)]
struct Queue {
    /// Frames waiting for the next write.
    pending: Vec<u8>,
    /// Enrolments queued so far, and how many of them are durable.
    queued: u64,
    durable: u64,
    /// A leader is writing and syncing.
    syncing: bool,
    /// Why the log failed, if it did: it accepts nothing more.
    failure: Option<String>,
}

pub(crate) struct EnrolmentLog {
    path: PathBuf,
    file: Mutex<File>,
    queue: Mutex<Queue>,
    synced: Condvar,
}

impl EnrolmentLog {
    /// Opens (or creates) the log at `path` and returns what it holds; a
    /// torn tail is cut, damage refused.
    pub(crate) fn open(path: &Path) -> Result<(EnrolmentLog, Vec<Enrolment>)> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| io(path, "open", &e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| io(path, "read", &e))?;
        let what = format!("enrolment log {}", path.display());
        let (bodies, good) = frames::read(&bytes, &what)?;
        let enrolments = bodies
            .into_iter()
            .map(|b| {
                Enrolment::decode(b).ok_or_else(|| {
                    Error::new(ErrorKind::AuditTampered, format!("{what} holds a record that does not decode"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if good < bytes.len() {
            file.set_len(good as u64)
                .and_then(|()| file.sync_all())
                .map_err(|e| io(path, "cut the torn tail of", &e))?;
        }
        file.seek(SeekFrom::Start(good as u64)).map_err(|e| io(path, "seek", &e))?;
        if bytes.is_empty() {
            super::sync_dir(path)?;
        }
        let log = EnrolmentLog {
            path: path.to_owned(),
            file: Mutex::new(file),
            queue: Mutex::new(Queue::default()),
            synced: Condvar::new(),
        };
        Ok((log, enrolments))
    }

    /// Appends `enrolments` and returns once they are on disk.
    pub(crate) fn append(&self, enrolments: &[Enrolment]) -> Result<()> {
        if enrolments.is_empty() {
            return Ok(());
        }
        let mut queue = self.queue.lock();
        if let Some(why) = &queue.failure {
            return Err(failed(why));
        }
        for enrolment in enrolments {
            frames::push(&mut queue.pending, &enrolment.encode());
        }
        queue.queued += 1;
        let mine = queue.queued;
        while queue.durable < mine {
            if let Some(why) = &queue.failure {
                return Err(failed(why));
            }
            if queue.syncing {
                self.synced.wait(&mut queue);
            } else {
                self.lead(&mut queue);
            }
        }
        Ok(())
    }

    /// Writes and syncs everything queued, outside the queue lock.
    fn lead(&self, queue: &mut MutexGuard<'_, Queue>) {
        queue.syncing = true;
        let batch = std::mem::take(&mut queue.pending);
        let upto = queue.queued;
        let written = MutexGuard::unlocked(queue, || {
            let mut file = self.file.lock();
            file.write_all(&batch).and_then(|()| file.sync_data())
        });
        queue.syncing = false;
        match written {
            Ok(()) => queue.durable = upto,
            Err(e) => queue.failure = Some(io(&self.path, "append to", &e).to_string()),
        }
        self.synced.notify_all();
    }
}

fn failed(why: &str) -> Error {
    Error::new(ErrorKind::Io, format!("the enrolment log failed earlier and accepts nothing more: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrolments_survive_reopening_in_order_even_from_many_threads() {
        let path = std::env::temp_dir().join(format!("fleetgov-enrolments-{}.log", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let (log, none) = EnrolmentLog::open(&path).unwrap();
        assert!(none.is_empty());
        std::thread::scope(|s| {
            for t in 0..4u32 {
                let log = &log;
                s.spawn(move || {
                    for i in 0..25 {
                        let e = Enrolment { slot: t * 25 + i, at_s: 7, cluster: "c".into(), node: format!("n{t}-{i}") };
                        log.append(std::slice::from_ref(&e)).unwrap();
                    }
                });
            }
        });
        drop(log);
        let (_, back) = EnrolmentLog::open(&path).unwrap();
        let mut slots: Vec<u32> = back.iter().map(|e| e.slot).collect();
        slots.sort_unstable();
        assert_eq!(slots, (0..100).collect::<Vec<_>>());
        assert!(back.iter().all(|e| e.node == format!("n{}-{}", e.slot / 25, e.slot % 25) && e.at_s == 7));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_record_round_trips_and_garbage_does_not_decode() {
        let e = Enrolment { slot: 3, at_s: 9, cluster: "eks-prod-us".into(), node: "gw-1".into() };
        assert_eq!(Enrolment::decode(&e.encode()), Some(e.clone()));
        let mut long = e.encode();
        long.push(0);
        assert_eq!(Enrolment::decode(&long), None);
        assert_eq!(Enrolment::decode(&e.encode()[..12]), None);
        let removal = Enrolment::removal(3, 10, "gw-1");
        assert!(Enrolment::decode(&removal.encode()).is_some_and(|r| r.is_removal() && r.node == "gw-1"));
        assert!(!e.is_removal());
    }
}
