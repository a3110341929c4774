//! Signed notes (C2SP `signed-note`) with ed25519 keys: how checkpoints are
//! signed by the log owner and checked by anyone holding the public key.
//!
//! A signed note is a text ending in a newline, a blank line, and one or more
//! signature lines:
//!
//! ```text
//! <text, one or more lines, each ending in \n>
//!
//! — <key name> <base64(key id (4 bytes, big-endian) || ed25519 signature (64 bytes))>
//! ```
//!
//! The signature is over the text bytes (through its last newline). The key
//! id is the first four bytes of `SHA-256(key name || 0x0A || 0x01 || public key)`
//! (`0x01` is the ed25519 signature type). Public keys travel as verifier
//! keys `<name>+<key id, 8 hex digits>+<base64(0x01 || public key)>`, and
//! secret keys as `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>`.
//! These are the formats of Go's `golang.org/x/mod/sumdb/note`, so notes
//! from either side verify on the other; a test reproduces its published
//! example byte for byte.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, ErrorKind, Result};

/// The signature type byte of ed25519 in signed notes.
const ED25519: u8 = 0x01;
/// What starts a signature line: an em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// The most signature lines a note may carry (the specification asks
/// verifiers to accept at least 16 and to bound the number).
const MAX_SIGNATURES: usize = 100;

/// The log owner's secret signing key, with its name.
///
/// ```
/// use fleetgov::audit::CheckpointSigner;
/// let signer = CheckpointSigner::from_seed("fleetgov.example/audit", [7; 32]).unwrap();
/// let note = signer.sign_note("hello\n").unwrap();
/// let verifier = signer.verifier();
/// assert_eq!(verifier.open_note(&note).unwrap(), "hello\n");
/// // The public half travels as text:
/// let shared: fleetgov::audit::CheckpointVerifier = verifier.to_string().parse().unwrap();
/// assert_eq!(shared, verifier);
/// ```
pub struct CheckpointSigner {
    name: String,
    key: SigningKey,
    id: u32,
}

/// The public key that checks a log owner's signatures, with its name.
#[derive(Clone, PartialEq, Eq)]
pub struct CheckpointVerifier {
    name: String,
    key: VerifyingKey,
    id: u32,
}

fn check_key_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c.is_control() || c == '+') {
        return Err(Error::invalid(format!(
            "key name {name:?} must be non-empty, without spaces, control characters or '+'"
        )));
    }
    Ok(())
}

fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519]);
    h.update(public);
    let digest = h.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn hex32(what: &str, hex: &str) -> Result<[u8; 32]> {
    crate::ContentHash::from_hex(hex.trim())
        .map(|h| h.0)
        .map_err(|_| Error::invalid(format!("{what} must be 64 hex characters")))
}

/// Splits `<name>+<8 hex>+<base64(0x01 || 32 bytes)>`, checking the key id
/// against `public(key bytes)`.
fn parse_key_text(
    what: &str,
    text: &str,
    public: impl Fn(&[u8; 32]) -> Result<[u8; 32]>,
) -> Result<(String, [u8; 32])> {
    let bad = || Error::invalid(format!("{what} is not of the form <name>+<key id>+<base64 key>"));
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    check_key_name(name)?;
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return Err(bad());
    }
    let id = u32::from_str_radix(id_hex, 16).map_err(|_| bad())?;
    let raw = BASE64.decode(b64).map_err(|_| bad())?;
    let [ED25519, key @ ..] = raw.as_slice() else { return Err(bad()) };
    let key: [u8; 32] = key.try_into().map_err(|_| bad())?;
    if key_id(name, &public(&key)?) != id {
        return Err(Error::invalid(format!("{what}: key id {id_hex} does not match the key")));
    }
    Ok((name.to_string(), key))
}

fn key_text(name: &str, id: u32, key: &[u8; 32]) -> String {
    let mut raw = Vec::with_capacity(33);
    raw.push(ED25519);
    raw.extend_from_slice(key);
    format!("{name}+{id:08x}+{}", BASE64.encode(raw))
}

