//! The data directory: everything an engine must not forget across a
//! restart or a crash, in one directory it owns.
//!
//! | file | what | durable when |
//! |---|---|---|
//! | `FORMAT` | `fleetgov data directory` and the format version | created once; another version is refused |
//! | `LOCK` | locked while an engine has the directory open | — |
//! | `signing.key` | the ed25519 seed of checkpoints and attestations (mode 0600) | created once, before first use |
//! | `audit.log` | the audit log ([`crate::governance::audit`]): authority changes, overrides, waves | before an append is acknowledged |
//! | `enrolments.log` | every enrolment: slot, node, cluster, time; every removal: slot, node, time | before `enroll` / `unenroll` returns |
//! | `journal/NNNNNNNNNN.seg` | the execution journal: every applied-state transition, in segments named by their first entry; a full segment is *sealed*: an audit record (`seal_journal`) commits to its blake3 hash, transition count and time range | within [`EngineConfig::journal_interval`](crate::EngineConfig::journal_interval) |
//! | `journal/NNNNNNNNNN.base` | the bases of the last compaction: each node's last transition before entry NNNNNNNNNN, which replace the segments before it, named with its blake3 hash by an audit record (`compact_journal`) | before the segments it replaces are deleted |
//! | `nodes.ckpt` | a compact checkpoint of every node's last report | every [`EngineConfig::checkpoint_interval`](crate::EngineConfig::checkpoint_interval) and when the engine is dropped |
//!
//! A restart restores the authority state from the audit log, the nodes
//! from the enrolments, what each node ran from the journal (so
//! `what_ran`, `fleet_at` and `attest` answer about times before the
//! restart) and each node's last report from the checkpoint, corrected by
//! the journal's later transitions. Reopening seals the time before it, as
//! answering about a time does (see [`AuditLog::seal`](crate::governance::audit::AuditLog::seal)):
//! an attestation signed before a restart is signed again byte for byte
//! after it. A crash loses at most the transitions of
//! the last journal interval and the heartbeat times and metrics since the
//! last checkpoint; never an acknowledged authority change, override or
//! enrolment.
//!
//! History is kept for [`EngineConfig::retention`](crate::EngineConfig::retention):
//! the writer compacts the sealed segments wholly older than it into a file
//! of bases (see `segment_compaction.rs`); a crash during a compaction is finished
//! or undone when the directory is reopened.

mod enrolments;
mod frames;
mod journal_files;
mod node_checkpoint;
mod restore;
mod segment_compaction;
mod writer;

pub(crate) use enrolments::Enrolment;
pub(crate) use journal_files::StoredTransition;
pub(crate) use node_checkpoint::SavedNode;
pub(crate) use restore::Durable;
pub use restore::JournalVerification;

/// How often the journal writer writes, checkpoints and seals.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cadence {
    pub(crate) interval: std::time::Duration,
    pub(crate) checkpoint_every: std::time::Duration,
    /// Transitions per segment.
    pub(crate) segment_len: u64,
    /// How long history is kept, in ms.
    pub(crate) retention_ms: u64,
}

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// How long opening waits for a lock that may be on its way out.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The format version this build reads and writes. Version 2 stores the
/// authority's documents in the audit log with snake_case keys (version 1
/// used the HTTP API's camelCase).
const FORMAT_VERSION: u32 = 2;
const FORMAT_NAME: &str = "fleetgov data directory";

/// An open data directory: its path and the lock that keeps a second
/// engine out while this one runs.
pub(crate) struct DataDir {
    path: PathBuf,
    /// When the directory was made (unix ms): where its history begins.
    pub(crate) created_ms: u64,
    /// Held (locked) for the engine's lifetime.
    _lock: File,
}

impl DataDir {
    /// Opens `path`, creating it (and its format file) when absent. Refused:
    /// a directory of another format version, a non-empty directory without
    /// a format file, and a directory another engine has open.
    pub(crate) fn open(path: &Path, now_ms: u64) -> Result<DataDir> {
        fs::create_dir_all(path.join("journal")).map_err(|e| io(path, "create", &e))?;
        let format = path.join("FORMAT");
        let created_ms = match fs::read_to_string(&format) {
            Ok(text) => check_format(&text, path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let others = fs::read_dir(path)
                    .map_err(|e| io(path, "list", &e))?
                    .filter_map(|entry| entry.ok())
                    .any(|entry| entry.file_name() != "journal");
                if others {
                    return Err(Error::invalid(format!(
                        "{} holds files but no FORMAT file: not a fleetgov data directory",
                        path.display()
                    )));
                }
                let text = format!("{FORMAT_NAME}\nversion {FORMAT_VERSION}\ncreated {now_ms}\n");
                write_durably(&format, text.as_bytes(), false)?;
                now_ms
            }
            Err(e) => return Err(io(&format, "read", &e)),
        };
        let lock_path = path.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io(&lock_path, "open", &e))?;
        // A lock on its way out (an engine being dropped, or a process that
        // forked while it held the directory and has not exec'd yet) is
        // waited for a moment; a directory in use stays refused.
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        while lock.try_lock().is_err() {
            if std::time::Instant::now() >= deadline {
                return Err(Error::new(ErrorKind::Conflict, format!("{} is open in another engine", path.display())));
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Ok(DataDir { path: path.to_owned(), created_ms, _lock: lock })
    }

    /// The directory, as it was given.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn audit_path(&self) -> PathBuf {
        self.path.join("audit.log")
    }

