//! The policy a runtime must run, per authority mode, and where a runtime's
//! local policy would loosen the cloud's.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::rule::{Entries, RuleValue};
use super::rule_set::RuleSet;
use crate::authority::cluster_spec::Environment;
use crate::authority::workspace::AuthorityMode;
use crate::error::{Error, ErrorKind, Result};

/// The effective policy of a runtime in a cluster of `environment`, from the
/// cloud's rules and the runtime's local rules:
///
/// - [`Authoritative`](AuthorityMode::Authoritative): exactly `cloud`; local
///   rules are ignored, kinds are not checked.
/// - [`TightenOnly`](AuthorityMode::TightenOnly): [`cloud.tighten(local)`](RuleSet::tighten),
///   the stricter of the two rule by rule; a rule on one side only is kept.
/// - [`DevOverride`](AuthorityMode::DevOverride): `local` takes precedence
///   rule by rule; cloud rules the local policy does not mention still apply.
///   Refused with [`PermissionDenied`](ErrorKind::PermissionDenied) unless
///   `environment` is [`Development`](Environment::Development): the request
///   is well-formed, the mode is not permitted for that cluster.
///
/// Where the local policy is used (tighten_only, dev_override), a rule with
/// different kinds on the two sides is [`InvalidInput`](ErrorKind::InvalidInput).
///
/// ```
/// # fn main() -> fleetgov::Result<()> {
/// use fleetgov::{AuthorityMode, Environment, ErrorKind};
/// use fleetgov::policy::{effective_policy, RuleSet, RuleValue};
/// let cloud = RuleSet::new().with("rate_limit_per_minute", RuleValue::Limit(600))?;
/// let local = RuleSet::new().with("rate_limit_per_minute", RuleValue::Limit(5000))?;
///
/// let strict = effective_policy(AuthorityMode::TightenOnly, Environment::Production, &cloud, &local)?;
/// assert_eq!(strict.get("rate_limit_per_minute"), Some(&RuleValue::Limit(600)));
///
/// let dev = effective_policy(AuthorityMode::DevOverride, Environment::Development, &cloud, &local)?;
/// assert_eq!(dev.get("rate_limit_per_minute"), Some(&RuleValue::Limit(5000)));
///
/// let refused = effective_policy(AuthorityMode::DevOverride, Environment::Production, &cloud, &local);
/// assert_eq!(refused.unwrap_err().kind(), ErrorKind::PermissionDenied);
/// # Ok(()) }
/// ```
pub fn effective_policy(
    mode: AuthorityMode,
    environment: Environment,
    cloud: &RuleSet,
    local: &RuleSet,
) -> Result<RuleSet> {
    match mode {
        AuthorityMode::Authoritative => Ok(cloud.clone()),
        AuthorityMode::TightenOnly => cloud.tighten(local).map_err(against_cloud),
        AuthorityMode::DevOverride => {
            if environment != Environment::Development {
                return Err(Error::new(
                    ErrorKind::PermissionDenied,
                    format!(
                        "dev_override applies to DEVELOPMENT clusters only; this cluster is {}",
                        environment.as_str()
                    ),
                ));
            }
            cloud.check_kinds(local).map_err(against_cloud)?;
            cloud.overlaid_with(local).map_err(against_cloud)
        }
    }
}

/// Puts "local policy against cloud policy" in front of an error.
fn against_cloud(e: Error) -> Error {
    e.context("local policy against cloud policy")
}

/// One rule where a runtime's local policy would loosen the cloud's: both
/// declare the rule and the local value is not
/// [at least as strict](RuleValue::is_at_least_as_strict_as) as the cloud's.
///
/// Serialised as `{"rule", "cloud", "local"}`; `Display` says
/// what exactly is looser.
///
/// ```
/// use fleetgov::policy::{Loosening, RuleValue};
/// let f = Loosening {
///     rule: "cors_allowed_origins".into(),
///     cloud: RuleValue::allow_list(["https://app.example.com"]),
///     local: RuleValue::allow_list(["https://app.example.com", "*"]),
/// };
/// assert_eq!(f.to_string(), "cors_allowed_origins: local allows [*] beyond cloud");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loosening {
    /// The rule name.
    pub rule: String,
    /// The cloud's value.
    pub cloud: RuleValue,
    /// The runtime's local value, looser than or incomparable with `cloud`.
    pub local: RuleValue,
}

