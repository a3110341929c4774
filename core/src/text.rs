//! The one definition of free text: the fields a person types (an actor, a
//! snapshot's author, a justification, a cluster's owner team), how many
//! bytes each may have and which characters. Every entry point of the core
//! (single calls, the audit log, the HTTP and NATS layers and the bindings
//! through them) checks free text here, so a field is refused or accepted the
//! same way everywhere. Text is never altered: what is accepted is stored
//! byte for byte, what breaks a rule is refused.
//!
//! | field | bytes | rule |
//! |---|---|---|
//! | actor (and a snapshot's author) | 1–[`MAX_ACTOR_LEN`] (256) | visible text, no control character |
//! | justification | 0–[`MAX_JUSTIFICATION_LEN`] (4096) | no control character; an override's needs visible text |
//! | owner team | 0–[`MAX_OWNER_TEAM_LEN`] (256) | empty, or visible text with no control character |
//!
//! A *control character* is any of C0 (U+0000–U+001F), DEL and C1
//! (U+0080–U+009F), NUL and line breaks included. *Visible text* holds at
//! least one character that is neither white space, nor a control, nor a
//! format character (such as U+200B ZERO WIDTH SPACE or U+FEFF): `" "`,
//! `"\u{a0}"`, `"\u{3000}"` or `"\u{200b}"` alone say nothing. Breaking a
//! rule is [`InvalidInput`](crate::ErrorKind::InvalidInput), except an
//! override's justification without visible text, which is
//! [`JustificationRequired`](crate::ErrorKind::JustificationRequired).

use crate::error::{Error, ErrorKind, Result};

/// The longest actor (and snapshot author), in bytes.
pub const MAX_ACTOR_LEN: usize = 256;

/// The longest justification, in bytes.
pub const MAX_JUSTIFICATION_LEN: usize = 4096;

/// The longest owner team of a cluster, in bytes.
pub const MAX_OWNER_TEAM_LEN: usize = 256;

/// Checks an actor (`what` names it: `"actor"`, `"author"`): visible text of
/// at most [`MAX_ACTOR_LEN`] bytes with no control character;
/// [`InvalidInput`](crate::ErrorKind::InvalidInput) naming `what` otherwise.
///
/// ```
/// assert!(fleetgov::validate_actor("actor", "Ada Lovelace").is_ok());
/// assert!(fleetgov::validate_actor("actor", "\u{200b}").is_err());
/// assert!(fleetgov::validate_actor("author", "bob\n").is_err());
/// ```
pub fn validate_actor(what: &str, actor: &str) -> Result<()> {
    check_label(what, actor, MAX_ACTOR_LEN)
}

/// Checks a justification: at most [`MAX_JUSTIFICATION_LEN`] bytes with no
/// control character ([`InvalidInput`](crate::ErrorKind::InvalidInput));
/// when `required` (an override), visible text too
/// ([`JustificationRequired`](crate::ErrorKind::JustificationRequired)).
///
/// ```
/// use fleetgov::{ErrorKind, validate_justification};
/// assert!(validate_justification("Rollback due to failed deployment", true).is_ok());
/// assert_eq!(validate_justification("\u{feff}\u{3000}", true).unwrap_err().kind(), ErrorKind::JustificationRequired);
/// assert_eq!(validate_justification("fix\0", true).unwrap_err().kind(), ErrorKind::InvalidInput);
/// assert!(validate_justification("", false).is_ok());
/// ```
pub fn validate_justification(justification: &str, required: bool) -> Result<()> {
    check_length("justification", justification, MAX_JUSTIFICATION_LEN)?;
    check_controls("justification", justification)?;
    if required && !has_visible_text(justification) {
        return Err(Error::new(ErrorKind::JustificationRequired, "justification has no visible text"));
    }
    Ok(())
}

/// Checks a cluster's owner team: empty (no team), or visible text of at
/// most [`MAX_OWNER_TEAM_LEN`] bytes with no control character;
/// [`InvalidInput`](crate::ErrorKind::InvalidInput) otherwise.
///
/// ```
/// assert!(fleetgov::validate_owner_team("").is_ok());
/// assert!(fleetgov::validate_owner_team("edge-platform").is_ok());
/// assert!(fleetgov::validate_owner_team(&"t".repeat(257)).is_err());
/// ```
pub fn validate_owner_team(team: &str) -> Result<()> {
    if team.is_empty() { Ok(()) } else { check_label("owner team", team, MAX_OWNER_TEAM_LEN) }
}

