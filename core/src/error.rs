//! The one error vocabulary of fleetgov.
//!
//! Every fallible call returns [`Result<T>`]. An [`Error`] carries a
//! machine-readable [`ErrorKind`] (which the Java and Python bindings map to
//! exception classes, each in exactly one file) and a human message. A call
//! that returns an error has changed nothing.

use std::borrow::Cow;
use std::fmt;

/// What went wrong, for programs. New kinds may be added in minor releases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An argument is malformed: blank id, bad hash, bad version, NaN metric,
    /// a malformed binary record, and so on.
    InvalidInput,
    /// A workspace, cluster, node, snapshot or record does not exist.
    NotFound,
    /// The operation contradicts existing state (a node already enrolled in
    /// another cluster, a cluster moved to another workspace, ...).
    Conflict,
    /// A heartbeat older than the node's last one; it was ignored.
    StaleHeartbeat,
    /// A heartbeat stamped too far in the future.
    FutureHeartbeat,
    /// An override was requested without a non-blank justification.
    JustificationRequired,
    /// The actor's role may not perform the operation.
    PermissionDenied,
    /// The audit log or a proof does not verify.
    AuditTampered,
    /// The durable audit log failed; it accepts no further appends.
    Io,
    /// A question about a time after the engine's clock: what ran then is
    /// not known yet, and nothing is signed about it.
    Future,
    /// A question about a time before the history the engine retains.
    HistoryUnavailable,
    /// A node's reload hook rejected a configuration (or panicked on it); the
    /// node keeps running its previous one. The message is the sync error.
    ReloadFailure,
}

impl ErrorKind {
    /// A stable, upper-snake-case name, used by the bindings and HTTP API.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "INVALID_INPUT",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::Conflict => "CONFLICT",
            ErrorKind::StaleHeartbeat => "STALE_HEARTBEAT",
            ErrorKind::FutureHeartbeat => "FUTURE_HEARTBEAT",
            ErrorKind::JustificationRequired => "JUSTIFICATION_REQUIRED",
            ErrorKind::PermissionDenied => "PERMISSION_DENIED",
            ErrorKind::AuditTampered => "AUDIT_TAMPERED",
            ErrorKind::Io => "IO",
            ErrorKind::Future => "FUTURE",
            ErrorKind::HistoryUnavailable => "HISTORY_UNAVAILABLE",
            ErrorKind::ReloadFailure => "RELOAD_FAILURE",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An error: a kind for programs and a message for people.
///
/// ```
/// use fleetgov::{Error, ErrorKind};
/// let e = Error::not_found("cluster 'eks-prod-us'");
/// assert_eq!(e.kind(), ErrorKind::NotFound);
/// assert_eq!(e.to_string(), "NOT_FOUND: cluster 'eks-prod-us' not found");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
}

/// `Result` with fleetgov's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error { kind, message: message.into() }
    }

    /// [`ErrorKind::InvalidInput`] with `message`.
    pub fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// [`ErrorKind::NotFound`] for `what` (the message reads "`what` not found").
    pub fn not_found(what: impl fmt::Display) -> Self {
        Error::new(ErrorKind::NotFound, format!("{what} not found"))
    }

    /// The kind, for programs.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, for people (without the kind prefix).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error with `context` put in front of its message.
    pub fn context(self, context: impl fmt::Display) -> Self {
        Error { kind: self.kind, message: format!("{context}: {}", self.message).into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, e.to_string())
    }
}
