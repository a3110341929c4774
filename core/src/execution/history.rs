//! History: what each node ran, and when, so the engine can prove what was
//! running at any moment.
//!
//! The engine journals a node's applied-state *transitions* (the applied
//! revision or hash changed), never every heartbeat. `what_ran` and
//! `fleet_at` answer from the journal; `attest` signs what a cluster ran at
//! a moment as an in-toto statement (see [`crate::governance::attestation`]).
//!
//! They answer only about the past they know: a time after the engine's
//! clock is refused ([`Future`](crate::ErrorKind::Future)), and so is a time
//! before the retained history, which begins when the engine was made
//! ([`HistoryUnavailable`](crate::ErrorKind::HistoryUnavailable)). Answering
//! about `t` seals it (see [`AuditLog::seal`](crate::governance::audit::AuditLog::seal)):
//! whatever is recorded afterwards — a late heartbeat stamped before `t`, a
//! publish or an audit record naming an earlier time — is recorded after
//! `t`, so the same question about `t` gets the same answer, and the same
//! attestation byte for byte, for as long as the history covering `t` is
//! retained.

use crate::authority::snapshot::snapshot_id;
use crate::cluster_state::ClusterState;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::execution::journal::HashRef;
use crate::hash::ContentHash;

const DAY_MS: u64 = 24 * 3_600_000;

/// What a node ran at some moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedAt {
    /// The node.
    pub node: String,
    /// The snapshot it reported (`None`: none, or not a published snapshot
    /// of its cluster).
    pub snapshot: Option<String>,
    /// The hash it computed over what it applied (`None`: it applied nothing).
    pub hash: Option<ContentHash>,
    /// Since when: the time the heartbeat that reported the change counted
    /// at (its stamp, or the engine's clock at arrival if earlier).
    pub since_ms: u64,
}

/// One change of what a node ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedChange {
    /// When (the time its heartbeat counted at).
    pub at_ms: u64,
    /// The snapshot it reported from then on (`None`: none, or not a
    /// published snapshot of its cluster).
    pub snapshot: Option<String>,
    /// The hash it computed (`None`: it applied nothing).
    pub hash: Option<ContentHash>,
    /// Whether that hash is its snapshot's own.
    pub verified: bool,
}

impl Engine {
    fn applied_at(&self, slot: u32, cluster: &ClusterState, t: u64) -> Option<AppliedAt> {
        let latest = self.execution.nodes.slot(slot)?.read().last_transition;
        let change = self.change(cluster, self.execution.journal.at(slot, latest, t)?);
        Some(AppliedAt {
            node: self.execution.nodes.id(slot).to_owned(),
            snapshot: change.snapshot,
            hash: change.hash,
            since_ms: change.at_ms,
        })
    }

    fn change(&self, cluster: &ClusterState, t: crate::execution::journal::Transition) -> AppliedChange {
        let hash = match t.hash {
            HashRef::None => None,
            HashRef::Verified => cluster.authority.snapshot(t.revision).map(|s| s.hash),
            odd => self.execution.journal.odd_hash(odd),
        };
        AppliedChange {
            at_ms: t.at_ms,
            snapshot: (t.revision != 0).then(|| snapshot_id(&cluster.id, t.revision)),
            hash,
            verified: t.hash == HashRef::Verified,
        }
    }

    /// Where the retained history begins (unix ms): when the data directory
    /// was made, or without one when the engine was made (earlier when
    /// another engine's history was imported,
    /// [`import_execution`](Self::import_execution)); and never before the
    /// retention horizon, the engine's clock less
    /// [`EngineConfig::retention`](crate::EngineConfig::retention).
    pub fn history_start_ms(&self) -> u64 {
        self.history_from_ms.min(self.execution.journal.imported_from_ms()).max(self.horizon_ms())
    }

