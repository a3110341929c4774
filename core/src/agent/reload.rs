//! The gateway's hook: compile and install a verified configuration.

use super::applied::AppliedConfig;
use crate::execution::sync_error::SyncError;

/// What the gateway does with a verified configuration: validate it, compile
/// it and hot-swap it in. The agent calls it with the candidate *before* making
/// the candidate current; an `Err` leaves the previous configuration live and
/// is recorded as the node's sync error, reported to the fleet.
///
/// Only a refusal is reported: a hook that panics has a bug (a programming
/// error, not a configuration the gateway cannot load), so the agent records
/// nothing, keeps the previous configuration live and lets the panic continue
/// to the caller of [`Agent::apply`](super::Agent::apply). A binding uses the
/// same path for its host language's programming errors (a Java `Error`, a
/// misuse of the binding), so they reach the caller instead of the fleet.
///
/// Calls are serialised: the agent never runs two reloads at once. A reloader
/// must not call `apply` or `rollback` on its own agent (that would wait on
/// itself). Any `Fn(&AppliedConfig) -> Result<(), SyncError> + Send + Sync`
/// closure is a reloader.
///
/// ```
/// use fleetgov::{ContentHash, SyncError, SyncErrorCode, agent::{Agent, AppliedConfig, Reloader}};
///
/// struct FilterChain;
/// impl Reloader for FilterChain {
///     fn reload(&self, candidate: &AppliedConfig) -> Result<(), SyncError> {
///         if candidate.bytes().starts_with(b"filters:") {
///             Ok(()) // compile and install here
///         } else {
///             Err(SyncError::new(SyncErrorCode::ValidationFailed, "no filters section"))
///         }
///     }
/// }
///
/// let agent = Agent::new("3.5.0".parse()?, FilterChain);
/// let err = agent.apply("c@r1", b"routes: []".to_vec(), ContentHash::of(b"routes: []"), 1).unwrap_err();
/// assert!(err.message().contains("VALIDATION_FAILED: no filters section"));
/// assert!(agent.current().is_none()); // nothing was live, nothing is
/// # Ok::<(), fleetgov::Error>(())
/// ```
pub trait Reloader: Send + Sync {
    /// Installs `candidate`, or says why it cannot (code and detail).
    fn reload(&self, candidate: &AppliedConfig) -> Result<(), SyncError>;
}

impl<F> Reloader for F
where
    F: Fn(&AppliedConfig) -> Result<(), SyncError> + Send + Sync,
{
    fn reload(&self, candidate: &AppliedConfig) -> Result<(), SyncError> {
        self(candidate)
    }
}
