//! Identifier rules shared by workspaces, clusters and nodes.

use crate::error::{Error, Result};

/// The longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// Checks an id: 1 to 128 bytes of ASCII letters, digits, `.`, `_`, `-` and
/// `:` (so ids are safe in URLs, NATS subjects, logs and snapshot ids).
///
/// ```
/// assert!(fleetgov::validate_id("node", "gw-eu-1.a").is_ok());
/// assert!(fleetgov::validate_id("node", "  ").is_err());
/// assert!(fleetgov::validate_id("node", "gw 1").is_err());
/// ```
pub fn validate_id(what: &str, id: &str) -> Result<()> {
    if id.trim().is_empty() {
        return Err(Error::invalid(format!("{what} id is blank")));
    }
    if id.len() > MAX_ID_LEN {
        return Err(Error::invalid(format!("{what} id is longer than {MAX_ID_LEN} bytes")));
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))) {
        return Err(Error::invalid(format!(
            "{what} id {id:?} contains {c:?}; allowed are ASCII letters, digits, '.', '_', '-', ':'"
        )));
    }
    Ok(())
}
