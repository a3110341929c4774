//! A set of rules keyed by name, with the order and merge lifted rule by rule.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use serde::{Deserialize, Serialize};

use super::rule::{RuleValue, kind_mismatch};
use crate::error::{Error, Result};
use crate::id::validate_id;

/// The most rules one rule set may hold.
pub const MAX_RULES: usize = 1024;

/// Rules keyed by name (names follow [`validate_id`](crate::validate_id)).
/// A rule that is absent constrains nothing.
///
/// Serialised as a JSON object from rule name to [`RuleValue`];
/// deserialising validates exactly like [`insert`](RuleSet::insert).
///
/// ```
/// # fn main() -> fleetgov::Result<()> {
/// use fleetgov::policy::{RuleSet, RuleValue};
/// let rules = RuleSet::new()
///     .with("rate_limit_per_minute", RuleValue::Limit(600))?
///     .with("require_mtls", RuleValue::Flag(true))?;
/// assert_eq!(rules.get("rate_limit_per_minute"), Some(&RuleValue::Limit(600)));
/// assert_eq!(
///     serde_json::to_string(&rules).unwrap(),
///     r#"{"rate_limit_per_minute":{"kind":"limit","value":600},"require_mtls":{"kind":"flag","value":true}}"#
/// );
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "BTreeMap<String, RuleValue>", into = "BTreeMap<String, RuleValue>")]
pub struct RuleSet {
    rules: BTreeMap<String, RuleValue>,
}

impl RuleSet {
    /// An empty rule set: constrains nothing.
    ///
    /// ```
    /// assert!(fleetgov::policy::RuleSet::new().is_empty());
    /// ```
    pub fn new() -> Self {
        RuleSet::default()
    }

    /// Sets rule `name` to `value`, returning the previous value. A malformed
    /// name or value is [`InvalidInput`](crate::ErrorKind::InvalidInput), as
    /// is a new rule beyond [`MAX_RULES`]; the set is then unchanged.
    ///
    /// ```
    /// use fleetgov::policy::{RuleSet, RuleValue};
    /// let mut rules = RuleSet::new();
    /// assert_eq!(rules.insert("max_body_bytes", RuleValue::Limit(1 << 20)).unwrap(), None);
    /// assert!(rules.insert("max body", RuleValue::Limit(1)).is_err());
    /// assert_eq!(rules.len(), 1);
    /// ```
    pub fn insert(&mut self, name: impl Into<String>, value: RuleValue) -> Result<Option<RuleValue>> {
        let name = name.into();
        validate_id("policy rule", &name)?;
        value.validate().map_err(|e| e.context(format_args!("rule {name:?}")))?;
        if self.rules.len() >= MAX_RULES && !self.rules.contains_key(&name) {
            return Err(Error::invalid(format!("a rule set holds at most {MAX_RULES} rules")));
        }
        Ok(self.rules.insert(name, value))
    }