    /// Every change of what node `node` ran from `from_ms` to `to_ms` (both
    /// included), oldest first: its history. Times are checked as by
    /// [`what_ran`](Self::what_ran); `from_ms` after `to_ms` is
    /// [`InvalidInput`](ErrorKind::InvalidInput).
    ///
    /// ```
    /// let t = 1_700_000_000_000;
    /// let e = fleetgov::demo::engine(t).unwrap();
    /// let changes = e.history("gw-stage-eu-4", e.history_start_ms(), t).unwrap();
    /// assert!(changes.is_empty(), "it reported before the engine's history began");
    /// ```
    pub fn history(&self, node: &str, from_ms: u64, to_ms: u64) -> Result<Vec<AppliedChange>> {
        if from_ms > to_ms {
            return Err(Error::invalid(format!("history from {from_ms} ms to {to_ms} ms: the start is after the end")));
        }
        let slot = self.node_handle(node).and_then(|h| self.slot_of(h))?;
        self.known_past(from_ms)?;
        self.known_past(to_ms)?;
        let cell = self.execution.nodes.slot(slot).ok_or_else(|| Error::not_found(format_args!("node '{node}'")))?;
        let cluster = self.cluster_at(cell.cluster());
        let mut changes: Vec<AppliedChange> = self
            .execution
            .journal
            .walk(slot, cell.read().last_transition)
            .skip_while(|t| t.at_ms > to_ms)
            .take_while(|t| t.at_ms >= from_ms)
            .map(|t| self.change(cluster, t))
            .collect();
        changes.reverse();
        Ok(changes)
    }

    /// Checks that `t_ms` lies within the known past and seals it.
    fn known_past(&self, t_ms: u64) -> Result<()> {
        let now = self.clock.now_ms();
        if t_ms > now {
            return Err(Error::new(
                ErrorKind::Future,
                format!("{t_ms} ms is after the engine's clock ({now} ms): what runs then is not known yet"),
            ));
        }
        let start = self.history_start_ms();
        if t_ms < start {
            let horizon = self.horizon_ms();
            let why = if start == horizon {
                format!(
                    "the retention horizon ({horizon} ms: the last {} days and {} ms are kept)",
                    self.retention_ms / DAY_MS,
                    self.retention_ms % DAY_MS
                )
            } else {
                format!("the start of the retained history ({start} ms)")
            };
            return Err(Error::new(ErrorKind::HistoryUnavailable, format!("{t_ms} ms is before {why}")));
        }
        self.governance.audit().seal(t_ms);
        Ok(())
    }

    /// What node `node` ran at `t_ms` (`None`: it had reported nothing yet).
    /// A time after the engine's clock is refused
    /// ([`Future`](ErrorKind::Future)), as is one before the retained
    /// history ([`HistoryUnavailable`](ErrorKind::HistoryUnavailable)).
    ///
    /// ```
    /// use fleetgov::ErrorKind;
    /// let t = 1_700_000_000_000;
    /// let e = fleetgov::demo::engine(t).unwrap();
    /// let ran = e.what_ran("gw-stage-eu-4", t).unwrap().unwrap();
    /// assert_eq!(ran.snapshot.as_deref(), Some("gke-stage-eu@r1"));
    /// assert_eq!(e.what_ran("gw-stage-eu-4", t + 1).unwrap_err().kind(), ErrorKind::Future);
    /// assert_eq!(e.what_ran("gw-stage-eu-4", t - 1).unwrap_err().kind(), ErrorKind::HistoryUnavailable);
    /// ```
    pub fn what_ran(&self, node: &str, t_ms: u64) -> Result<Option<AppliedAt>> {
        self.known_past(t_ms)?;
        let slot = self.node_handle(node).and_then(|h| self.slot_of(h))?;
        let cluster = self
            .execution
            .nodes
            .slot(slot)
            .map(|s| self.cluster_at(s.cluster()))
            .ok_or_else(|| Error::not_found(node))?;
        Ok(self.applied_at(slot, cluster, t_ms))
    }

    /// What every node of `cluster` ran at `t_ms`, by node id (nodes that had
    /// reported nothing yet are left out). Times are checked as by
    /// [`what_ran`](Self::what_ran).
    pub fn fleet_at(&self, cluster: &str, t_ms: u64) -> Result<Vec<AppliedAt>> {
        let state = self.cluster_state(cluster)?;
        self.known_past(t_ms)?;
        let mut out: Vec<AppliedAt> =
            state.counters.members().into_iter().filter_map(|s| self.applied_at(s, state, t_ms)).collect();
        out.sort_by(|a, b| a.node.cmp(&b.node));
        Ok(out)
    }
}
