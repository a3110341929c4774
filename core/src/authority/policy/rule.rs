//! One rule's value and its order of strictness.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The longest allow-list or deny-list entry accepted, in bytes.
pub const MAX_ENTRY_LEN: usize = 512;

/// The most entries one allow-list or deny-list may hold.
pub const MAX_LIST_ENTRIES: usize = 10_000;

/// The kind of a rule; two values of different kinds have no common order.
///
/// ```
/// use fleetgov::policy::{RuleKind, RuleValue};
/// assert_eq!(RuleValue::Limit(600).kind(), RuleKind::Limit);
/// assert_eq!(RuleKind::DenyList.as_str(), "deny_list");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// An upper limit: lower is stricter.
    Limit,
    /// A lower bound: higher is stricter.
    Floor,
    /// An allow-list: a subset is stricter.
    AllowList,
    /// A deny-list: a superset is stricter.
    DenyList,
    /// An enforcement flag: `true` (enforced) is stricter.
    Flag,
}

impl RuleKind {
    /// The name used in JSON (`limit`, `floor`, `allow_list`, `deny_list`, `flag`).
    ///
    /// ```
    /// assert_eq!(fleetgov::policy::RuleKind::AllowList.as_str(), "allow_list");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Limit => "limit",
            RuleKind::Floor => "floor",
            RuleKind::AllowList => "allow_list",
            RuleKind::DenyList => "deny_list",
            RuleKind::Flag => "flag",
        }
    }
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The typed value of one policy rule.
///
/// Each kind carries its own order of strictness (see
/// [`is_at_least_as_strict_as`](RuleValue::is_at_least_as_strict_as)) and
/// [`stricter`](RuleValue::stricter) gives the least strict value that is at
/// least as strict as both operands (the meet of the order).
///
/// In JSON a value is `{"kind": ..., "value": ...}`:
///
/// ```
/// use fleetgov::policy::RuleValue;
/// let methods = RuleValue::allow_list(["GET", "POST"]);
/// assert_eq!(
///     serde_json::to_string(&methods).unwrap(),
///     r#"{"kind":"allow_list","value":["GET","POST"]}"#
/// );
/// assert_eq!(serde_json::to_string(&RuleValue::Limit(600)).unwrap(), r#"{"kind":"limit","value":600}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum RuleValue {
    /// An upper limit such as requests per minute or maximum body bytes;
    /// the lower value is stricter.
    Limit(u64),
    /// A lower bound such as a minimum TLS version (`12` for 1.2) or a
    /// minimum key size; the higher value is stricter.
    Floor(u64),
    /// Entries that are allowed (HTTP methods, CORS origins); everything
    /// else is refused. A subset is stricter; the empty list allows nothing.
    AllowList(BTreeSet<String>),
    /// Entries that are refused (client IPs or CIDRs, user agents); a
    /// superset is stricter.
    DenyList(BTreeSet<String>),
    /// An enforcement switch such as `require_mtls`; `true` is stricter.
    Flag(bool),
}

impl RuleValue {
    /// An allow-list of `entries` (duplicates collapse). Entries are compared
    /// byte for byte; normalise them (e.g. upper-case methods) before.
    ///
    /// ```
    /// use fleetgov::policy::RuleValue;
    /// let v = RuleValue::allow_list(["GET", "GET", "HEAD"]);
    /// assert_eq!(v, RuleValue::allow_list(["HEAD", "GET"]));
    /// ```
    pub fn allow_list<S: Into<String>>(entries: impl IntoIterator<Item = S>) -> Self {
        RuleValue::AllowList(entries.into_iter().map(Into::into).collect())
    }

    /// A deny-list of `entries` (duplicates collapse), compared byte for byte.
    ///
    /// ```
    /// use fleetgov::policy::RuleValue;
    /// let v = RuleValue::deny_list(["203.0.113.0/24"]);
    /// assert!(v.is_at_least_as_strict_as(&RuleValue::deny_list(Vec::<String>::new())));
    /// ```
    pub fn deny_list<S: Into<String>>(entries: impl IntoIterator<Item = S>) -> Self {
        RuleValue::DenyList(entries.into_iter().map(Into::into).collect())
    }

    /// The kind of this value.
    ///
    /// ```
    /// use fleetgov::policy::{RuleKind, RuleValue};
    /// assert_eq!(RuleValue::Flag(true).kind(), RuleKind::Flag);
    /// ```
    pub fn kind(&self) -> RuleKind {
        match self {
            RuleValue::Limit(_) => RuleKind::Limit,
            RuleValue::Floor(_) => RuleKind::Floor,
            RuleValue::AllowList(_) => RuleKind::AllowList,
            RuleValue::DenyList(_) => RuleKind::DenyList,
            RuleValue::Flag(_) => RuleKind::Flag,
        }
    }