impl CheckpointSigner {
    /// A fresh key from the operating system's random source.
    pub fn generate(name: &str) -> Result<Self> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Error::new(ErrorKind::Io, format!("no randomness for a key: {e}")))?;
        Self::from_seed(name, seed)
    }

    /// The key with the 32-byte ed25519 secret `seed`.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self> {
        check_key_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, &key.verifying_key().to_bytes());
        Ok(CheckpointSigner { name: name.to_string(), key, id })
    }

    /// The key whose seed is given as 64 hex characters.
    pub fn from_hex(name: &str, seed_hex: &str) -> Result<Self> {
        Self::from_seed(name, hex32("signing key seed", seed_hex)?)
    }

    /// The 32-byte secret seed, to store the key. Keep it secret.
    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The secret key in the signed-note text form
    /// `PRIVATE+KEY+<name>+<key id>+<base64>`. Keep it secret.
    pub fn to_note_key(&self) -> String {
        format!("PRIVATE+KEY+{}", key_text(&self.name, self.id, &self.key.to_bytes()))
    }

    /// The key's name (a checkpoint's origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public half, to give to verifiers.
    pub fn verifier(&self) -> CheckpointVerifier {
        CheckpointVerifier { name: self.name.clone(), key: self.key.verifying_key(), id: self.id }
    }

    /// Signs `text` (non-empty, ending in a newline, no blank line, no control
    /// characters other than newlines) and returns the signed note.
    pub fn sign_note(&self, text: &str) -> Result<String> {
        if !text.ends_with('\n') || text.starts_with('\n') || text.contains("\n\n") {
            return Err(Error::invalid("note text must be non-blank lines, each ending in a newline"));
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::invalid("note text contains a control character"));
        }
        let signature = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.id.to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!("{text}\n{SIG_PREFIX}{} {}\n", self.name, BASE64.encode(blob)))
    }

    /// The bare ed25519 signature of `message`, for envelopes other than
    /// signed notes (DSSE). Deterministic, as every ed25519 signature is.
    pub(crate) fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

impl FromStr for CheckpointSigner {
    type Err = Error;

    /// Parses `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>`.
    fn from_str(s: &str) -> Result<Self> {
        let rest = s
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| Error::invalid("a signing key starts with PRIVATE+KEY+"))?;
        let (name, seed) =
            parse_key_text("signing key", rest, |seed| Ok(SigningKey::from_bytes(seed).verifying_key().to_bytes()))?;
        Self::from_seed(&name, seed)
    }
}

impl fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret.
        f.debug_struct("CheckpointSigner").field("verifier", &self.verifier().to_string()).finish()
    }
}

impl CheckpointVerifier {
    /// The verifier for the 32-byte ed25519 public key `public`.
    pub fn from_bytes(name: &str, public: [u8; 32]) -> Result<Self> {
        check_key_name(name)?;
        let key = VerifyingKey::from_bytes(&public).map_err(|_| Error::invalid("not an ed25519 public key"))?;
        if key.is_weak() {
            return Err(Error::invalid("a weak (small-order) ed25519 public key"));
        }
        Ok(CheckpointVerifier { name: name.to_string(), key, id: key_id(name, &public) })
    }

    /// The verifier for a public key given as 64 hex characters.
    pub fn from_hex(name: &str, public_hex: &str) -> Result<Self> {
        Self::from_bytes(name, hex32("public key", public_hex)?)
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The key's name (the origin of the checkpoints it signs).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id that signature lines carry.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// Whether `signature` is this key's valid (strict) ed25519 signature of `message`.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_slice(signature).is_ok_and(|sig| self.key.verify_strict(message, &sig).is_ok())
    }