    /// [`insert`](RuleSet::insert) in builder form.
    ///
    /// ```
    /// # fn main() -> fleetgov::Result<()> {
    /// use fleetgov::policy::{RuleSet, RuleValue};
    /// let rules = RuleSet::new().with("allowed_methods", RuleValue::allow_list(["GET", "POST"]))?;
    /// assert_eq!(rules.len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn with(mut self, name: impl Into<String>, value: RuleValue) -> Result<Self> {
        self.insert(name, value)?;
        Ok(self)
    }

    /// Removes rule `name`, returning its value if it was present.
    ///
    /// ```
    /// # fn main() -> fleetgov::Result<()> {
    /// use fleetgov::policy::{RuleSet, RuleValue};
    /// let mut rules = RuleSet::new().with("require_mtls", RuleValue::Flag(true))?;
    /// assert_eq!(rules.remove("require_mtls"), Some(RuleValue::Flag(true)));
    /// assert!(rules.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn remove(&mut self, name: &str) -> Option<RuleValue> {
        self.rules.remove(name)
    }

    /// The value of rule `name`, if present.
    ///
    /// ```
    /// assert_eq!(fleetgov::policy::RuleSet::new().get("require_mtls"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&RuleValue> {
        self.rules.get(name)
    }

    /// The rules in name order.
    ///
    /// ```
    /// # fn main() -> fleetgov::Result<()> {
    /// use fleetgov::policy::{RuleSet, RuleValue};
    /// let rules = RuleSet::new().with("b", RuleValue::Flag(true))?.with("a", RuleValue::Limit(1))?;
    /// let names: Vec<&str> = rules.iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// # Ok(()) }
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &RuleValue)> {
        self.rules.iter().map(|(name, value)| (name.as_str(), value))
    }

    /// The number of rules.
    ///
    /// ```
    /// assert_eq!(fleetgov::policy::RuleSet::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    ///
    /// ```
    /// assert!(fleetgov::policy::RuleSet::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `self` constrains at least as much as `other`, rule by rule:
    /// every rule of `other` is present in `self` with a value
    /// [at least as strict](RuleValue::is_at_least_as_strict_as). Rules only
    /// in `self` add constraints and never make it looser. A partial order.
    ///
    /// ```
    /// # fn main() -> fleetgov::Result<()> {
    /// use fleetgov::policy::{RuleSet, RuleValue};
    /// let cloud = RuleSet::new().with("rate_limit_per_minute", RuleValue::Limit(600))?;
    /// let tighter = cloud.clone().with("require_mtls", RuleValue::Flag(true))?;
    /// assert!(tighter.is_at_least_as_strict_as(&cloud));
    /// assert!(!cloud.is_at_least_as_strict_as(&tighter));
    /// assert!(cloud.is_at_least_as_strict_as(&RuleSet::new()));
    /// # Ok(()) }
    /// ```
    pub fn is_at_least_as_strict_as(&self, other: &RuleSet) -> bool {
        other
            .rules
            .iter()
            .all(|(name, theirs)| self.rules.get(name).is_some_and(|ours| ours.is_at_least_as_strict_as(theirs)))
    }

    /// The least strict rule set at least as strict as both: every rule of
    /// either side, the [stricter](RuleValue::stricter) value where both have
    /// it. Commutative, associative and idempotent, with the empty set as
    /// identity.
    ///
    /// A rule name with different kinds on the two sides is
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput) naming the rule.
    ///
    /// ```
    /// # fn main() -> fleetgov::Result<()> {
    /// use fleetgov::policy::{RuleSet, RuleValue};
    /// let cloud = RuleSet::new()
    ///     .with("rate_limit_per_minute", RuleValue::Limit(600))?
    ///     .with("require_mtls", RuleValue::Flag(true))?;
    /// let local = RuleSet::new()
    ///     .with("rate_limit_per_minute", RuleValue::Limit(300))?
    ///     .with("blocked_ips", RuleValue::deny_list(["203.0.113.9"]))?;
    /// let both = cloud.tighten(&local)?;
    /// assert_eq!(both.get("rate_limit_per_minute"), Some(&RuleValue::Limit(300)));
    /// assert_eq!(both.get("require_mtls"), Some(&RuleValue::Flag(true)));
    /// assert_eq!(both.len(), 3);
    /// # Ok(()) }
    /// ```
    pub fn tighten(&self, other: &RuleSet) -> Result<RuleSet> {
        let mut rules = self.rules.clone();
        for (name, theirs) in &other.rules {
            match rules.entry(name.clone()) {
                Entry::Vacant(slot) => {
                    slot.insert(theirs.clone());
                }
                Entry::Occupied(mut slot) => {
                    let merged = slot.get().stricter(theirs).map_err(|e| e.context(format_args!("rule {name:?}")))?;
                    slot.insert(merged);
                }
            }
        }
        checked_len(rules.len())?;
        Ok(RuleSet { rules })
    }

    /// Checks, without merging, that every rule the two sets share has the
    /// same kind on both sides; the error names the first rule that does not.
    ///
    /// ```
    /// # fn main() -> fleetgov::Result<()> {
    /// use fleetgov::policy::{RuleSet, RuleValue};
    /// let a = RuleSet::new().with("require_mtls", RuleValue::Flag(true))?;
    /// let b = RuleSet::new().with("require_mtls", RuleValue::Limit(1))?;
    /// assert!(a.check_kinds(&b).is_err());
    /// assert!(a.check_kinds(&RuleSet::new()).is_ok());
    /// # Ok(()) }
    /// ```
    pub fn check_kinds(&self, other: &RuleSet) -> Result<()> {
        match self.shared(other).find(|(_, ours, theirs)| ours.kind() != theirs.kind()) {
            Some((name, ours, theirs)) => {
                Err(kind_mismatch(ours.kind(), theirs.kind()).context(format_args!("rule {name:?}")))
            }
            None => Ok(()),
        }
    }

    /// `other` laid over `self`: every rule of `other`, and the rules of
    /// `self` that `other` does not mention. Kinds are not checked here.
    pub(super) fn overlaid_with(&self, other: &RuleSet) -> Result<RuleSet> {
        let mut rules = self.rules.clone();
        rules.extend(other.rules.iter().map(|(name, value)| (name.clone(), value.clone())));
        checked_len(rules.len())?;
        Ok(RuleSet { rules })
    }

    /// The rules both sets hold: (name, value in `self`, value in `other`), in name order.
    pub(super) fn shared<'a>(
        &'a self,
        other: &'a RuleSet,
    ) -> impl Iterator<Item = (&'a str, &'a RuleValue, &'a RuleValue)> + 'a {
        self.rules.iter().filter_map(|(name, ours)| other.rules.get(name).map(|theirs| (name.as_str(), ours, theirs)))
    }
}

/// Refuses a combination of two sets that would exceed [`MAX_RULES`].
fn checked_len(len: usize) -> Result<()> {
    if len > MAX_RULES {
        return Err(Error::invalid(format!(
            "the combined policy would hold {len} rules; at most {MAX_RULES} are allowed"
        )));
    }
    Ok(())
}

impl TryFrom<BTreeMap<String, RuleValue>> for RuleSet {
    type Error = Error;

