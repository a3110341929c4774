//! Bearer-token authentication: a token from the configuration file stands
//! for an actor, a role and the workspaces it may see.
//!
//! Tokens are held as SHA-256 hashes ([`TokenHash`]), whether the
//! configuration gave the secret or its hash; a presented secret is hashed
//! and compared with every configured hash in constant time.

use std::collections::BTreeSet;

use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use fleetgov::Role;
use serde::Serialize;

use crate::config::TokenConfig;
use crate::error::ApiError;
pub use crate::token_hash::TokenHash;

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