    /// Whether `self` constrains at least as much as `other`: a lower or equal
    /// limit, a higher or equal floor, a subset allow-list, a superset
    /// deny-list, a flag that is on or equal. Values of different kinds are
    /// incomparable (`false` both ways). The relation is a partial order:
    /// reflexive, antisymmetric and transitive.
    ///
    /// ```
    /// use fleetgov::policy::RuleValue;
    /// assert!(RuleValue::Limit(100).is_at_least_as_strict_as(&RuleValue::Limit(600)));
    /// assert!(!RuleValue::Limit(600).is_at_least_as_strict_as(&RuleValue::Limit(100)));
    /// // Neither allow-list contains the other: incomparable.
    /// let a = RuleValue::allow_list(["GET", "PUT"]);
    /// let b = RuleValue::allow_list(["GET", "POST"]);
    /// assert!(!a.is_at_least_as_strict_as(&b) && !b.is_at_least_as_strict_as(&a));
    /// ```
    pub fn is_at_least_as_strict_as(&self, other: &RuleValue) -> bool {
        match (self, other) {
            (RuleValue::Limit(a), RuleValue::Limit(b)) => a <= b,
            (RuleValue::Floor(a), RuleValue::Floor(b)) => a >= b,
            (RuleValue::AllowList(a), RuleValue::AllowList(b)) => a.is_subset(b),
            (RuleValue::DenyList(a), RuleValue::DenyList(b)) => a.is_superset(b),
            (RuleValue::Flag(a), RuleValue::Flag(b)) => *a || !*b,
            _ => false,
        }
    }

    /// The least strict value that is at least as strict as both: the lower
    /// limit, the higher floor, the intersection of allow-lists, the union of
    /// deny-lists, `a || b` for flags. Commutative, associative, idempotent.
    ///
    /// Values of different kinds are [`InvalidInput`](crate::ErrorKind::InvalidInput).
    ///
    /// ```
    /// use fleetgov::policy::RuleValue;
    /// let cloud = RuleValue::deny_list(["198.51.100.7"]);
    /// let local = RuleValue::deny_list(["203.0.113.0/24"]);
    /// assert_eq!(
    ///     cloud.stricter(&local).unwrap(),
    ///     RuleValue::deny_list(["198.51.100.7", "203.0.113.0/24"])
    /// );
    /// assert!(RuleValue::Limit(1).stricter(&RuleValue::Flag(true)).is_err());
    /// ```
    pub fn stricter(&self, other: &RuleValue) -> Result<RuleValue> {
        Ok(match (self, other) {
            (RuleValue::Limit(a), RuleValue::Limit(b)) => RuleValue::Limit(*a.min(b)),
            (RuleValue::Floor(a), RuleValue::Floor(b)) => RuleValue::Floor(*a.max(b)),
            (RuleValue::AllowList(a), RuleValue::AllowList(b)) => {
                RuleValue::AllowList(a.intersection(b).cloned().collect())
            }
            (RuleValue::DenyList(a), RuleValue::DenyList(b)) => RuleValue::DenyList(a.union(b).cloned().collect()),
            (RuleValue::Flag(a), RuleValue::Flag(b)) => RuleValue::Flag(*a || *b),
            _ => return Err(kind_mismatch(self.kind(), other.kind())),
        })
    }

    /// Checks the entries of a list: each non-blank, without surrounding
    /// whitespace or control characters, at most [`MAX_ENTRY_LEN`] bytes, and
    /// at most [`MAX_LIST_ENTRIES`] of them. Numbers and flags are always valid.
    ///
    /// ```
    /// use fleetgov::policy::RuleValue;
    /// assert!(RuleValue::allow_list(["https://app.example.com"]).validate().is_ok());
    /// assert!(RuleValue::allow_list([" GET"]).validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<()> {
        let entries = match self {
            RuleValue::AllowList(e) | RuleValue::DenyList(e) => e,
            RuleValue::Limit(_) | RuleValue::Floor(_) | RuleValue::Flag(_) => return Ok(()),
        };
        if entries.len() > MAX_LIST_ENTRIES {
            return Err(Error::invalid(format!(
                "{} has {} entries; at most {MAX_LIST_ENTRIES} are allowed",
                self.kind(),
                entries.len()
            )));
        }
        for entry in entries {
            if entry.is_empty() || entry.len() > MAX_ENTRY_LEN {
                return Err(Error::invalid(format!(
                    "{} entry must be 1 to {MAX_ENTRY_LEN} bytes, got {} bytes",
                    self.kind(),
                    entry.len()
                )));
            }
            if entry.trim() != entry || entry.chars().any(char::is_control) {
                return Err(Error::invalid(format!(
                    "{} entry {entry:?} has surrounding whitespace or control characters",
                    self.kind()
                )));
            }
        }
        Ok(())
    }
}

/// The error for two values of different kinds under one rule name.
pub(super) fn kind_mismatch(a: RuleKind, b: RuleKind) -> Error {
    Error::invalid(format!("a {a} and a {b} have no common order of strictness"))
}