    /// Validates every name and value, as [`RuleSet::insert`] does.
    fn try_from(map: BTreeMap<String, RuleValue>) -> Result<Self> {
        let mut set = RuleSet::new();
        for (name, value) in map {
            set.insert(name, value)?;
        }
        Ok(set)
    }
}

impl From<RuleSet> for BTreeMap<String, RuleValue> {
    fn from(set: RuleSet) -> Self {
        set.rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn gateway_cloud() -> RuleSet {
        RuleSet::new()
            .with("rate_limit_per_minute", RuleValue::Limit(600))
            .and_then(|s| s.with("cors_allowed_origins", RuleValue::allow_list(["https://app.example.com"])))
            .and_then(|s| s.with("blocked_ips", RuleValue::deny_list(["198.51.100.7"])))
            .and_then(|s| s.with("require_mtls", RuleValue::Flag(true)))
            .unwrap()
    }

    #[test]
    fn tighten_takes_the_stricter_value_of_each_shared_rule() {
        let local = RuleSet::new()
            .with("rate_limit_per_minute", RuleValue::Limit(1200))
            .and_then(|s| {
                s.with(
                    "cors_allowed_origins",
                    RuleValue::allow_list(["https://app.example.com", "http://localhost:3000"]),
                )
            })
            .and_then(|s| s.with("blocked_ips", RuleValue::deny_list(["203.0.113.0/24"])))
            .and_then(|s| s.with("require_mtls", RuleValue::Flag(false)))
            .and_then(|s| s.with("max_body_bytes", RuleValue::Limit(1 << 20)))
            .unwrap();
        let merged = gateway_cloud().tighten(&local).unwrap();
        assert_eq!(merged.get("rate_limit_per_minute"), Some(&RuleValue::Limit(600)));
        assert_eq!(merged.get("cors_allowed_origins"), Some(&RuleValue::allow_list(["https://app.example.com"])));
        assert_eq!(merged.get("blocked_ips"), Some(&RuleValue::deny_list(["198.51.100.7", "203.0.113.0/24"])));
        assert_eq!(merged.get("require_mtls"), Some(&RuleValue::Flag(true)));
        assert_eq!(merged.get("max_body_bytes"), Some(&RuleValue::Limit(1 << 20)), "a local-only rule is kept");
        assert!(merged.is_at_least_as_strict_as(&gateway_cloud()));
        assert!(merged.is_at_least_as_strict_as(&local));
    }

    #[test]
    fn kind_mismatch_names_the_rule() {
        let local = RuleSet::new().with("require_mtls", RuleValue::Limit(1)).unwrap();
        for e in [gateway_cloud().tighten(&local).unwrap_err(), gateway_cloud().check_kinds(&local).unwrap_err()] {
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            assert!(e.message().starts_with("rule \"require_mtls\""), "{e}");
        }
    }

    #[test]
    fn missing_rule_is_looser_than_any_value_of_it() {
        let without = RuleSet::new();
        let off = RuleSet::new().with("require_mtls", RuleValue::Flag(false)).unwrap();
        assert!(off.is_at_least_as_strict_as(&without));
        assert!(!without.is_at_least_as_strict_as(&off));
    }

    #[test]
    fn bad_names_and_values_change_nothing() {
        let mut rules = gateway_cloud();
        let before = rules.clone();
        for name in ["", "  ", "rate limit", "ümlaut", &"r".repeat(crate::MAX_ID_LEN + 1)] {
            assert_eq!(rules.insert(name, RuleValue::Limit(1)).unwrap_err().kind(), ErrorKind::InvalidInput);
        }
        let e = rules.insert("blocked_ips", RuleValue::deny_list([""])).unwrap_err();
        assert!(e.message().starts_with("rule \"blocked_ips\""), "{e}");
        assert_eq!(rules, before);
    }

    #[test]
    fn rule_count_is_bounded() {
        let mut rules = RuleSet::new();
        for i in 0..MAX_RULES {
            rules.insert(format!("r{i}"), RuleValue::Flag(true)).unwrap();
        }
        assert_eq!(rules.insert("one_more", RuleValue::Flag(true)).unwrap_err().kind(), ErrorKind::InvalidInput);
        assert!(rules.insert("r0", RuleValue::Flag(false)).is_ok(), "replacing stays within the bound");
        let other = RuleSet::new().with("one_more", RuleValue::Flag(true)).unwrap();
        assert_eq!(rules.tighten(&other).unwrap_err().kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn json_round_trip_and_validation_on_deserialise() {
        let json = serde_json::to_string(&gateway_cloud()).unwrap();
        assert_eq!(serde_json::from_str::<RuleSet>(&json).unwrap(), gateway_cloud());
        let bad_name = r#"{"rate limit":{"kind":"limit","value":1}}"#;
        assert!(serde_json::from_str::<RuleSet>(bad_name).is_err());
        let bad_entry = r#"{"blocked_ips":{"kind":"deny_list","value":[" 10.0.0.1"]}}"#;
        assert!(serde_json::from_str::<RuleSet>(bad_entry).is_err());
    }
}
