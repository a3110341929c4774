//! Policies: named gateway rules with an order of strictness, and the
//! effective policy a runtime must run under each authority mode.
//!
//! # Rules and strictness
//!
//! A [`RuleSet`] maps rule names to typed [`RuleValue`]s. Every kind has its
//! own order, read "at least as strict as" (`≥`):
//!
//! | kind | example | stricter | [`stricter`](RuleValue::stricter) of two |
//! |---|---|---|---|
//! | [`Limit`](RuleValue::Limit) | `rate_limit_per_minute`, `max_body_bytes` | lower | minimum |
//! | [`Floor`](RuleValue::Floor) | `min_tls_version` | higher | maximum |
//! | [`AllowList`](RuleValue::AllowList) | `allowed_methods`, `cors_allowed_origins` | subset | intersection |
//! | [`DenyList`](RuleValue::DenyList) | `blocked_ips` | superset | union |
//! | [`Flag`](RuleValue::Flag) | `require_mtls` | `true` | `a \|\| b` |
//!
//! Values of different kinds are incomparable; merging them is
//! [`InvalidInput`](crate::ErrorKind::InvalidInput) naming the rule (and
//! [`Conflict`](crate::ErrorKind::Conflict) when a [`PolicyRegistry`] change
//! would bring such policies together).
//!
//! **A rule present on one side only.** An absent rule constrains nothing, so
//! it is the loosest value of every kind. Adding a constraint tightens: a
//! cloud rule the local policy lacks is added, and a local rule the cloud
//! lacks is kept. Lifted rule by rule, `a ≥ b` holds when every rule of `b`
//! is in `a` with a value `≥`, and [`RuleSet::tighten`] (every rule of both,
//! the stricter value where both have one) is the greatest lower bound:
//! commutative, associative, idempotent, with the empty set as identity, and
//! `a ≥ b` exactly when `a.tighten(b) == a`.
//!
//! # Authority modes
//!
//! [`effective_policy`] gives what a runtime must run from the cloud's rules
//! ([`PolicyRegistry::cloud_rules`]: every active org- and workspace-scoped
//! policy tightened together) and the runtime's local rules:
//! `authoritative` → the cloud's exactly; `tighten_only` → the stricter of
//! the two, rule by rule; `dev_override` → local wins rule by rule, for
//! development clusters only (otherwise
//! [`PermissionDenied`](crate::ErrorKind::PermissionDenied)).
//! [`loosenings`] lists the rules where a runtime's local policy would loosen
//! the cloud's, for the engine to surface.
//!
//! ```
//! # fn main() -> fleetgov::Result<()> {
//! use fleetgov::{AuthorityMode, Environment};
//! use fleetgov::policy::{effective_policy, loosenings, RuleSet, RuleValue};
//! let cloud = RuleSet::new()
//!     .with("rate_limit_per_minute", RuleValue::Limit(600))?
//!     .with("require_mtls", RuleValue::Flag(true))?;
//! let local = RuleSet::new()
//!     .with("rate_limit_per_minute", RuleValue::Limit(2000))?
//!     .with("blocked_ips", RuleValue::deny_list(["203.0.113.9"]))?;
//! let eff = effective_policy(AuthorityMode::TightenOnly, Environment::Staging, &cloud, &local)?;
//! assert!(eff.is_at_least_as_strict_as(&cloud) && eff.is_at_least_as_strict_as(&local));
//! assert_eq!(loosenings(&cloud, &local)?[0].rule, "rate_limit_per_minute");
//! # Ok(()) }
//! ```

mod changes;
mod effective;
mod registry;
mod rule;
mod rule_set;
mod scope;

pub use effective::{Loosening, effective_policy, loosenings};
pub use registry::PolicyRegistry;
pub use rule::{MAX_ENTRY_LEN, MAX_LIST_ENTRIES, RuleKind, RuleValue};
pub use rule_set::{MAX_RULES, RuleSet};
pub use scope::{Policy, PolicyScope};
