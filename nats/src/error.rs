//! Errors: the engine's own vocabulary, plus the transport's failures.
//!
//! An engine error raised by the instance that owns a cluster travels back in
//! the error reply header and arrives as [`Error::Engine`] with its kind, as
//! if the engine were local.

use std::fmt;

use fleetgov::{ContentHash, ErrorKind};

/// A failure of a fleetgov-over-NATS call.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The engine refused (locally, or in an error reply from the owning instance).
    Engine(fleetgov::Error),
    /// NATS or JetStream failed: connection, request, bucket or object store.
    Transport {
        /// What was being done.
        op: String,
        /// Whether trying again later may succeed (no responders, a timeout).
        retryable: bool,
        /// The client library's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An artifact's bytes do not hash to the hash they were fetched by; the
    /// bytes were discarded.
    HashMismatch {
        /// The hash asked for.
        expected: ContentHash,
        /// The hash of the bytes received.
        computed: ContentHash,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The engine's error kind, for [`Error::Engine`].
    ///
    /// ```
    /// use fleetgov_nats::Error;
    /// let e = Error::from(fleetgov::Error::not_found("cluster 'x'"));
    /// assert_eq!(e.kind(), Some(fleetgov::ErrorKind::NotFound));
    /// ```
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Error::Engine(e) => Some(e.kind()),
            _ => None,
        }
    }

    /// Whether the same call may succeed later (a cluster between owners).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Transport { retryable: true, .. })
    }

    pub(crate) fn transport(
        op: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Transport { op: op.into(), retryable: false, source: source.into() }
    }

    pub(crate) fn retryable(
        op: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Transport { op: op.into(), retryable: true, source: source.into() }
    }
}

impl From<fleetgov::Error> for Error {
    fn from(e: fleetgov::Error) -> Self {
        Error::Engine(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Engine(e) => e.fmt(f),
            Error::Transport { op, source, .. } => write!(f, "NATS: {op}: {source}"),
            Error::HashMismatch { expected, computed } => {
                write!(f, "HASH_MISMATCH: artifact {expected} hashes to {computed}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Engine(e) => Some(e),
            Error::Transport { source, .. } => Some(&**source),
            Error::HashMismatch { .. } => None,
        }
    }
}