/// Every rule, in name order, where `local` would loosen `cloud`.
///
/// Only rules both sides declare are compared: a cloud rule the local policy
/// lacks is not a finding (the runtime does not contradict it, and
/// tighten_only adds it), and a local-only rule only adds a constraint. A
/// rule with different kinds on the two sides is
/// [`InvalidInput`](ErrorKind::InvalidInput).
///
/// ```
/// # fn main() -> fleetgov::Result<()> {
/// use fleetgov::policy::{loosenings, RuleSet, RuleValue};
/// let cloud = RuleSet::new()
///     .with("require_mtls", RuleValue::Flag(true))?
///     .with("rate_limit_per_minute", RuleValue::Limit(600))?;
/// let local = RuleSet::new()
///     .with("require_mtls", RuleValue::Flag(false))?
///     .with("rate_limit_per_minute", RuleValue::Limit(100))?;
/// let found = loosenings(&cloud, &local)?;
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].rule, "require_mtls");
/// # Ok(()) }
/// ```
pub fn loosenings(cloud: &RuleSet, local: &RuleSet) -> Result<Vec<Loosening>> {
    cloud.check_kinds(local).map_err(against_cloud)?;
    Ok(cloud
        .shared(local)
        .filter(|(_, c, l)| !l.is_at_least_as_strict_as(c))
        .map(|(rule, c, l)| Loosening { rule: rule.to_owned(), cloud: c.clone(), local: l.clone() })
        .collect())
}

impl fmt::Display for Loosening {
    /// `rule: what is looser`, e.g. `blocked_ips: local does not deny [198.51.100.7]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.rule)?;
        match (&self.cloud, &self.local) {
            (RuleValue::Limit(c), RuleValue::Limit(l)) => {
                write!(f, "local limit {l} is above cloud limit {c}")
            }
            (RuleValue::Floor(c), RuleValue::Floor(l)) => {
                write!(f, "local floor {l} is below cloud floor {c}")
            }
            (RuleValue::AllowList(c), RuleValue::AllowList(l)) => {
                write!(f, "local allows {} beyond cloud", Entries(&(l - c)))
            }
            (RuleValue::DenyList(c), RuleValue::DenyList(l)) => {
                write!(f, "local does not deny {}", Entries(&(c - l)))
            }
            (RuleValue::Flag(_), RuleValue::Flag(_)) => f.write_str("cloud enforces it, local does not"),
            (c, l) => write!(f, "local {l} against cloud {c}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rules: &[(&str, RuleValue)]) -> RuleSet {
        let mut s = RuleSet::new();
        for (name, value) in rules {
            s.insert(*name, value.clone()).unwrap();
        }
        s
    }

    fn cloud() -> RuleSet {
        set(&[
            ("rate_limit_per_minute", RuleValue::Limit(600)),
            ("min_tls_version", RuleValue::Floor(12)),
            ("cors_allowed_origins", RuleValue::allow_list(["https://app.example.com"])),
            ("blocked_ips", RuleValue::deny_list(["198.51.100.7"])),
            ("require_mtls", RuleValue::Flag(true)),
        ])
    }

    fn loose_local() -> RuleSet {
        set(&[
            ("rate_limit_per_minute", RuleValue::Limit(10_000)),
            ("min_tls_version", RuleValue::Floor(10)),
            ("cors_allowed_origins", RuleValue::allow_list(["https://app.example.com", "*"])),
            ("blocked_ips", RuleValue::deny_list(Vec::<String>::new())),
            ("require_mtls", RuleValue::Flag(false)),
            ("max_body_bytes", RuleValue::Limit(1 << 20)),
        ])
    }

    #[test]
    fn authoritative_is_cloud_even_against_mismatched_local() {
        let mismatched = set(&[("require_mtls", RuleValue::Limit(3))]);
        for env in [Environment::Production, Environment::Staging, Environment::Development] {
            for local in [loose_local(), mismatched.clone()] {
                assert_eq!(effective_policy(AuthorityMode::Authoritative, env, &cloud(), &local).unwrap(), cloud());
            }
        }
    }

    #[test]
    fn tighten_only_keeps_cloud_values_against_a_loose_local_and_adds_local_only_rules() {
        let eff =
            effective_policy(AuthorityMode::TightenOnly, Environment::Production, &cloud(), &loose_local()).unwrap();
        let mut expected = cloud();
        expected.insert("max_body_bytes", RuleValue::Limit(1 << 20)).unwrap();
        assert_eq!(eff, expected);
    }

    #[test]
    fn dev_override_lets_local_win_in_development_only() {
        let eff =
            effective_policy(AuthorityMode::DevOverride, Environment::Development, &cloud(), &loose_local()).unwrap();
        assert_eq!(eff, loose_local(), "local declares every cloud rule, so it wins on all of them");

        let partial = set(&[("rate_limit_per_minute", RuleValue::Limit(10_000))]);
        let eff = effective_policy(AuthorityMode::DevOverride, Environment::Development, &cloud(), &partial).unwrap();
        assert_eq!(eff.get("rate_limit_per_minute"), Some(&RuleValue::Limit(10_000)));
        assert_eq!(eff.get("require_mtls"), Some(&RuleValue::Flag(true)), "unmentioned cloud rules still apply");

        for env in [Environment::Production, Environment::Staging] {
            let e = effective_policy(AuthorityMode::DevOverride, env, &cloud(), &partial).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::PermissionDenied);
            assert!(e.message().contains(env.as_str()), "{e}");
        }
    }

