//! The gateway's hook: compile and install a verified configuration.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::applied::AppliedConfig;
use crate::execution::sync_error::{SyncError, SyncErrorCode};

/// What the gateway does with a verified configuration: validate it, compile
/// it and hot-swap it in. The agent calls it with the candidate *before* making
/// the candidate current; an `Err` (or a panic) leaves the previous
/// configuration live and is recorded as the node's sync error.
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

/// Runs the hook; a panic becomes `RELOAD_FAILURE` with the panic message.
pub(crate) fn run(reloader: &dyn Reloader, candidate: &AppliedConfig) -> Result<(), SyncError> {
    // AssertUnwindSafe: on a panic the agent discards the candidate and keeps
    // its own state unchanged; whatever the hook half-did is the gateway's to
    // judge, and the error it gets back says the reload failed.
    catch_unwind(AssertUnwindSafe(|| reloader.reload(candidate))).unwrap_or_else(|payload| {
        Err(SyncError::new(SyncErrorCode::ReloadFailure, format!("reload hook panicked: {}", panic_message(&*payload))))
    })
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
