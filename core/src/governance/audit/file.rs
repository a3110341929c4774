//! The file under a durable audit log: opening, recovery, locking, fsync,
//! and offline verification.

use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::Path;

use super::checkpoint::Checkpoint;
use super::frame::{self, Contents, Scan};
use super::store::{AuditStore, Write};
use super::verify::TreeHead;
use crate::error::{Error, ErrorKind, Result};

/// An open, locked audit log file, positioned for appends.
pub(crate) struct LogFile {
    file: File,
}

/// The log writes frames in sequence order under its lock, so `seq` is
/// always the file's record count.
impl AuditStore for LogFile {
    fn write(&self, _seq: u64, frame: &[u8]) -> Result<Write> {
        // Opened with O_APPEND: every write lands at the end of the file.
        (&self.file).write_all(frame).map(|()| Write::Written).map_err(store_error)
    }

    fn sync(&self) -> Result<()> {
        // fdatasync: the data and the file size, which is all a reader needs.
        self.file.sync_data().map_err(store_error)
    }

    fn read_from(&self, _from: u64) -> Result<Vec<Vec<u8>>> {
        // The file is locked to its one log: it holds only what the log wrote.
        Ok(Vec::new())
    }
}

fn store_error(e: io::Error) -> Error {
    Error::new(ErrorKind::Io, e.to_string())
}

fn io_error(path: &Path, what: &str, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::NotFound {
        return Error::not_found(format!("audit log {}", path.display()));
    }
    Error::new(ErrorKind::Io, format!("audit log {}: {what}: {e}", path.display()))
}

/// Opens (creating if needed) the log at `path`, takes its lock, and
/// recovers it: a torn tail is cut off and the cut made durable; a corrupt
/// record refuses the whole file.
pub(crate) fn open(path: &Path) -> Result<(LogFile, Scan)> {
    let file =
        OpenOptions::new().read(true).append(true).create(true).open(path).map_err(|e| io_error(path, "open", e))?;
    lock(&file, path)?;
    let mut bytes = Vec::new();
    (&file).read_to_end(&mut bytes).map_err(|e| io_error(path, "read", e))?;
    let scan = match frame::parse(&bytes)? {
        Contents::Blank => {
            initialize(&file, !bytes.is_empty(), path).map_err(|e| io_error(path, "create", e))?;
            Scan::default()
        }
        Contents::Log(scan) => {
            if scan.torn > 0 {
                file.set_len(scan.end)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| io_error(path, "cut torn tail", e))?;
            }
            scan
        }
    };
    Ok((LogFile { file }, scan))
}

/// Writes the header into a blank file and makes file and name durable.
fn initialize(file: &File, discard: bool, path: &Path) -> io::Result<()> {
    if discard {
        file.set_len(0)?;
    }
    let mut writer = file;
    writer.write_all(&frame::header())?;
    file.sync_all()?;
    sync_dir(path)
}

/// One process (and one handle) at a time may append.
fn lock(file: &File, path: &Path) -> Result<()> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::new(
            ErrorKind::Conflict,
            format!("audit log {} is open elsewhere (its file lock is held)", path.display()),
        )),
        // Platforms without file locks still get a working log.
        Err(std::fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => Ok(()),
        Err(std::fs::TryLockError::Error(e)) => Err(io_error(path, "lock", e)),
    }
}

/// Makes a new directory entry durable: fsync of the containing directory.
#[cfg(unix)]
fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Directories cannot be opened as files here; the file system's own
/// journal makes the entry durable.
#[cfg(not(unix))]
fn sync_dir(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// What [`verify_file`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileVerification {
    /// Size and root of the valid records.
    pub head: TreeHead,
    /// Bytes after the last valid record that are a torn tail (an append cut
    /// short by a crash); [`AuditLog::open`](super::AuditLog::open) removes them.
    pub torn_tail_bytes: u64,
}

fn read_and_scan(path: &Path) -> Result<(Scan, u64)> {
    let bytes = std::fs::read(path).map_err(|e| io_error(path, "read", e))?;
    Ok(match frame::parse(&bytes)? {
        Contents::Blank => (Scan::default(), bytes.len() as u64),
        Contents::Log(scan) => {
            let torn = scan.torn;
            (scan, torn)
        }
    })
}

/// Verifies an audit log file offline, without changing it: header, every
/// frame checksum, every record's encoding, sequence, hash chain and payload
/// hash. Returns the head to compare with a signed checkpoint.
///
/// A damaged file is [`AuditTampered`](ErrorKind::AuditTampered) with a
/// message that starts `audit record N`, N the first bad record. Records
/// cut off the end are invisible here: use [`verify_file_against`] with the
/// last checkpoint you trust.
///
/// ```
/// use fleetgov::audit::{verify_file, AuditAction, AuditEntry, AuditLog};
/// use fleetgov::Role;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("audit.log");
/// let log = AuditLog::open(&path).unwrap();
/// log.append(AuditEntry::new(1, "alice", Role::Admin, AuditAction::UpsertWorkspace, "ws-1")).unwrap();
/// let head = log.head();
/// drop(log);
/// assert_eq!(verify_file(&path).unwrap().head, head);
/// ```
pub fn verify_file(path: impl AsRef<Path>) -> Result<FileVerification> {
    let (scan, torn) = read_and_scan(path.as_ref())?;
    Ok(FileVerification { head: scan.chain.head(), torn_tail_bytes: torn })
}

/// [`verify_file`], and then checks that the file extends `checkpoint`: it
/// holds at least the checkpoint's records, with the same root. Records cut
/// off the end are reported as `audit record N is missing`.
///
/// ```
/// use fleetgov::audit::{verify_file_against, AuditAction, AuditEntry, AuditLog, Checkpoint};
/// use fleetgov::Role;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("audit.log");
/// let log = AuditLog::open(&path).unwrap();
/// for t in 0..3 {
///     log.append(AuditEntry::new(t, "alice", Role::Admin, AuditAction::Publish, "eks-prod-us")).unwrap();
/// }
/// let trusted = Checkpoint::new("fleetgov.example/audit", log.head());
/// drop(log);
/// assert!(verify_file_against(&path, &trusted).is_ok());
/// // Cut the last record off: the file alone still looks fine, the checkpoint does not.
/// let len = std::fs::metadata(&path).unwrap().len();
/// std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len - 10).unwrap();
/// let e = verify_file_against(&path, &trusted).unwrap_err();
/// assert!(e.message().starts_with("audit record 2 is missing"), "{e}");
/// ```
pub fn verify_file_against(path: impl AsRef<Path>, checkpoint: &Checkpoint) -> Result<FileVerification> {
    let (scan, torn) = read_and_scan(path.as_ref())?;
    let head = scan.chain.head();
    let tree = scan.chain.into_tree();
    checkpoint.check_prefix_of(&tree, head.size)?;
    Ok(FileVerification { head, torn_tail_bytes: torn })
}
