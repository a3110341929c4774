//! Property tests for policy strictness, effective policies per authority
//! mode, loosening findings and the policy registry.

use std::collections::BTreeMap;

use fleetgov::policy::{
    Loosening, Policy, PolicyRegistry, PolicyScope, RuleKind, RuleSet, RuleValue, effective_policy, loosenings,
};
use fleetgov::{AuthorityMode, Environment, ErrorKind};
use proptest::prelude::*;
use proptest::sample::subsequence;

/// One kind per rule name, as a real gateway schema would have.
const SCHEMA: [(&str, RuleKind); 8] = [
    ("rate_limit_per_minute", RuleKind::Limit),
    ("max_body_bytes", RuleKind::Limit),
    ("min_tls_version", RuleKind::Floor),
    ("allowed_methods", RuleKind::AllowList),
    ("cors_allowed_origins", RuleKind::AllowList),
    ("blocked_ips", RuleKind::DenyList),
    ("require_mtls", RuleKind::Flag),
    ("require_auth", RuleKind::Flag),
];

const ENTRIES: [&str; 6] =
    ["GET", "POST", "https://app.example.com", "http://localhost:3000", "203.0.113.0/24", "198.51.100.7"];

/// Small numbers so that equal values are common, and now and then a huge one.
fn number() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 0u64..6, 1 => any::<u64>()]
}

fn entries() -> impl Strategy<Value = Vec<&'static str>> {
    subsequence(ENTRIES.to_vec(), 0..=ENTRIES.len())
}

fn value_of(kind: RuleKind) -> BoxedStrategy<RuleValue> {
    match kind {
        RuleKind::Limit => number().prop_map(RuleValue::Limit).boxed(),
        RuleKind::Floor => number().prop_map(RuleValue::Floor).boxed(),
        RuleKind::AllowList => entries().prop_map(RuleValue::allow_list).boxed(),
        RuleKind::DenyList => entries().prop_map(RuleValue::deny_list).boxed(),
        RuleKind::Flag => any::<bool>().prop_map(RuleValue::Flag).boxed(),
    }
}

fn kind() -> impl Strategy<Value = RuleKind> {
    prop::sample::select(vec![
        RuleKind::Limit,
        RuleKind::Floor,
        RuleKind::AllowList,
        RuleKind::DenyList,
        RuleKind::Flag,
    ])
}

fn build(rules: Vec<(&str, RuleValue)>) -> RuleSet {
    let mut set = RuleSet::new();
    for (name, value) in rules {
        set.insert(name, value).expect("generated rules are valid");
    }
    set
}

/// A rule set over [`SCHEMA`]: each rule present or not, with a value of its kind.
fn rule_set() -> impl Strategy<Value = RuleSet> {
    SCHEMA
        .iter()
        .map(|&(name, kind)| prop::option::of(value_of(kind)).prop_map(move |v| v.map(|v| (name, v))))
        .collect::<Vec<_>>()
        .prop_map(|rules| build(rules.into_iter().flatten().collect()))
}

/// A rule set over [`SCHEMA`] that gives one of its rules another kind.
fn mismatched_rule_set() -> impl Strategy<Value = (RuleSet, &'static str)> {
    (0..SCHEMA.len(), kind())
        .prop_filter("a different kind", |(i, k)| SCHEMA[*i].1 != *k)
        .prop_flat_map(|(i, k)| (rule_set(), value_of(k), Just(SCHEMA[i].0)))
        .prop_map(|(mut set, value, name)| {
            set.insert(name, value).expect("generated rules are valid");
            (set, name)
        })
}

fn environment() -> impl Strategy<Value = Environment> {
    prop::sample::select(vec![Environment::Production, Environment::Staging, Environment::Development])
}