    /// Checks `note` and returns its text (through the last text newline).
    ///
    /// The rules of C2SP `signed-note`: the text and the signatures are
    /// split at the note's last blank line; no ASCII control character
    /// other than a newline anywhere; at most 100 signature lines, each `—
    /// <key name> <base64(key id || signature)>`. Signatures of other keys
    /// (another name or another key id) are ignored; a signature of this key
    /// that does not verify rejects the whole note.
    ///
    /// Malformed notes are [`InvalidInput`](ErrorKind::InvalidInput); a note
    /// without a valid signature by this key, or with a bad one, is
    /// [`AuditTampered`](ErrorKind::AuditTampered).
    pub fn open_note<'a>(&self, note: &'a str) -> Result<&'a str> {
        let malformed = |why: &str| Error::invalid(format!("malformed signed note: {why}"));
        if !note.ends_with('\n') {
            return Err(malformed("it does not end in a newline"));
        }
        if note.bytes().any(|b| b < 0x20 && b != b'\n') {
            return Err(malformed("it contains a control character"));
        }
        let split = note.rfind("\n\n").ok_or_else(|| malformed("no blank line before the signatures"))?;
        let (text, signatures) = (&note[..=split], &note[split + 2..]);
        if signatures.is_empty() {
            return Err(malformed("no signature"));
        }
        if signatures.split_terminator('\n').count() > MAX_SIGNATURES {
            return Err(malformed("more than 100 signatures"));
        }
        let mut verified = false;
        for line in signatures.split_terminator('\n') {
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or_else(|| malformed("a signature line must start with an em dash"))?;
            let (name, b64) =
                rest.split_once(' ').ok_or_else(|| malformed("a signature line needs a name and a signature"))?;
            check_key_name(name)?;
            let blob = BASE64.decode(b64).map_err(|_| malformed("a signature is not base64"))?;
            let Some((id, signature)) = blob.split_first_chunk::<4>() else {
                return Err(malformed("a signature is shorter than its key id"));
            };
            if name != self.name || u32::from_be_bytes(*id) != self.id {
                continue;
            }
            if !self.verifies(text.as_bytes(), signature) {
                return Err(Error::new(
                    ErrorKind::AuditTampered,
                    format!("note for key {:?}: its signature does not verify", self.name),
                ));
            }
            verified = true;
        }
        if !verified {
            return Err(Error::new(
                ErrorKind::AuditTampered,
                format!("note for key {:?}: it carries no signature by this key", self.name),
            ));
        }
        Ok(text)
    }
}

impl fmt::Display for CheckpointVerifier {
    /// The verifier key text `<name>+<key id>+<base64(0x01 || public key)>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&key_text(&self.name, self.id, &self.key.to_bytes()))
    }
}

impl fmt::Debug for CheckpointVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CheckpointVerifier({self})")
    }
}

impl FromStr for CheckpointVerifier {
    type Err = Error;

