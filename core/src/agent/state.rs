//! What the agent publishes: one immutable value, replaced whole on every change,
//! so a reader (a request thread, a heartbeat) sees the applied configuration,
//! the last known good one and the last sync error of the same moment.

use std::sync::Arc;

use super::applied::AppliedConfig;
use crate::execution::sync_error::{SyncError, SyncErrorCode};

#[derive(Clone, Debug, Default)]
pub(crate) struct AgentState {
    /// What the gateway runs now.
    pub(crate) current: Option<Arc<AppliedConfig>>,
    /// What it ran before `current` (the rollback target).
    pub(crate) last_good: Option<Arc<AppliedConfig>>,
    /// Why the last attempt to apply failed; cleared by a successful apply.
    pub(crate) last_error: Option<SyncError>,
    /// Reloads the hook refused since the agent started.
    pub(crate) hot_swap_errors: u32,
    /// Of those, the ones failed for memory pressure.
    pub(crate) memory_pressure_reloads: u32,
}

impl AgentState {
    /// `config` was installed by an apply. Re-applying the current
    /// configuration keeps the last known good one.
    pub(crate) fn applied(&self, config: Arc<AppliedConfig>) -> Self {
        let last_good = match &self.current {
            Some(cur) if !cur.same_content(&config) => Some(Arc::clone(cur)),
            _ => self.last_good.clone(),
        };
        AgentState { current: Some(config), last_good, last_error: None, ..*self }
    }

    /// `config` (the last known good one) was installed by a rollback. The
    /// configuration rolled back from is not good, so there is no rollback
    /// target until the next apply. The last sync error stays: what the node
    /// failed to apply is still why it is not on its desired configuration.
    pub(crate) fn rolled_back(&self, config: Arc<AppliedConfig>) -> Self {
        AgentState { current: Some(config), last_good: None, last_error: self.last_error.clone(), ..*self }
    }

    /// An attempt failed with `error`; `reload` says whether the hook ran.
    pub(crate) fn failed(&self, error: SyncError, reload: bool) -> Self {
        let memory = matches!(error.code, SyncErrorCode::MemoryPressure | SyncErrorCode::JvmMemoryPressure);
        AgentState {
            current: self.current.clone(),
            last_good: self.last_good.clone(),
            hot_swap_errors: self.hot_swap_errors.saturating_add(u32::from(reload)),
            memory_pressure_reloads: self.memory_pressure_reloads.saturating_add(u32::from(reload && memory)),
            last_error: Some(error),
        }
    }
}