impl fmt::Display for RuleValue {
    /// A compact form for messages: `limit 600`, `allow_list [GET, POST]`, `flag on`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleValue::Limit(n) | RuleValue::Floor(n) => write!(f, "{} {n}", self.kind()),
            RuleValue::AllowList(e) | RuleValue::DenyList(e) => write!(f, "{} {}", self.kind(), Entries(e)),
            RuleValue::Flag(on) => write!(f, "flag {}", if *on { "on" } else { "off" }),
        }
    }
}

/// Shows list entries as `[a, b]`, in order.
pub(super) struct Entries<'a>(pub(super) &'a BTreeSet<String>);

impl fmt::Display for Entries<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, entry) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(entry)?;
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn rate_limits_lower_is_stricter() {
        let cloud = RuleValue::Limit(600);
        let local = RuleValue::Limit(1200);
        assert!(cloud.is_at_least_as_strict_as(&local));
        assert!(!local.is_at_least_as_strict_as(&cloud));
        assert_eq!(cloud.stricter(&local).unwrap(), RuleValue::Limit(600));
    }

    #[test]
    fn min_tls_version_higher_is_stricter() {
        let tls13 = RuleValue::Floor(13);
        let tls12 = RuleValue::Floor(12);
        assert!(tls13.is_at_least_as_strict_as(&tls12));
        assert!(!tls12.is_at_least_as_strict_as(&tls13));
        assert_eq!(tls12.stricter(&tls13).unwrap(), tls13);
    }

    #[test]
    fn cors_origins_intersect() {
        let cloud = RuleValue::allow_list(["https://app.example.com", "https://admin.example.com"]);
        let local = RuleValue::allow_list(["https://app.example.com", "http://localhost:3000"]);
        assert_eq!(cloud.stricter(&local).unwrap(), RuleValue::allow_list(["https://app.example.com"]));
        let disjoint = RuleValue::allow_list(["https://other.example.org"]);
        assert_eq!(
            cloud.stricter(&disjoint).unwrap(),
            RuleValue::AllowList(BTreeSet::new()),
            "disjoint allow-lists leave nothing allowed"
        );
    }

    #[test]
    fn ip_deny_lists_unite() {
        let cloud = RuleValue::deny_list(["198.51.100.7"]);
        let local = RuleValue::deny_list(["198.51.100.7", "203.0.113.0/24"]);
        assert!(local.is_at_least_as_strict_as(&cloud));
        assert!(!cloud.is_at_least_as_strict_as(&local));
        assert_eq!(cloud.stricter(&local).unwrap(), local);
    }

    #[test]
    fn mtls_flag_on_is_stricter() {
        let on = RuleValue::Flag(true);
        let off = RuleValue::Flag(false);
        assert!(on.is_at_least_as_strict_as(&off));
        assert!(!off.is_at_least_as_strict_as(&on));
        assert!(off.is_at_least_as_strict_as(&off));
        assert_eq!(off.stricter(&on).unwrap(), on);
        assert_eq!(off.stricter(&off).unwrap(), off);
    }

    #[test]
    fn different_kinds_are_incomparable_and_do_not_merge() {
        let a = RuleValue::Limit(0);
        let b = RuleValue::Flag(true);
        assert!(!a.is_at_least_as_strict_as(&b));
        assert!(!b.is_at_least_as_strict_as(&a));
        let e = a.stricter(&b).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains("limit") && e.message().contains("flag"), "{e}");
        // An allow-list and a deny-list hold the same type but are different kinds.
        assert!(RuleValue::allow_list(["a"]).stricter(&RuleValue::deny_list(["a"])).is_err());
    }

    #[test]
    fn malformed_entries_are_invalid_input() {
        let long = "x".repeat(MAX_ENTRY_LEN + 1);
        for bad in ["", " GET", "GET ", "a\nb", "\u{7f}", long.as_str()] {
            let e = RuleValue::deny_list([bad]).validate().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
        let too_many = RuleValue::deny_list((0..=MAX_LIST_ENTRIES).map(|i| i.to_string()));
        assert_eq!(too_many.validate().unwrap_err().kind(), ErrorKind::InvalidInput);
        assert!(RuleValue::deny_list(["10.0.0.0/8", "2001:db8::/32"]).validate().is_ok());
    }

    #[test]
    fn json_round_trips_every_kind() {
        for v in [
            RuleValue::Limit(1_048_576),
            RuleValue::Floor(12),
            RuleValue::allow_list(["GET", "HEAD"]),
            RuleValue::deny_list(["203.0.113.9"]),
            RuleValue::Flag(true),
        ] {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<RuleValue>(&json).unwrap(), v, "{json}");
        }
        assert!(serde_json::from_str::<RuleValue>(r#"{"kind":"limit","value":-1}"#).is_err());
        assert!(serde_json::from_str::<RuleValue>(r#"{"kind":"quota","value":1}"#).is_err());
    }

    #[test]
    fn display_is_compact() {
        assert_eq!(RuleValue::allow_list(["GET", "POST"]).to_string(), "allow_list [GET, POST]");
        assert_eq!(RuleValue::Flag(false).to_string(), "flag off");
        assert_eq!(RuleValue::Limit(600).to_string(), "limit 600");
    }
}