    #[test]
    fn kind_mismatch_is_invalid_input_where_local_is_used() {
        let mismatched = set(&[("blocked_ips", RuleValue::allow_list(["10.0.0.1"]))]);
        for mode in [AuthorityMode::TightenOnly, AuthorityMode::DevOverride] {
            let e = effective_policy(mode, Environment::Development, &cloud(), &mismatched).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            assert!(e.message().contains("\"blocked_ips\""), "{e}");
        }
        assert_eq!(loosenings(&cloud(), &mismatched).unwrap_err().kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn every_loosened_rule_is_reported_with_what_is_looser() {
        let found = loosenings(&cloud(), &loose_local()).unwrap();
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "blocked_ips: local does not deny [198.51.100.7]",
                "cors_allowed_origins: local allows [*] beyond cloud",
                "min_tls_version: local floor 10 is below cloud floor 12",
                "rate_limit_per_minute: local limit 10000 is above cloud limit 600",
                "require_mtls: cloud enforces it, local does not",
            ]
        );
        assert_eq!(found[4].cloud, RuleValue::Flag(true));
        assert_eq!(found[4].local, RuleValue::Flag(false));
    }

    #[test]
    fn stricter_or_absent_local_rules_are_not_findings() {
        let strict = set(&[
            ("rate_limit_per_minute", RuleValue::Limit(60)),
            ("blocked_ips", RuleValue::deny_list(["198.51.100.7", "203.0.113.0/24"])),
            ("cors_allowed_origins", RuleValue::allow_list(Vec::<String>::new())),
        ]);
        assert!(loosenings(&cloud(), &strict).unwrap().is_empty());
        assert!(loosenings(&cloud(), &RuleSet::new()).unwrap().is_empty());
        assert!(loosenings(&cloud(), &cloud()).unwrap().is_empty());
    }

    #[test]
    fn incomparable_allow_list_is_a_finding() {
        let local = set(&[("cors_allowed_origins", RuleValue::allow_list(["https://admin.example.com"]))]);
        let found = loosenings(&cloud(), &local).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].to_string(), "cors_allowed_origins: local allows [https://admin.example.com] beyond cloud");
    }

    #[test]
    fn loosening_json_is_camel_case() {
        let f = &loosenings(&cloud(), &loose_local()).unwrap()[3];
        assert_eq!(
            serde_json::to_string(f).unwrap(),
            r#"{"rule":"rate_limit_per_minute","cloud":{"kind":"limit","value":600},"local":{"kind":"limit","value":10000}}"#
        );
    }
}