/// Checks a short label of `max` bytes (an actor, an audit target): visible
/// text, no control character.
pub(crate) fn check_label(what: &str, value: &str, max: usize) -> Result<()> {
    check_length(what, value, max)?;
    check_controls(what, value)?;
    if !has_visible_text(value) {
        return Err(Error::invalid(format!("{what} is blank (it has no visible text)")));
    }
    Ok(())
}

fn check_length(what: &str, value: &str, max: usize) -> Result<()> {
    if value.len() > max {
        return Err(Error::invalid(format!("{what} is {} bytes, longer than {max}", value.len())));
    }
    Ok(())
}

fn check_controls(what: &str, value: &str) -> Result<()> {
    match value.char_indices().find(|&(_, c)| c.is_control()) {
        Some((at, c)) => Err(Error::invalid(format!(
            "{what} contains the control character U+{:04X} at byte {at}; control characters are not allowed",
            u32::from(c)
        ))),
        None => Ok(()),
    }
}

/// Whether `value` holds a character that is neither white space, nor a
/// control, nor a format character.
pub(crate) fn has_visible_text(value: &str) -> bool {
    value.chars().any(is_visible)
}

/// Whether `c` is neither white space, nor a control, nor a format character.
pub(crate) fn is_visible(c: char) -> bool {
    !c.is_whitespace() && !c.is_control() && !is_format(c)
}

/// Whether `c` is a format character (Unicode general category Cf, as of
/// Unicode 16): invisible marks that steer rendering, such as zero-width
/// spaces and joiners, bidirectional controls and the byte order mark.
fn is_format(c: char) -> bool {
    const FORMAT: &[(u32, u32)] = &[
        (0x00AD, 0x00AD),
        (0x0600, 0x0605),
        (0x061C, 0x061C),
        (0x06DD, 0x06DD),
        (0x070F, 0x070F),
        (0x0890, 0x0891),
        (0x08E2, 0x08E2),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x2064),
        (0x2066, 0x206F),
        (0xFEFF, 0xFEFF),
        (0xFFF9, 0xFFFB),
        (0x110BD, 0x110BD),
        (0x110CD, 0x110CD),
        (0x13430, 0x1343F),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0001, 0xE0001),
        (0xE0020, 0xE007F),
    ];
    let c = u32::from(c);
    FORMAT.iter().any(|&(low, high)| (low..=high).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_characters_and_white_space_are_not_visible() {
        for invisible in ["", " ", "\u{a0}", "\u{3000}", "\u{200b}", "\u{feff}", "\u{2060}\u{200d}", "\u{e0041}"] {
            assert!(!has_visible_text(invisible), "{invisible:?}");
        }
        for visible in ["a", "\u{200b}x", "ü", "日本", "\u{1f680}", "-"] {
            assert!(has_visible_text(visible), "{visible:?}");
        }
    }

    #[test]
    fn limits_are_bytes_not_characters() {
        let at_limit = "é".repeat(MAX_ACTOR_LEN / 2);
        assert_eq!(at_limit.len(), MAX_ACTOR_LEN);
        assert!(validate_actor("actor", &at_limit).is_ok());
        let over = format!("{at_limit}e");
        assert!(validate_actor("actor", &over).unwrap_err().message().contains("257 bytes, longer than 256"));
        assert!(validate_justification(&"j".repeat(MAX_JUSTIFICATION_LEN), true).is_ok());
        assert!(validate_justification(&"j".repeat(MAX_JUSTIFICATION_LEN + 1), false).is_err());
    }

    #[test]
    fn every_c0_and_c1_control_is_refused_in_every_field() {
        let controls = (0u32..0x20).chain(0x7F..0xA0).filter_map(char::from_u32);
        for c in controls {
            let text = format!("fix {c} now");
            assert_eq!(validate_actor("actor", &text).unwrap_err().kind(), ErrorKind::InvalidInput, "{c:?}");
            assert_eq!(validate_justification(&text, true).unwrap_err().kind(), ErrorKind::InvalidInput, "{c:?}");
            assert_eq!(validate_justification(&text, false).unwrap_err().kind(), ErrorKind::InvalidInput, "{c:?}");
            assert_eq!(validate_owner_team(&text).unwrap_err().kind(), ErrorKind::InvalidInput, "{c:?}");
        }
    }
}