    /// Parses `<name>+<key id>+<base64(0x01 || public key)>`.
    fn from_str(s: &str) -> Result<Self> {
        let (name, public) = parse_key_text("verifier key", s.trim(), |public| Ok(*public))?;
        Self::from_bytes(&name, public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The published example of Go's golang.org/x/mod/sumdb/note package.
    const GO_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_TEXT: &str =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const GO_NOTE_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn reproduces_the_go_note_example_byte_for_byte() {
        let signer: CheckpointSigner = GO_SKEY.parse().unwrap();
        assert_eq!(signer.to_note_key(), GO_SKEY);
        assert_eq!(signer.verifier().to_string(), GO_VKEY);
        let note = signer.sign_note(GO_TEXT).unwrap();
        assert_eq!(note, format!("{GO_TEXT}\n{GO_NOTE_SIG}"));
        let verifier: CheckpointVerifier = GO_VKEY.parse().unwrap();
        assert_eq!(verifier.open_note(&note).unwrap(), GO_TEXT);
        let forged = note.replace("cryptography", "cryptographY");
        assert_eq!(verifier.open_note(&forged).unwrap_err().kind(), ErrorKind::AuditTampered);
    }

    #[test]
    fn other_keys_signatures_are_ignored_but_not_trusted() {
        let a = CheckpointSigner::from_seed("a.example/log", [1; 32]).unwrap();
        let b = CheckpointSigner::from_seed("b.example/log", [2; 32]).unwrap();
        let by_b = b.sign_note("x\n").unwrap();
        assert_eq!(a.verifier().open_note(&by_b).unwrap_err().kind(), ErrorKind::AuditTampered);
        // A note signed by both verifies for each.
        let by_a = a.sign_note("x\n").unwrap();
        let both = format!("{by_a}{}", by_b.split_once("\n\n").unwrap().1);
        assert_eq!(a.verifier().open_note(&both).unwrap(), "x\n");
        assert_eq!(b.verifier().open_note(&both).unwrap(), "x\n");
        // Same name, different key: the key id differs, so no signature counts.
        let imposter = CheckpointSigner::from_seed("a.example/log", [3; 32]).unwrap();
        assert!(a.verifier().open_note(&imposter.sign_note("x\n").unwrap()).is_err());
    }

    #[test]
    fn a_bad_signature_of_the_known_key_rejects_the_note_even_beside_a_good_one() {
        let s = CheckpointSigner::from_seed("log", [5; 32]).unwrap();
        let good = s.sign_note("a\n").unwrap();
        let line = good.split_once("\n\n").unwrap().1;
        let mut blob = BASE64.decode(line.trim_end().rsplit_once(' ').unwrap().1).unwrap();
        blob[10] ^= 1;
        let bad_line = format!("{SIG_PREFIX}log {}\n", BASE64.encode(blob));
        for note in [format!("a\n\n{bad_line}{line}"), format!("a\n\n{line}{bad_line}")] {
            assert_eq!(s.verifier().open_note(&note).unwrap_err().kind(), ErrorKind::AuditTampered, "{note}");
        }
    }

    #[test]
    fn signature_count_is_bounded_but_sixteen_are_accepted() {
        let s = CheckpointSigner::from_seed("log", [5; 32]).unwrap();
        let other = CheckpointSigner::from_seed("other", [6; 32]).unwrap();
        let ours = s.sign_note("a\n").unwrap();
        let theirs = other.sign_note("a\n").unwrap();
        let their_line = theirs.split_once("\n\n").unwrap().1;
        let with = |n: usize| format!("{ours}{}", their_line.repeat(n));
        assert_eq!(s.verifier().open_note(&with(15)).unwrap(), "a\n");
        assert_eq!(s.verifier().open_note(&with(99)).unwrap(), "a\n");
        assert_eq!(s.verifier().open_note(&with(100)).unwrap_err().kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn key_loading_rules() {
        let s = CheckpointSigner::from_seed("log", [5; 32]).unwrap();
        let seed_hex: String = s.seed().iter().map(|b| format!("{b:02x}")).collect();
        let pub_hex: String = s.verifier().public_key().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(CheckpointSigner::from_hex("log", &seed_hex).unwrap().verifier(), s.verifier());
        assert_eq!(CheckpointVerifier::from_hex("log", &pub_hex).unwrap(), s.verifier());
        for bad_name in ["", "a b", "a+b", "a\nb"] {
            assert!(CheckpointSigner::from_seed(bad_name, [5; 32]).is_err(), "{bad_name:?}");
        }
        assert!(CheckpointSigner::from_hex("log", "00").is_err());
        assert!(CheckpointVerifier::from_hex("log", &"zz".repeat(32)).is_err());
        // A key id that does not match the key, a wrong type byte, bad base64.
        for bad in [
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+Alpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
            "PeterNeumann+c74f20a3",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ] {
            assert!(bad.parse::<CheckpointVerifier>().is_err(), "{bad}");
        }
        assert!(GO_VKEY.parse::<CheckpointSigner>().is_err());
        let generated = CheckpointSigner::generate("log").unwrap();
        assert_ne!(generated.seed(), CheckpointSigner::generate("log").unwrap().seed());
        assert!(!format!("{generated:?}").contains(&format!("{:?}", generated.seed())));
    }

    #[test]
    fn malformed_notes_and_texts() {
        let s = CheckpointSigner::from_seed("log", [5; 32]).unwrap();
        for bad_text in ["", "no newline", "\nleading\n", "a\n\nb\n", "tab\there\n"] {
            assert!(s.sign_note(bad_text).is_err(), "{bad_text:?}");
        }
        let v = s.verifier();
        let good = s.sign_note("a\n").unwrap();
        for bad in [
            good.trim_end().to_string(),
            good.replace("\n\n", "\n"),
            good.replace('\u{2014}', "-"),
            "a\n\n".to_string(),
            good.replacen("a\n", "a\t\n", 1),
            good.replacen("\n\n", "\n\r\n", 1),
        ] {
            assert_eq!(v.open_note(&bad).unwrap_err().kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
    }
}
