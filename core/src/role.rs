//! Roles of the people and services that act on the fleet.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What an actor may do: viewers force nothing, operators may force-sync a
/// node or a cluster, admins may also overwrite a whole fleet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read-only.
    Viewer,
    /// May publish and force-sync nodes and clusters.
    Operator,
    /// May do everything, including a global fleet overwrite.
    Admin,
}

impl Role {
    /// The lowercase name used in JSON and the bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Parses `viewer`, `operator` or `admin` (any case).
    ///
    /// ```
    /// assert_eq!(fleetgov::Role::parse("Admin").unwrap(), fleetgov::Role::Admin);
    /// assert!(fleetgov::Role::parse("root").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            _ => Err(Error::invalid(format!("role {s:?} is not one of viewer, operator, admin"))),
        }
    }
}
