//! The demo fleet the server starts with: the engine's demo dataset
//! (`fleetgov::demo`: one workspace, three clusters, their snapshots and
//! eleven seed nodes) and two policies, put into the engine once.
//!
//! With a data directory the engine comes back with what it held, so
//! [`seed`] creates the demo only when its workspace is absent (a new
//! directory) and otherwise leaves it exactly as it is: a restart appends
//! no audit record and enrols nothing. The simulated fleet learns from
//! [`seed_clusters`] which nodes are the dataset's seeds and what cohesion
//! they were given.

use fleetgov::policy::{Policy, PolicyScope, RuleSet, RuleValue};
use fleetgov::{Engine, Error, ErrorKind};

/// What [`seed`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seeded {
    /// The engine was empty of the demo: it was created.
    Created,
    /// The engine held the demo already (restored from its data directory):
    /// nothing was added.
    Kept,
}

/// Puts the demo fleet and its policies into `engine` unless it holds them.
///
/// The demo workspace decides: absent, everything is created at `now_ms`
/// (the seed nodes heartbeat 10 s before it); present, only a missing demo
/// policy is added. A directory holding the workspace without every demo
/// cluster and seed node (a first start stopped while seeding) is refused
/// as `InvalidInput`: it cannot be completed without guessing.
///
/// ```
/// use fleetgov_server::demo::{Seeded, seed};
/// let e = fleetgov::Engine::new();
/// assert_eq!(seed(&e, 1_700_000_000_000).unwrap(), Seeded::Created);
/// let records = e.audit_len();
/// assert_eq!(seed(&e, 1_700_000_000_000).unwrap(), Seeded::Kept);
/// assert_eq!(e.audit_len(), records, "nothing recorded twice");
/// ```
pub fn seed(engine: &Engine, now_ms: u64) -> fleetgov::Result<Seeded> {
    match engine.workspace(fleetgov::demo::WORKSPACE) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            fleetgov::demo::populate(engine, now_ms)?;
            seed_policies(engine)?;
            Ok(Seeded::Created)
        }
        Err(e) => Err(e),
        Ok(_) => {
            for cluster in seed_clusters()? {
                let complete = engine.desired(cluster.id).is_ok_and(|d| d.is_some())
                    && cluster.nodes.iter().all(|n| engine.node_handle(n).is_ok());
                if !complete {
                    return Err(Error::invalid(format!(
                        "the data directory holds the demo workspace '{}' but not all of cluster '{}' and its \
                         seed nodes (a first start stopped while seeding): remove the directory, or start with \
                         --ephemeral",
                        fleetgov::demo::WORKSPACE,
                        cluster.id
                    )));
                }
            }
            seed_policies(engine)?;
            Ok(Seeded::Kept)
        }
    }
}

/// Adds an org-wide baseline and a policy of the demo workspace to
/// `engine`, each only if no policy of its scope and id is there yet.
///
/// ```
/// let e = fleetgov::demo::engine(1_700_000_000_000).unwrap();
/// fleetgov_server::demo::seed_policies(&e).unwrap();
/// let records = e.audit_len();
/// fleetgov_server::demo::seed_policies(&e).unwrap();
/// assert_eq!(e.active_policies(fleetgov::demo::WORKSPACE).unwrap().len(), 2);
/// assert_eq!(e.audit_len(), records);
/// ```
pub fn seed_policies(engine: &Engine) -> fleetgov::Result<()> {
    let baseline = RuleSet::new()
        .with("require_mtls", RuleValue::Flag(true))?
        .with("min_tls_version", RuleValue::Floor(12))?
        .with("max_request_body_kb", RuleValue::Limit(1_024))?;
    let edge = RuleSet::new()
        .with("rate_limit_rpm", RuleValue::Limit(60_000))?
        .with("allowed_methods", RuleValue::allow_list(["GET", "POST", "PUT", "DELETE"]))?
        .with("denied_user_agents", RuleValue::deny_list(["sqlmap", "nikto"]))?;
    let active = engine.active_policies(fleetgov::demo::WORKSPACE)?;
    for policy in [
        Policy::new(PolicyScope::Org, "org-baseline", baseline)?,
        Policy::new(PolicyScope::workspace(fleetgov::demo::WORKSPACE), "edge-traffic", edge)?,
    ] {
        if !active.iter().any(|p| p.scope() == policy.scope() && p.id() == policy.id()) {
            engine.upsert_policy(policy)?;
        }
    }
    Ok(())
}

/// One demo cluster as the dataset makes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedCluster {
    /// The cluster id.
    pub id: &'static str,
    /// Its seed nodes, in enrolment order.
    pub nodes: Vec<String>,
    /// The cohesion its seed nodes give it, in basis points.
    pub cohesion_bp: u16,
}

/// The demo clusters, their seed nodes and seeded cohesion, read from the
/// dataset itself (built in memory), so the server never restates it.
///
/// ```
/// let seeds = fleetgov_server::demo::seed_clusters().unwrap();
/// let shape: Vec<_> = seeds.iter().map(|c| (c.id, c.nodes.len(), c.cohesion_bp)).collect();
/// assert_eq!(shape, [("eks-prod-us", 4, 10_000), ("gke-stage-eu", 4, 7_500), ("azure-dev-west", 3, 3_333)]);
/// ```
pub fn seed_clusters() -> fleetgov::Result<Vec<SeedCluster>> {
    // Any moment will do: the dataset's shape does not depend on it.
    const AT: u64 = 1_700_000_000_000;
    let dataset = fleetgov::demo::engine(AT)?;
    fleetgov::demo::CLUSTERS
        .iter()
        .map(|&(id, ..)| {
            let nodes = dataset.cluster_nodes(id, AT, 0, usize::MAX)?.into_iter().map(|n| n.id).collect();
            Ok(SeedCluster { id, nodes, cohesion_bp: dataset.cluster(id, AT)?.cohesion_bp })
        })
        .collect()
}
