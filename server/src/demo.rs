//! The demo's policies, beside the engine's demo fleet (`fleetgov::demo`).

use fleetgov::Engine;
use fleetgov::policy::{Policy, PolicyScope, RuleSet, RuleValue};

/// Adds an org-wide baseline and a policy of the demo workspace to `engine`.
///
/// ```
/// let e = fleetgov::demo::engine(1_700_000_000_000).unwrap();
/// fleetgov_server::demo::seed_policies(&e).unwrap();
/// assert_eq!(e.active_policies(fleetgov::demo::WORKSPACE).unwrap().len(), 2);
/// ```
pub fn seed_policies(engine: &Engine) -> fleetgov::Result<()> {
    let baseline = RuleSet::new()
        .with("require_mtls", RuleValue::Flag(true))?
        .with("min_tls_version", RuleValue::Floor(12))?
        .with("max_request_body_kb", RuleValue::Limit(1_024))?;
    engine.upsert_policy(Policy::new(PolicyScope::Org, "org-baseline", baseline)?)?;
    let edge = RuleSet::new()
        .with("rate_limit_rpm", RuleValue::Limit(60_000))?
        .with("allowed_methods", RuleValue::allow_list(["GET", "POST", "PUT", "DELETE"]))?
        .with("denied_user_agents", RuleValue::deny_list(["sqlmap", "nikto"]))?;
    engine.upsert_policy(Policy::new(PolicyScope::workspace(fleetgov::demo::WORKSPACE), "edge-traffic", edge)?)
}