    pub(crate) fn enrolments_path(&self) -> PathBuf {
        self.path.join("enrolments.log")
    }

    pub(crate) fn journal_dir(&self) -> PathBuf {
        self.path.join("journal")
    }

    pub(crate) fn checkpoint_path(&self) -> PathBuf {
        self.path.join("nodes.ckpt")
    }

    /// The signing seed: read from `signing.key`, or made once and written
    /// there (mode 0600) before it is used.
    pub(crate) fn signing_seed(&self) -> Result<[u8; 32]> {
        let path = self.path.join("signing.key");
        match fs::read(&path) {
            Ok(bytes) => bytes.try_into().map_err(|b: Vec<u8>| {
                Error::new(
                    ErrorKind::AuditTampered,
                    format!("{} holds {} bytes; a signing key is 32", path.display(), b.len()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed)
                    .map_err(|e| Error::new(ErrorKind::Io, format!("no randomness for a signing key: {e}")))?;
                write_durably(&path, &seed, true)?;
                Ok(seed)
            }
            Err(e) => Err(io(&path, "read", &e)),
        }
    }
}

/// Checks the FORMAT file and returns the directory's creation time.
fn check_format(text: &str, path: &Path) -> Result<u64> {
    let mut lines = text.lines();
    let version = match (lines.next(), lines.next().and_then(|l| l.strip_prefix("version "))) {
        (Some(FORMAT_NAME), Some(v)) => v.trim().parse::<u32>().ok(),
        _ => None,
    };
    let created = lines.next().and_then(|l| l.strip_prefix("created ")).and_then(|t| t.trim().parse::<u64>().ok());
    match (version, created) {
        (Some(FORMAT_VERSION), Some(created)) => Ok(created),
        (Some(v), _) if v != FORMAT_VERSION => Err(Error::invalid(format!(
            "{} is a data directory of format version {v}; this build reads version {FORMAT_VERSION}",
            path.display()
        ))),
        _ => Err(Error::invalid(format!("{}/FORMAT does not name a fleetgov data directory", path.display()))),
    }
}

/// Writes `bytes` to `path` so that after a crash the file is either absent
/// or whole: a temporary file, fsynced, renamed, and the directory fsynced.
pub(crate) fn write_durably(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = OpenOptions::new();
    options.create(true).truncate(true).write(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&tmp).map_err(|e| io(&tmp, "create", &e))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| io(&tmp, "write", &e))?;
    fs::rename(&tmp, path).map_err(|e| io(path, "rename into", &e))?;
    sync_dir(path)
}

/// Fsyncs the directory holding `path`, so a created or renamed entry survives a crash.
pub(crate) fn sync_dir(path: &Path) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, "sync", &e))
}

pub(crate) fn io(path: &Path, what: &str, e: &std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("cannot {what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("fleetgov-datadir-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_directory_is_created_once_locked_and_keeps_its_key() {
        let d = dir("create");
        let first = DataDir::open(&d, 5).unwrap();
        let seed = first.signing_seed().unwrap();
        assert_eq!(DataDir::open(&d, 5).err().map(|e| e.kind()), Some(ErrorKind::Conflict), "locked");
        drop(first);
        let again = DataDir::open(&d, 9).unwrap();
        assert_eq!((again.signing_seed().unwrap(), again.created_ms), (seed, 5), "the key and the creation time stay");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(d.join("signing.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        drop(again);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn another_format_version_or_a_foreign_directory_is_refused() {
        let d = dir("format");
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("FORMAT"), "fleetgov data directory\nversion 1\n").unwrap();
        let e = DataDir::open(&d, 5).err().unwrap();
        assert!(e.to_string().contains("format version 1"), "{e}");
        fs::remove_file(d.join("FORMAT")).unwrap();
        fs::write(d.join("notes.txt"), "mine").unwrap();
        assert_eq!(DataDir::open(&d, 5).err().map(|e| e.kind()), Some(ErrorKind::InvalidInput));
        fs::write(d.join("signing.key"), [1u8; 5]).unwrap();
        fs::remove_dir_all(&d).unwrap();
    }
}
