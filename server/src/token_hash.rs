//! How the server holds a bearer token: its SHA-256, compared in constant
//! time. The configuration may give a token this way, so that the file
//! holds no secret.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 of a bearer token: how the server holds every token, and how
/// the configuration may give one (`token_sha256`, 64 hexadecimal digits)
/// so that the file holds no secret. Compared only in constant time
/// ([`TokenHash::matches`]); it has no `==`.
///
/// ```
/// use fleetgov_server::auth::TokenHash;
/// // printf %s change-me-admin-token | sha256sum
/// let stored: TokenHash = "9540e286914d31302d13288dadf5f462f951cd3fcda9877be1437a9ced6ccb68".parse().unwrap();
/// assert!(stored.matches(&TokenHash::of("change-me-admin-token")));
/// assert!(!stored.matches(&TokenHash::of("change-me-admin-token ")));
/// assert!("9540e286".parse::<TokenHash>().unwrap_err().contains("64 hexadecimal digits"));
/// ```
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of `secret` (its UTF-8 bytes, as sent in the header).
    pub fn of(secret: &str) -> Self {
        TokenHash(Sha256::digest(secret.as_bytes()).into())
    }

    /// Whether both are the hash of the same token, in time independent of
    /// where they differ.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl FromStr for TokenHash {
    type Err = String;

    /// 64 hexadecimal digits, either case.
    fn from_str(hex: &str) -> Result<Self, String> {
        let malformed = |what: String| {
            format!(
                "token_sha256 must be 64 hexadecimal digits, the SHA-256 of the token \
                 (printf %s \"$TOKEN\" | sha256sum); {what}"
            )
        };
        let digits = hex.as_bytes();
        if digits.len() != 64 {
            return Err(malformed(format!("this one has {} characters", hex.chars().count())));
        }
        let mut hash = [0u8; 32];
        for (byte, pair) in hash.iter_mut().zip(digits.chunks_exact(2)) {
            match (hex_digit(pair[0]), hex_digit(pair[1])) {
                (Some(high), Some(low)) => *byte = high << 4 | low,
                _ => return Err(malformed("this one has a character that is not a hexadecimal digit".into())),
            }
        }
        Ok(TokenHash(hash))
    }
}

impl TryFrom<String> for TokenHash {
    type Error = String;

    fn try_from(hex: String) -> Result<Self, String> {
        hex.parse()
    }
}

/// The value of one hexadecimal digit.
fn hex_digit(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

impl fmt::Debug for TokenHash {
    /// Redacted: a hash of a short secret is as good as the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}