fn mode() -> impl Strategy<Value = AuthorityMode> {
    prop::sample::select(vec![AuthorityMode::Authoritative, AuthorityMode::TightenOnly, AuthorityMode::DevOverride])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn tighten_only_is_never_looser_than_either_input(cloud in rule_set(), local in rule_set(), env in environment()) {
        let eff = effective_policy(AuthorityMode::TightenOnly, env, &cloud, &local).unwrap();
        prop_assert!(eff.is_at_least_as_strict_as(&cloud), "{eff:?} looser than cloud {cloud:?}");
        prop_assert!(eff.is_at_least_as_strict_as(&local), "{eff:?} looser than local {local:?}");
        for (rule, value) in eff.iter() {
            for side in [&cloud, &local] {
                if let Some(v) = side.get(rule) {
                    prop_assert!(value.is_at_least_as_strict_as(v), "{rule}: {value} vs {v}");
                }
            }
        }
        prop_assert!(loosenings(&cloud, &eff).unwrap().is_empty(), "the effective policy never loosens cloud");
    }

    #[test]
    fn tighten_is_the_least_strict_common_tightening(a in rule_set(), b in rule_set()) {
        let m = a.tighten(&b).unwrap();
        // Only rules of a or b, each equal to one side's value or their meet: nothing stricter than needed.
        prop_assert_eq!(m.len(), a.iter().chain(b.iter()).map(|(n, _)| n).collect::<std::collections::BTreeSet<_>>().len());
        for (rule, value) in m.iter() {
            let expected = match (a.get(rule), b.get(rule)) {
                (Some(x), Some(y)) => x.stricter(y).unwrap(),
                (Some(x), None) | (None, Some(x)) => x.clone(),
                (None, None) => unreachable!("rule {rule} came from nowhere"),
            };
            prop_assert_eq!(value, &expected);
        }
    }

    #[test]
    fn tighten_is_commutative_associative_idempotent(a in rule_set(), b in rule_set(), c in rule_set()) {
        prop_assert_eq!(a.tighten(&b).unwrap(), b.tighten(&a).unwrap());
        prop_assert_eq!(
            a.tighten(&b).unwrap().tighten(&c).unwrap(),
            a.tighten(&b.tighten(&c).unwrap()).unwrap()
        );
        prop_assert_eq!(a.tighten(&a).unwrap(), a.clone());
        prop_assert_eq!(a.tighten(&RuleSet::new()).unwrap(), a.clone());
    }

    #[test]
    fn order_agrees_with_tighten(a in rule_set(), b in rule_set()) {
        // a ≥ b exactly when tightening a with b changes nothing. With
        // associativity this makes tighten the greatest lower bound.
        prop_assert_eq!(a.is_at_least_as_strict_as(&b), a.tighten(&b).unwrap() == a);
        let m = a.tighten(&b).unwrap();
        prop_assert!(m.is_at_least_as_strict_as(&b));
        prop_assert_eq!(m.tighten(&b).unwrap(), m);
    }

    #[test]
    fn strictness_is_a_partial_order(a in rule_set(), b in rule_set(), y in rule_set(), z in rule_set()) {
        prop_assert!(a.is_at_least_as_strict_as(&a));
        if a.is_at_least_as_strict_as(&b) && b.is_at_least_as_strict_as(&a) {
            prop_assert_eq!(&a, &b);
        }
        // A chain hi ≥ mid ≥ a, built by tightening.
        let mid = a.tighten(&y).unwrap();
        let hi = mid.tighten(&z).unwrap();
        prop_assert!(mid.is_at_least_as_strict_as(&a) && hi.is_at_least_as_strict_as(&mid));
        prop_assert!(hi.is_at_least_as_strict_as(&a));
    }

    #[test]
    fn value_order_agrees_with_stricter((a, b) in kind().prop_flat_map(|k| (value_of(k), value_of(k)))) {
        let m = a.stricter(&b).unwrap();
        prop_assert_eq!(a.is_at_least_as_strict_as(&b), m == a);
        prop_assert!(m.is_at_least_as_strict_as(&a) && m.is_at_least_as_strict_as(&b));
        prop_assert_eq!(m.kind(), a.kind());
    }

    #[test]
    fn authoritative_is_cloud(cloud in rule_set(), local in rule_set(), (odd, _) in mismatched_rule_set(), env in environment()) {
        prop_assert_eq!(effective_policy(AuthorityMode::Authoritative, env, &cloud, &local).unwrap(), cloud.clone());
        prop_assert_eq!(effective_policy(AuthorityMode::Authoritative, env, &cloud, &odd).unwrap(), cloud);
    }

    #[test]
    fn dev_override_is_local_over_cloud_in_development_only(cloud in rule_set(), local in rule_set(), env in environment()) {
        let result = effective_policy(AuthorityMode::DevOverride, env, &cloud, &local);
        if env != Environment::Development {
            prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::PermissionDenied);
            return Ok(());
        }
        let eff = result.unwrap();
        for (rule, value) in eff.iter() {
            let expected = local.get(rule).or(cloud.get(rule));
            prop_assert_eq!(Some(value), expected, "{}", rule);
        }
        prop_assert!(cloud.iter().all(|(rule, _)| eff.get(rule).is_some()));
        prop_assert!(local.iter().all(|(rule, v)| eff.get(rule) == Some(v)));
    }

    #[test]
    fn loosenings_are_exactly_the_shared_rules_where_local_is_not_as_strict(cloud in rule_set(), local in rule_set()) {
        let found = loosenings(&cloud, &local).unwrap();
        let expected: Vec<Loosening> = cloud
            .iter()
            .filter_map(|(rule, c)| {
                let l = local.get(rule)?;
                (!l.is_at_least_as_strict_as(c))
                    .then(|| Loosening { rule: rule.to_owned(), cloud: c.clone(), local: l.clone() })
            })
            .collect();
        prop_assert_eq!(&found, &expected);
        if local.is_at_least_as_strict_as(&cloud) {
            prop_assert!(found.is_empty());
        }
        // Under tighten_only a finding never survives into the effective policy.
        let eff = effective_policy(AuthorityMode::TightenOnly, Environment::Production, &cloud, &local).unwrap();
        for f in &found {
            prop_assert_eq!(eff.get(&f.rule).unwrap(), &f.cloud.stricter(&f.local).unwrap());
            prop_assert!(eff.get(&f.rule).unwrap().is_at_least_as_strict_as(&f.cloud));
        }
    }

    #[test]
    fn kind_mismatch_is_a_typed_error_both_ways(cloud in rule_set(), (odd, name) in mismatched_rule_set(), env in environment()) {
        // Make sure the cloud side declares the rule, with the schema's kind.
        let kind = SCHEMA.iter().find(|(n, _)| *n == name).unwrap().1;
        let mut cloud = cloud;
        if cloud.get(name).is_none() {
            cloud.insert(name, sample_of(kind)).unwrap();
        }
        for e in [
            cloud.tighten(&odd).unwrap_err(),
            odd.tighten(&cloud).unwrap_err(),
            cloud.check_kinds(&odd).unwrap_err(),
            loosenings(&cloud, &odd).unwrap_err(),
            effective_policy(AuthorityMode::TightenOnly, env, &cloud, &odd).unwrap_err(),
        ] {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidInput);
            prop_assert!(e.message().contains(&format!("{name:?}")), "{}", e);
        }
        if env == Environment::Development {
            let e = effective_policy(AuthorityMode::DevOverride, env, &cloud, &odd).unwrap_err();
            prop_assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn json_round_trips(rules in rule_set(), org in any::<bool>()) {
        let json = serde_json::to_string(&rules).unwrap();
        prop_assert_eq!(serde_json::from_str::<RuleSet>(&json).unwrap(), rules.clone());
        let scope = if org { PolicyScope::Org } else { PolicyScope::workspace("ws-1") };
        let p = Policy::new(scope, "p", rules).unwrap();
        let json = serde_json::to_string(&p).unwrap();
        prop_assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), p);
    }

    #[test]
    fn every_mode_yields_a_policy_or_a_typed_error(m in mode(), env in environment(), cloud in rule_set(), local in rule_set()) {
        match effective_policy(m, env, &cloud, &local) {
            Ok(eff) => prop_assert!(m != AuthorityMode::DevOverride || env == Environment::Development, "{eff:?}"),
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::PermissionDenied);
                prop_assert!(m == AuthorityMode::DevOverride && env != Environment::Development);
            }
        }
    }
}

