//! The demo fleet's authority, set up the same way by every instance, the
//! load generator and the tests: the seeds' workspace and three clusters
//! (`fleetgov::demo`), then `edge-NN` staging clusters up to the asked
//! count, each with two published revisions.

use std::sync::Arc;

use fleetgov::{ClusterSpec, ContentHash, Engine, Environment, WorkspaceSpec};

use crate::artifact::Artifacts;
use crate::error::{Error, Result};

/// The demo workspace.
pub const WORKSPACE: &str = fleetgov::demo::WORKSPACE;
/// The revision every demo cluster desires.
pub const DESIRED_REVISION: u32 = 2;

/// One demo cluster: id, environment, owner team, auto-reconcile.
pub type DemoCluster = (String, Environment, String, bool);

/// The first `count` demo clusters: the seeds' three, then `edge-03`, `edge-04`, ...
///
/// ```
/// let c = fleetgov_nats::demo::clusters(4);
/// assert_eq!(c.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["eks-prod-us", "gke-stage-eu", "azure-dev-west", "edge-03"]);
/// ```
pub fn clusters(count: usize) -> Vec<DemoCluster> {
    (0..count)
        .map(|i| match fleetgov::demo::CLUSTERS.get(i) {
            Some(&(id, env, team, auto)) => (id.to_owned(), env, team.to_owned(), auto),
            None => (format!("edge-{i:02}"), Environment::Staging, "edge-platform".to_owned(), true),
        })
        .collect()
}

/// The configuration bytes of revision `revision` (1 or 2) of `cluster`.
pub fn config(cluster: &str, revision: u32) -> Vec<u8> {
    let limit = if revision <= 1 { 1000 } else { 800 };
    format!("# {cluster} r{revision}\nroutes: [api]\nrate_limit: {limit}\n").into_bytes()
}

/// The hash of [`config`].
///
/// ```
/// use fleetgov_nats::demo;
/// assert_eq!(demo::hash("c", 2), fleetgov::ContentHash::of(&demo::config("c", 2)));
/// ```
pub fn hash(cluster: &str, revision: u32) -> ContentHash {
    ContentHash::of(&config(cluster, revision))
}

/// Sets up the workspace and the first `count` clusters in `engine`, each
/// with revisions 1 and 2 published (artifacts stored first).
pub async fn authority(engine: &Arc<Engine>, artifacts: &Artifacts, count: usize, at_ms: u64) -> Result<()> {
    let (setup, specs) = (engine.clone(), clusters(count));
    tokio::task::spawn_blocking(move || {
        setup.upsert_workspace(WorkspaceSpec::new(WORKSPACE))?;
        for (id, env, team, auto) in specs {
            setup.upsert_cluster(ClusterSpec::new(&id, WORKSPACE, env).owner_team(&team).auto_reconcile(auto))?;
        }
        Ok::<_, fleetgov::Error>(())
    })
    .await
    .map_err(|e| Error::transport("set up the demo authority", e))??;
    for (id, ..) in clusters(count) {
        for revision in 1..=DESIRED_REVISION {
            artifacts.publish(engine, &id, &config(&id, revision), "platform-bot", at_ms).await?;
        }
    }
    Ok(())
}

/// What demo node `i` of `cluster` runs at the start: revision 1 for every
/// fourth node (`i % 4 == 0`), the desired revision 2 for the others.
///
/// ```
/// use fleetgov_nats::demo;
/// assert_eq!(demo::mostly_current("c", 4), Some((1, demo::hash("c", 1))));
/// assert_eq!(demo::mostly_current("c", 5), Some((2, demo::hash("c", 2))));
/// ```
pub fn mostly_current(cluster: &str, i: usize) -> Option<(u32, ContentHash)> {
    let revision = if i.is_multiple_of(4) { 1 } else { DESIRED_REVISION };
    Some((revision, hash(cluster, revision)))
}
