//! The one definition of identifiers: which characters and how many bytes an
//! id may have. Workspaces, clusters, nodes, policies and policy rules use
//! [`validate_id`]; snapshot ids (`<cluster>@r<revision>`, or a node's local
//! name for what it runs) use [`validate_snapshot_id`]. Every entry point of
//! the core (single calls, agents, the HTTP and NATS layers, the bindings)
//! checks ids here, so an id is refused or accepted the same way everywhere,
//! always with [`InvalidInput`](crate::ErrorKind::InvalidInput).

use crate::error::{Error, Result};

/// The longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// The longest snapshot id accepted, in bytes: a cluster id, `@r` and a
/// `u32` revision.
pub const MAX_SNAPSHOT_ID_LEN: usize = MAX_ID_LEN + 12;

/// The characters of an id besides ASCII letters and digits.
const ID_PUNCTUATION: &[u8] = b"._-:";

fn is_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || ID_PUNCTUATION.contains(&b)
}

/// Checks an id: 1 to [`MAX_ID_LEN`] (128) bytes of ASCII letters, digits,
/// `.`, `_`, `-` and `:` (so ids are safe in URLs, NATS subjects, logs and
/// snapshot ids). Anything else, blank or whitespace of any kind included,
/// is [`InvalidInput`](crate::ErrorKind::InvalidInput) naming `what`.
///
/// ```
/// assert!(fleetgov::validate_id("node", "gw-eu-1.a").is_ok());
/// assert!(fleetgov::validate_id("node", "  ").is_err());
/// assert!(fleetgov::validate_id("node", "gw 1").is_err());
/// assert!(fleetgov::validate_id("node", "\u{3000}").is_err());
/// assert!(fleetgov::validate_id("node", "\u{a0}").is_err());
/// ```
pub fn validate_id(what: &str, id: &str) -> Result<()> {
    check(what, " id", id, MAX_ID_LEN, is_id_byte, "ASCII letters, digits, '.', '_', '-', ':'")
}

/// Checks a snapshot id (`what` names it, e.g. `"applied snapshot id"`): 1 to [`MAX_SNAPSHOT_ID_LEN`] bytes of the id
/// characters (see [`validate_id`]) and `@`. Ids outside the engine's
/// `<cluster>@r<revision>` form are allowed: a node may run a local
/// configuration, which the engine then shows as divergent.
///
/// ```
/// assert!(fleetgov::validate_snapshot_id("applied snapshot id", "eks-prod-us@r3").is_ok());
/// assert!(fleetgov::validate_snapshot_id("applied snapshot id", "local-override").is_ok());
/// assert!(fleetgov::validate_snapshot_id("applied snapshot id", "eks prod@r3").is_err());
/// ```
pub fn validate_snapshot_id(what: &str, id: &str) -> Result<()> {
    let allowed = |b: u8| is_id_byte(b) || b == b'@';
    check(what, "", id, MAX_SNAPSHOT_ID_LEN, allowed, "ASCII letters, digits, '.', '_', '-', ':', '@'")
}

fn check(what: &str, noun: &str, id: &str, max: usize, allowed: impl Fn(u8) -> bool, alphabet: &str) -> Result<()> {
    if id.trim().is_empty() {
        return Err(Error::invalid(format!("{what}{noun} is blank")));
    }
    if id.len() > max {
        return Err(Error::invalid(format!("{what}{noun} is {} bytes, longer than {max}", id.len())));
    }
    match id.char_indices().find(|&(i, c)| !c.is_ascii() || !allowed(id.as_bytes()[i])) {
        Some((_, c)) => Err(Error::invalid(format!("{what}{noun} {id:?} contains {c:?}; allowed are {alphabet}"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_snapshot_ids_share_one_alphabet_and_limit() {
        let longest = "i".repeat(MAX_ID_LEN);
        for good in ["gw-eu-1.a", "a", "ws:team_1", longest.as_str()] {
            assert!(validate_id("node", good).is_ok(), "{good:?}");
            assert!(validate_snapshot_id("snapshot id", good).is_ok(), "{good:?}");
        }
        let too_long = "i".repeat(MAX_ID_LEN + 1);
        for bad in ["", " ", "\u{3000}", "\u{a0}", "\u{200b}", "gw 1", "gw\n", "é", "a@r1", too_long.as_str()] {
            let e = validate_id("node", bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{bad:?}");
            assert!(e.message().starts_with("node id "), "{e}");
        }
        let snapshot_longest = format!("{}@r4294967295", "c".repeat(MAX_ID_LEN));
        assert_eq!(snapshot_longest.len(), MAX_SNAPSHOT_ID_LEN);
        assert!(validate_snapshot_id("snapshot id", &snapshot_longest).is_ok());
        let snapshot_too_long = format!("{snapshot_longest}0");
        for bad in ["", "\u{3000}", "eks prod@r1", "x\n", "é@r1", snapshot_too_long.as_str()] {
            let e = validate_snapshot_id("applied snapshot id", bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{bad:?}");
            assert!(e.message().starts_with("applied snapshot id "), "{e}");
        }
    }
}