/// Some value of `kind`.
fn sample_of(kind: RuleKind) -> RuleValue {
    match kind {
        RuleKind::Limit => RuleValue::Limit(1),
        RuleKind::Floor => RuleValue::Floor(1),
        RuleKind::AllowList => RuleValue::allow_list(["GET"]),
        RuleKind::DenyList => RuleValue::deny_list(["198.51.100.7"]),
        RuleKind::Flag => RuleValue::Flag(true),
    }
}

// ---- The registry against a model -------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Upsert(Policy),
    Remove(PolicyScope, String),
}

const SCOPES: [&str; 3] = ["org", "ws-1", "ws-2"];

fn scope_of(i: usize) -> PolicyScope {
    match SCOPES[i] {
        "org" => PolicyScope::Org,
        ws => PolicyScope::workspace(ws),
    }
}

/// Rules where `x_custom` may be a limit or a flag, so clashes happen.
fn clashing_rule_set() -> impl Strategy<Value = RuleSet> {
    (
        rule_set(),
        prop::option::of(prop_oneof![number().prop_map(RuleValue::Limit), any::<bool>().prop_map(RuleValue::Flag)]),
    )
        .prop_map(|(mut set, custom)| {
            if let Some(v) = custom {
                set.insert("x_custom", v).unwrap();
            }
            set
        })
}

