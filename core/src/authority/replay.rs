//! How the authority state is replayed from the audit log, and how
//! authority changes are serialised with it (the payloads themselves are in
//! [`crate::authority::event`]). Execution state (enrolments, node reports,
//! the transition journal) is not in the audit log: a data directory keeps
//! it beside the log (see `crate::data_dir`).
//!
//! The engine counts the records whose authority events it has applied. An
//! authority change holds the [`AuthorityGuard`]: it first applies the
//! records it has not (those of other writers of a shared audit store), then
//! checks the change against that state, and appends its record only as the
//! very next one. When the log has grown in between, nothing is written, the
//! new records are applied and the change is checked again, so two writers
//! can never both publish revision 5 of a cluster.

use std::sync::Arc;

use parking_lot::MutexGuard;

use crate::authority::event::AuthorityEvent;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::governance::audit::{AuditAction, AuditEntry, AuditRecord, Contention};

/// The right to change authority, held while a change is checked, recorded
/// and applied, so that the audit order is the apply order.
pub(crate) struct AuthorityGuard<'e> {
    engine: &'e Engine,
    /// How many audit records have their authority events applied.
    applied: MutexGuard<'e, u64>,
    /// Other writers appending first: the change is checked again after a
    /// wait, and gives up with [`Conflict`](ErrorKind::Conflict) once the
    /// budget is spent.
    contention: Contention,
}

impl AuthorityGuard<'_> {
    /// Appends the record of a change that was checked against the state as
    /// of now. `Ok(false)`: the log grew in between (other writers of a
    /// shared store, or this engine's non-authority records); nothing was
    /// written, the new records are applied, and the caller checks again.
    pub(crate) fn record(&mut self, entry: AuditEntry, event: AuthorityEvent, bytes: &[u8]) -> Result<bool> {
        self.record_entry(entry, event, bytes).map(|record| record.is_some())
    }

    /// [`record`](Self::record), returning the record appended (`None`: the
    /// log grew in between; check again).
    pub(crate) fn record_entry(
        &mut self,
        entry: AuditEntry,
        event: AuthorityEvent,
        bytes: &[u8],
    ) -> Result<Option<Arc<AuditRecord>>> {
        let entry = entry.payload(event.encode(bytes));
        if let Some(record) = self.engine.governance.audit().append_at(entry, *self.applied)? {
            *self.applied = record.seq + 1;
            self.engine.announce(&record);
            return Ok(Some(record));
        }
        if !self.contention.wait() {
            return Err(Error::new(
                ErrorKind::Conflict,
                "the audit log kept growing under an authority change for 30 s; gave up",
            ));
        }
        self.apply_new()?;
        Ok(None)
    }

    /// Applies the authority events of the records not applied yet.
    fn apply_new(&mut self) -> Result<()> {
        for record in self.engine.governance.audit().records_from(*self.applied, usize::MAX) {
            self.engine.replay(&record)?;
            *self.applied += 1;
        }
        Ok(())
    }
}

impl Engine {
    /// Takes the authority lock, adopts what other writers of a shared store
    /// appended, and applies the records not applied yet: a change is checked
    /// against the newest authority the fleet has.
    pub(crate) fn authority_lock(&self) -> Result<AuthorityGuard<'_>> {
        self.lock_caught_up().map(|(guard, _)| guard)
    }

    /// The authority lock if no one holds it, caught up (`None`: busy).
    pub(crate) fn try_authority_lock(&self) -> Option<Result<AuthorityGuard<'_>>> {
        let applied = self.authority.changes.try_lock()?;
        Some(self.caught_up(applied).map(|(guard, _)| guard))
    }

    /// The authority lock, caught up, and how many records were adopted.
    fn lock_caught_up(&self) -> Result<(AuthorityGuard<'_>, u64)> {
        self.caught_up(self.authority.changes.lock())
    }

    /// Catches the held authority lock up with the log.
    fn caught_up<'e>(&'e self, applied: MutexGuard<'e, u64>) -> Result<(AuthorityGuard<'e>, u64)> {
        let mut guard = AuthorityGuard { engine: self, applied, contention: Contention::new() };
        let before = self.governance.audit().size();
        let adopted = self.governance.audit().catch_up()?;
        // Other writers' records, new to this engine's change feed.
        for record in self.governance.audit().records_from(before, usize::try_from(adopted).unwrap_or(usize::MAX)) {
            self.announce(&record);
        }
        guard.apply_new()?;
        Ok((guard, adopted))
    }

    /// Adopts the records that other writers appended to a shared audit
    /// store ([`AuditLog::with_store`](crate::governance::audit::AuditLog::with_store))
    /// and applies their authority changes (workspaces, clusters, snapshots,
    /// policies); returns how many records were new. With a private log
    /// (in memory or a file) there are none.
    ///
    /// ```
    /// let e = fleetgov::demo::engine(1_700_000_000_000).unwrap();
    /// assert_eq!(e.catch_up().unwrap(), 0);
    /// ```
    pub fn catch_up(&self) -> Result<u64> {
        self.lock_caught_up().map(|(_, adopted)| adopted)
    }

    /// Applies the authority event of `record`.
    fn replay(&self, record: &AuditRecord) -> Result<()> {
        let (event, bytes) = AuthorityEvent::decode(&record.payload)
            .map_err(|e| e.context(format_args!("audit record {}", record.seq)))?;
        let applied = match (record.action, event) {
            (AuditAction::UpsertWorkspace, AuthorityEvent::Workspace { spec }) => self.apply_workspace(spec),
            (AuditAction::UpsertCluster, AuthorityEvent::Cluster { spec }) => self.apply_cluster(spec),
            (AuditAction::Publish, AuthorityEvent::Publish { snapshot, rollout }) => {
                self.restore_snapshot(snapshot, bytes, rollout.as_ref())
            }
            (AuditAction::Rollout, AuthorityEvent::Rollout { cluster, target, change }) => {
                self.apply_rollout_change(&cluster, target, &change, record.time_ms)
            }
            (
                AuditAction::ForceSyncNode | AuditAction::ForceSyncCluster | AuditAction::GlobalOverwrite,
                AuthorityEvent::Force { .. },
            )
            | (AuditAction::SealJournal, AuthorityEvent::JournalSegment { .. })
            // The enrolment log, not the authority, brings a removal back.
            | (AuditAction::RemoveNode, AuthorityEvent::RemoveNode { .. }) => Ok(()),
            | (AuditAction::CompactJournal, AuthorityEvent::JournalCompaction { .. }) => Ok(()),
            (AuditAction::AutoReconcile, AuthorityEvent::AutoReconcile { cluster, to }) => {
                // The wave this record opened stays open: a reopened engine
                // does not audit it again.
                if let Ok(state) = self.cluster_state(&cluster)
                    && state.authority.snapshot(state.authority.desired()).is_some_and(|d| d.id == to)
                {
                    state.authority.open_wave_with(state.authority.wave(state.authority.desired()), || Ok(()))?;
                }
                Ok(())
            }
            (AuditAction::UpsertPolicy, AuthorityEvent::Policy { policy }) => {
                self.authority.policies.upsert(policy).map(drop)
            }
            (AuditAction::RemovePolicy, AuthorityEvent::RemovePolicy { scope, id }) => {
                self.authority.policies.remove(&scope, &id).map(drop)
            }
            (action, event) => Err(Error::invalid(format!("action {action} does not match its payload {event:?}"))),
        };
        applied.map_err(|e| e.context(format_args!("replaying audit record {}", record.seq)))
    }
}
