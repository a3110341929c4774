//! Where an audit log's records live: the [`AuditStore`] contract that the
//! file log and shared stores (a replicated stream) implement.

use crate::error::Result;

/// Where an audit log keeps its records beyond memory: its file, or a store
/// shared with other writers (such as a replicated stream).
///
/// Records travel as frames ([`AuditRecord::to_frame`](super::AuditRecord::to_frame)), one per record.
///
/// # Contract
///
/// - [`write`](Self::write) stores the frame of record `seq` after the `seq`
///   records the store holds. A shared store must answer
///   [`Write::Refused`] (nothing written) unless it holds exactly `seq`
///   records, and [`Write::Unknown`] when it cannot tell whether the write
///   landed (a timeout): the log then reads the store from `seq` on, adopts
///   what it finds (after `Unknown`, its own record too, if it landed) and
///   retries. Writes to a shared store must be durable when `write` returns.
///   An error *fails the log* (see the module docs).
/// - [`sync`](Self::sync) makes every written frame durable (one call may
///   cover many writes: group commit).
/// - [`read_from`](Self::read_from) returns the frames of records `from..`,
///   in order, as far as the store holds them. A store private to its log
///   holds nothing the log has not written and returns none.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use fleetgov::audit::{AuditAction, AuditEntry, AuditLog, AuditStore, Write};
/// use fleetgov::{Result, Role};
///
/// /// Frames in a vector that several logs share (a stand-in for a replicated stream).
/// #[derive(Clone, Default)]
/// struct Shared(Arc<Mutex<Vec<Vec<u8>>>>);
///
/// impl AuditStore for Shared {
///     fn write(&self, seq: u64, frame: &[u8]) -> Result<Write> {
///         let mut frames = self.0.lock().unwrap();
///         if frames.len() as u64 != seq {
///             return Ok(Write::Refused);
///         }
///         frames.push(frame.to_vec());
///         Ok(Write::Written)
///     }
///     fn sync(&self) -> Result<()> {
///         Ok(())
///     }
///     fn read_from(&self, from: u64) -> Result<Vec<Vec<u8>>> {
///         Ok(self.0.lock().unwrap().iter().skip(from as usize).cloned().collect())
///     }
/// }
///
/// let store = Shared::default();
/// let a = AuditLog::with_store(Box::new(store.clone())).unwrap();
/// let b = AuditLog::with_store(Box::new(store.clone())).unwrap();
/// let entry = |actor| AuditEntry::new(1, actor, Role::Admin, AuditAction::Publish, "eks-prod-us");
/// a.append(entry("alice")).unwrap();
/// // b has not seen alice's record: its write conflicts, it adopts it and chains after it.
/// assert_eq!(b.append(entry("bob")).unwrap().seq, 1);
/// a.catch_up().unwrap();
/// assert_eq!(a.head(), b.head());
/// assert_eq!(b.verify().unwrap().size, 2);
/// ```
pub trait AuditStore: Send + Sync {
    /// Stores the frame of record `seq` after the `seq` records the store holds.
    fn write(&self, seq: u64, frame: &[u8]) -> Result<Write>;
    /// Makes everything written so far durable.
    fn sync(&self) -> Result<()>;
    /// The frames of records `from..` that the store holds, in order.
    fn read_from(&self, from: u64) -> Result<Vec<Vec<u8>>>;
}

/// What became of a [`write`](AuditStore::write) to a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// The store holds the frame as record `seq`.
    Written,
    /// The store already holds a record `seq` (another writer's): nothing was written.
    Refused,
    /// The store may or may not hold the frame (the write timed out).
    Unknown,
}