fn op() -> impl Strategy<Value = Op> {
    let id = prop::sample::select(vec!["a", "b", "c"]);
    prop_oneof![
        3 => (0..SCOPES.len(), id.clone(), clashing_rule_set())
            .prop_map(|(s, id, rules)| Op::Upsert(Policy::new(scope_of(s), id, rules).unwrap())),
        1 => (0..SCOPES.len(), id).prop_map(|(s, id)| Op::Remove(scope_of(s), id.to_owned())),
    ]
}

type Model = BTreeMap<(PolicyScope, String), Policy>;

/// The cloud rules of `ws` in the model, or the error merging them gives.
fn model_rules(model: &Model, ws: &str) -> fleetgov::Result<RuleSet> {
    model.values().filter(|p| p.scope().applies_to(ws)).try_fold(RuleSet::new(), |acc, p| acc.tighten(p.rules()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn registry_matches_a_model(ops in prop::collection::vec(op(), 1..24)) {
        let reg = PolicyRegistry::new();
        let mut model = Model::new();
        for op in ops {
            match op {
                Op::Upsert(p) => {
                    let key = (p.scope().clone(), p.id().to_owned());
                    let mut next = model.clone();
                    let previous = next.insert(key, p.clone());
                    let valid = ["ws-1", "ws-2", "ws-other"].iter().all(|ws| model_rules(&next, ws).is_ok());
                    match reg.upsert(p) {
                        Ok(old) => {
                            prop_assert!(valid, "the registry accepted a clash");
                            prop_assert_eq!(old, previous);
                            model = next;
                        }
                        Err(e) => {
                            prop_assert!(!valid, "the registry refused a valid policy: {}", e);
                            prop_assert_eq!(e.kind(), ErrorKind::Conflict);
                        }
                    }
                }
                Op::Remove(scope, id) => {
                    let expected = model.remove(&(scope.clone(), id.clone()));
                    match reg.remove(&scope, &id) {
                        Ok(p) => prop_assert_eq!(Some(p), expected),
                        Err(e) => {
                            prop_assert_eq!(e.kind(), ErrorKind::NotFound);
                            prop_assert!(expected.is_none());
                        }
                    }
                }
            }
            for ws in ["ws-1", "ws-2", "ws-other"] {
                prop_assert_eq!(&*reg.cloud_rules(ws), &model_rules(&model, ws).unwrap(), "{}", ws);
                let active: Vec<Policy> = model.values().filter(|p| p.scope().applies_to(ws)).cloned().collect();
                prop_assert_eq!(reg.active(ws), active);
            }
        }
    }
}
