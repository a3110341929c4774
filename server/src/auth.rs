//! Bearer-token authentication: a token from the configuration file stands
//! for an actor, a role and the workspaces it may see.
//!
//! Tokens are held as SHA-256 hashes ([`TokenHash`]), whether the
//! configuration gave the secret or its hash; a presented secret is hashed
//! and compared with every configured hash in constant time.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use fleetgov::Role;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::TokenConfig;
use crate::error::ApiError;

/// The workspaces a token may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every workspace.
    All,
    /// These workspaces.
    Only(BTreeSet<String>),
}

impl Scope {
    /// Whether `workspace` is inside the scope.
    pub fn allows(&self, workspace: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Only(set) => set.contains(workspace),
        }
    }
}

/// Who is calling: the actor, role and scope of the presented token.
///
/// ```
/// use fleetgov::Role;
/// use fleetgov_server::auth::{Principal, Scope};
/// let p = Principal { actor: "omar".into(), role: Role::Operator, scope: Scope::All };
/// assert!(p.require(Role::Operator).is_ok());
/// assert_eq!(p.require(Role::Admin).unwrap_err().status().as_u16(), 403);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The actor recorded in the audit log.
    pub actor: String,
    /// Viewer, operator or admin.
    pub role: Role,
    /// The workspaces it may see.
    pub scope: Scope,
}

impl Principal {
    /// The token's actor and role acting at `at_ms`: what an authority change
    /// made with this token is audited under.
    pub fn by(&self, at_ms: u64) -> fleetgov::By<'_> {
        fleetgov::By::new(&self.actor, self.role, at_ms)
    }

    /// 403 unless the role is at least `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("role {} may not do this; it needs {}", self.role.as_str(), role.as_str())))
        }
    }

    /// 403 unless the token sees every workspace (`"*"`): for what covers the
    /// whole fleet, like the metrics, the audit log's head, or `what`.
    pub fn require_every_workspace(&self, what: &str) -> Result<(), ApiError> {
        if self.scope == Scope::All {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("{what} needs a token of every workspace (\"*\")")))
        }
    }

    /// 403 unless `workspace` is inside the token's scope (for a workspace a
    /// request body names; the answer is the same whether it exists or not).
    pub fn check_workspace(&self, workspace: &str) -> Result<(), ApiError> {
        if self.scope.allows(workspace) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("this token may not see workspace '{workspace}'")))
        }
    }
}

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

/// A demo token as the dashboard's token picker lists it.
#[derive(Clone, Debug, Serialize)]
pub struct DemoToken {
    /// The token itself (demo tokens are public).
    pub token: String,
    /// Its actor.
    pub actor: String,
    /// Its role.
    pub role: Role,
}

/// The configured tokens, held as their SHA-256 hashes.
#[derive(Debug)]
pub struct Tokens {
    hashed: Vec<(TokenHash, Principal)>,
    /// `None` unless the configuration says `demo = true`.
    demo: Option<Vec<DemoToken>>,
}

impl Tokens {
    /// The tokens of a configuration; those marked `demo` are published
    /// only if `demo` (the configuration's own flag) is set.
    /// An entry with neither a token nor a hash (which validation refuses)
    /// stands for no token.
    pub fn new(configs: &[TokenConfig], demo: bool) -> Self {
        let hashed = configs
            .iter()
            .filter_map(|t| {
                let scope = if t.workspaces.iter().any(|w| w == "*") {
                    Scope::All
                } else {
                    Scope::Only(t.workspaces.iter().cloned().collect())
                };
                Some((t.hash()?, Principal { actor: t.actor.clone(), role: t.role, scope }))
            })
            .collect();
        let demo = demo.then(|| {
            configs
                .iter()
                .filter(|t| t.demo)
                .filter_map(|t| Some(DemoToken { token: t.token.clone()?, actor: t.actor.clone(), role: t.role }))
                .collect()
        });
        Tokens { hashed, demo }
    }

    /// The principal of a presented secret; 401 for an unknown one. The
    /// secret's hash is compared with every configured hash, each in constant
    /// time, with no early exit.
    pub fn authenticate(&self, secret: &str) -> Result<Principal, ApiError> {
        let presented = TokenHash::of(secret);
        let mut found = None;
        for (hash, principal) in &self.hashed {
            if hash.matches(&presented) {
                found = Some(principal);
            }
        }
        found.cloned().ok_or_else(|| ApiError::unauthenticated("unknown bearer token"))
    }

    /// The tokens marked `demo`; `None` unless the configuration says `demo = true`.
    pub fn demo(&self) -> Option<&[DemoToken]> {
        self.demo.as_deref()
    }
}

/// The secret of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthenticated("missing 'Authorization: Bearer <token>' header"))?;
    let value = value.to_str().map_err(|_| ApiError::unauthenticated("malformed Authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(ApiError::unauthenticated("the Authorization header must read 'Bearer <token>'")),
    }
}
