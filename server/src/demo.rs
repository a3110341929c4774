//! The demo's policies, beside the engine's demo fleet (`fleetgov::demo`).

use fleetgov::policy::{Policy, PolicyRegistry, PolicyScope, RuleSet, RuleValue};

/// Adds an org-wide baseline and a policy of the demo workspace to `registry`.
///
/// ```
/// let reg = fleetgov::PolicyRegistry::new();
/// fleetgov_server::demo::seed_policies(&reg).unwrap();
/// assert_eq!(reg.active(fleetgov::demo::WORKSPACE).len(), 2);
/// ```
pub fn seed_policies(registry: &PolicyRegistry) -> fleetgov::Result<()> {
    let baseline = RuleSet::new()
        .with("require_mtls", RuleValue::Flag(true))?
        .with("min_tls_version", RuleValue::Floor(12))?
        .with("max_request_body_kb", RuleValue::Limit(1_024))?;
    registry.upsert(Policy::new(PolicyScope::Org, "org-baseline", baseline)?)?;
    let edge = RuleSet::new()
        .with("rate_limit_rpm", RuleValue::Limit(60_000))?
        .with("allowed_methods", RuleValue::allow_list(["GET", "POST", "PUT", "DELETE"]))?
        .with("denied_user_agents", RuleValue::deny_list(["sqlmap", "nikto"]))?;
    registry.upsert(Policy::new(PolicyScope::workspace(fleetgov::demo::WORKSPACE), "edge-traffic", edge)?)?;
    Ok(())
}
