//! Where the server keeps what it must not forget: the engine's data
//! directory (the audit log, the signing key, enrolments, the execution
//! journal and node-state checkpoints; see the README's "Data directory"),
//! or nothing at all.
//!
//! The command line chooses: `--ephemeral` keeps everything in memory;
//! otherwise `--data-dir DIR`, else the configuration's `data_dir`, else
//! [`DEFAULT_DATA_DIR`] in the working directory. A directory another
//! server has open is refused, as is one of another format version.

use std::path::PathBuf;

use fleetgov::{Engine, EngineConfig, ErrorKind};

/// The data directory used when neither the command line nor the
/// configuration names one (relative to the working directory).
pub const DEFAULT_DATA_DIR: &str = "fleetgov-data";

/// Where the engine keeps its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Storage {
    /// The engine's data directory: everything acknowledged survives a
    /// restart, and a crash loses only what the README says it may.
    Directory(PathBuf),
    /// In memory only: nothing survives a restart.
    Ephemeral,
}

impl Storage {
    /// The storage the command line asks for: `--ephemeral` wins, then
    /// `--data-dir` (`flag`), then the configuration's `data_dir`, then
    /// [`DEFAULT_DATA_DIR`].
    ///
    /// ```
    /// use fleetgov_server::storage::Storage;
    /// assert_eq!(Storage::choose(false, None, None), Storage::Directory("fleetgov-data".into()));
    /// assert_eq!(Storage::choose(false, Some("a".into()), Some("b".into())), Storage::Directory("a".into()));
    /// assert_eq!(Storage::choose(false, None, Some("b".into())), Storage::Directory("b".into()));
    /// assert_eq!(Storage::choose(true, None, Some("b".into())), Storage::Ephemeral);
    /// ```
    pub fn choose(ephemeral: bool, flag: Option<PathBuf>, configured: Option<PathBuf>) -> Storage {
        if ephemeral {
            return Storage::Ephemeral;
        }
        Storage::Directory(flag.or(configured).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)))
    }

    /// An engine over this storage keeping `retention` of history
    /// ([`EngineConfig::retention`]): a directory is created when absent and
    /// restored when not. `Err` with a message for people when it cannot be
    /// opened (held by another server, another format version, unreadable).
    pub fn open(&self, retention: std::time::Duration) -> Result<Engine, String> {
        let config = EngineConfig { retention, ..EngineConfig::default() };
        let Storage::Directory(dir) = self else {
            return Engine::with_config(config).map_err(|e| format!("engine: {e}"));
        };
        let config = EngineConfig { data_dir: Some(dir.clone()), ..config };
        Engine::with_config(config).map_err(|e| match e.kind() {
            ErrorKind::Conflict => format!("data directory: {} (is another fleet server running on it?)", e.message()),
            _ => format!("data directory {}: {e}", dir.display()),
        })
    }

    /// The start-up banner's line about it.
    ///
    /// ```
    /// use fleetgov_server::storage::Storage;
    /// assert_eq!(Storage::Ephemeral.describe(), "ephemeral: nothing survives a restart");
    /// assert_eq!(Storage::Directory("fleetgov-data".into()).describe(), "data directory fleetgov-data");
    /// ```
    pub fn describe(&self) -> String {
        match self {
            Storage::Directory(dir) => format!("data directory {}", dir.display()),
            Storage::Ephemeral => "ephemeral: nothing survives a restart".to_owned(),
        }
    }
}
