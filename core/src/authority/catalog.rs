//! The catalogue of what should run: workspaces, clusters and their
//! published snapshots, with the artifacts they name. Every change is
//! audited before it is applied (see [`super::replay`]).

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;

use crate::authority::cluster_spec::{ClusterSpec, Environment};
use crate::authority::event::AuthorityEvent;
use crate::authority::rollout::RolloutPlan;
use crate::authority::snapshot::{Snapshot, parse_snapshot_id, snapshot_id};
use crate::authority::workspace::{AuthorityMode, WorkspaceSpec};
use crate::cluster_state::ClusterState;
use crate::engine::{EMBEDDER, Engine};
use crate::error::{Error, ErrorKind, Result};
use crate::governance::audit::{AuditAction, AuditEntry};
use crate::governance::overrides::By;
use crate::hash::ContentHash;
use crate::id::validate_id;
use crate::role::Role;
use crate::version::RuntimeVersion;

impl Engine {
    /// Creates or updates a workspace. A workspace in `dev_override` may hold
    /// development clusters only.
    /// The change is audited (actor [`EMBEDDER`], role admin, the clock's time);
    /// [`upsert_workspace_by`](Self::upsert_workspace_by) names who made it.
    pub fn upsert_workspace(&self, spec: WorkspaceSpec) -> Result<()> {
        self.record_workspace(spec, EMBEDDER, Role::Admin, self.clock.now_ms())
    }

    /// [`upsert_workspace`](Self::upsert_workspace), audited with `by`'s
    /// actor, role and time. Needs the admin role
    /// ([`PermissionDenied`](ErrorKind::PermissionDenied)) and an actor that
    /// is neither blank nor [reserved](crate::is_reserved_actor)
    /// ([`InvalidInput`](ErrorKind::InvalidInput)); nothing changes otherwise.
    pub fn upsert_workspace_by(&self, spec: WorkspaceSpec, by: &By<'_>) -> Result<()> {
        by.check(Role::Admin, "change a workspace")?;
        self.record_workspace(spec, by.actor, by.role, by.at_ms)
    }

    fn record_workspace(&self, spec: WorkspaceSpec, actor: &str, role: Role, at_ms: u64) -> Result<()> {
        let mut authority = self.authority_lock()?;
        loop {
            self.check_workspace(&spec)?;
            let entry =
                AuditEntry::new(at_ms, actor, role, AuditAction::UpsertWorkspace, format!("workspace:{}", spec.id));
            if authority.record(entry, AuthorityEvent::Workspace { spec: spec.clone() }, &[])? {
                return self.apply_workspace(spec);
            }
        }
    }

    fn check_workspace(&self, spec: &WorkspaceSpec) -> Result<()> {
        validate_id("workspace", &spec.id)?;
        let non_development = |c: &&ClusterState| c.authority.spec.read().environment != Environment::Development;
        if spec.authority_mode == AuthorityMode::DevOverride
            && let Some(c) = self.clusters_of(&spec.id).find(non_development)
        {
            return Err(Error::invalid(format!(
                "dev_override applies to development clusters only; cluster '{}' of workspace '{}' is {}",
                c.id,
                spec.id,
                c.authority.spec.read().environment.as_str()
            )));
        }
        Ok(())
    }

    pub(crate) fn apply_workspace(&self, spec: WorkspaceSpec) -> Result<()> {
        self.check_workspace(&spec)?;
        self.authority.workspaces.write().insert(spec.id.clone(), spec);
        Ok(())
    }

    /// The workspace `id`.
    pub fn workspace(&self, id: &str) -> Result<WorkspaceSpec> {
        self.authority
            .workspaces
            .read()
            .get(id)
            .cloned()
            .ok_or_else(|| Error::not_found(format_args!("workspace '{id}'")))
    }

    /// Every workspace, by id.
    pub fn workspaces(&self) -> Vec<WorkspaceSpec> {
        self.authority.workspaces.read().values().cloned().collect()
    }

    /// Creates or updates a cluster. Its workspace must exist and cannot
    /// change. The change is audited (actor [`EMBEDDER`], role admin, the
    /// clock's time); [`upsert_cluster_by`](Self::upsert_cluster_by) names who made it.
    pub fn upsert_cluster(&self, spec: ClusterSpec) -> Result<()> {
        self.record_cluster(spec, EMBEDDER, Role::Admin, self.clock.now_ms())
    }

    /// [`upsert_cluster`](Self::upsert_cluster), audited with `by`'s actor,
    /// role and time. Needs the admin role
    /// ([`PermissionDenied`](ErrorKind::PermissionDenied)) and an actor that
    /// is neither blank nor [reserved](crate::is_reserved_actor)
    /// ([`InvalidInput`](ErrorKind::InvalidInput)); nothing changes otherwise.
    pub fn upsert_cluster_by(&self, spec: ClusterSpec, by: &By<'_>) -> Result<()> {
        by.check(Role::Admin, "change a cluster")?;
        self.record_cluster(spec, by.actor, by.role, by.at_ms)
    }

    fn record_cluster(&self, spec: ClusterSpec, actor: &str, role: Role, at_ms: u64) -> Result<()> {
        let mut authority = self.authority_lock()?;
        loop {
            self.check_cluster(&spec)?;
            let entry = AuditEntry::new(at_ms, actor, role, AuditAction::UpsertCluster, format!("cluster:{}", spec.id));
            if authority.record(entry, AuthorityEvent::Cluster { spec: spec.clone() }, &[])? {
                return self.apply_cluster(spec);
            }
        }
    }

    fn check_cluster(&self, spec: &ClusterSpec) -> Result<()> {
        validate_id("cluster", &spec.id)?;
        validate_id("workspace", &spec.workspace)?;
        crate::text::validate_owner_team(&spec.owner_team)?;
        let workspaces = self.authority.workspaces.read();
        let ws = workspaces
            .get(&spec.workspace)
            .ok_or_else(|| Error::not_found(format_args!("workspace '{}'", spec.workspace)))?;
        if ws.authority_mode == AuthorityMode::DevOverride && spec.environment != Environment::Development {
            return Err(Error::invalid(format!(
                "workspace '{}' is in dev_override, which applies to development clusters only",
                ws.id
            )));
        }
        if let Some(&index) = self.authority.cluster_ids.read().get(&spec.id) {
            let cluster = self.cluster_at(index);
            if *cluster.workspace != *spec.workspace {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("cluster '{}' belongs to workspace '{}'", spec.id, cluster.workspace),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn apply_cluster(&self, spec: ClusterSpec) -> Result<()> {
        self.check_cluster(&spec)?;
        let mut ids = self.authority.cluster_ids.write();
        if let Some(&index) = ids.get(&spec.id) {
            let cluster = self.cluster_at(index);
            cluster.authority.update_spec(spec);
            self.announce_cluster(cluster);
            return Ok(());
        }
        // Relaxed: `cluster_ids`' write lock serialises cluster creation.
        let index = self.authority.cluster_count.load(Ordering::Relaxed);
        let limit = self.authority.clusters.capacity().min(1 << crate::execution::slot::CLUSTER_BITS);
        let cell = (index as usize)
            .lt(&limit)
            .then(|| self.authority.clusters.get_or_alloc(index as usize))
            .flatten()
            .ok_or_else(|| Error::invalid(format!("the engine holds at most {limit} clusters")))?;
        let _ = cell.set(ClusterState::new(spec.clone(), 0));
        // Relaxed: readers find clusters through `cluster_ids` (lock) or through
        // a slot whose cluster was set before the slot was published.
        self.authority.cluster_count.store(index + 1, Ordering::Relaxed);
        ids.insert(spec.id, index);
        self.announce_cluster(self.cluster_at(index));
        Ok(())
    }

    pub(crate) fn cluster_index(&self, id: &str) -> Result<u32> {
        self.authority
            .cluster_ids
            .read()
            .get(id)
            .copied()
            .ok_or_else(|| Error::not_found(format_args!("cluster '{id}'")))
    }

    /// The cluster at a valid index (from `cluster_ids` or a slot).
    pub(crate) fn cluster_at(&self, index: u32) -> &ClusterState {
        // Invariant: indices come from `cluster_ids` or from slots, and both
        // are written only after the cluster's cell is set.
        self.authority
            .clusters
            .get(index as usize)
            .and_then(OnceLock::get)
            .expect("cluster index from a published cluster")
    }

    pub(crate) fn cluster_state(&self, id: &str) -> Result<&ClusterState> {
        self.cluster_index(id).map(|i| self.cluster_at(i))
    }

    /// Every cluster index, in creation order.
    pub(crate) fn cluster_indices(&self) -> impl Iterator<Item = u32> + use<> {
        // Relaxed: see `apply_cluster`.
        0..self.authority.cluster_count.load(Ordering::Relaxed)
    }

    /// Every cluster, in creation order.
    pub(crate) fn all_clusters(&self) -> impl Iterator<Item = &ClusterState> {
        self.cluster_indices().map(|i| self.cluster_at(i))
    }

    pub(crate) fn clusters_of<'a>(&'a self, workspace: &'a str) -> impl Iterator<Item = &'a ClusterState> + 'a {
        self.all_clusters().filter(move |c| *c.workspace == *workspace)
    }

    /// The cluster ids, in creation order.
    pub fn cluster_ids(&self) -> Vec<String> {
        self.all_clusters().map(|c| c.id.to_string()).collect()
    }

    /// Publishes `bytes` as the next snapshot of `cluster` and makes it the
    /// cluster's desired state (O(1), whatever the cluster's size). The
    /// artifact is stored by its hash; the publish is audited with the author
    /// as actor (role operator); the author follows the rules of an actor
    /// ([`validate_actor`](crate::validate_actor)) and may not be
    /// [reserved](crate::is_reserved_actor).
    pub fn publish(&self, cluster: &str, bytes: &[u8], author: &str, at_ms: u64) -> Result<Snapshot> {
        crate::governance::overrides::check_actor(author)?;
        self.record_publish(cluster, bytes, author, Role::Operator, at_ms, None)
    }

    /// [`publish`](Self::publish) by `by`: the snapshot's author is `by`'s
    /// actor, and the audit record carries `by`'s role (operator or admin;
    /// [`PermissionDenied`](ErrorKind::PermissionDenied) for a viewer).
    pub fn publish_by(&self, cluster: &str, bytes: &[u8], by: &By<'_>) -> Result<Snapshot> {
        by.check(Role::Operator, "publish")?;
        self.record_publish(cluster, bytes, by.actor, by.role, by.at_ms, None)
    }

    /// [`publish_by`](Self::publish_by), rolled out in the waves of `plan`
    /// (see [`crate::rollout`]): nodes of started waves should run the new
    /// snapshot, the others keep the desired one until their wave starts.
    /// The publish record carries the plan. A cluster with nothing
    /// published yet has nothing to roll out from
    /// ([`InvalidInput`](ErrorKind::InvalidInput)).
    ///
    /// ```
    /// use fleetgov::{By, Role, rollout::RolloutPlan};
    /// let t = 1_700_000_000_000;
    /// let e = fleetgov::demo::engine(t).unwrap();
    /// let plan = RolloutPlan::new([10, 100], 60_000, 20.0, true).unwrap();
    /// let by = By::new("alice", Role::Operator, t);
    /// let s = e.publish_with_rollout("eks-prod-us", b"v3", &by, plan).unwrap();
    /// let r = e.rollout("eks-prod-us", t).unwrap().unwrap();
    /// assert_eq!((r.state.as_str(), r.wave, r.target_snapshot.as_str()), ("progressing", 0, s.id.as_str()));
    /// ```
    pub fn publish_with_rollout(
        &self,
        cluster: &str,
        bytes: &[u8],
        by: &By<'_>,
        plan: RolloutPlan,
    ) -> Result<Snapshot> {
        by.check(Role::Operator, "publish")?;
        self.record_publish(cluster, bytes, by.actor, by.role, by.at_ms, Some(plan))
    }

    fn record_publish(
        &self,
        cluster: &str,
        bytes: &[u8],
        author: &str,
        role: Role,
        at_ms: u64,
        plan: Option<RolloutPlan>,
    ) -> Result<Snapshot> {
        if bytes.is_empty() {
            return Err(Error::invalid("artifact is empty"));
        }
        let mut authority = self.authority_lock()?;
        loop {
            let state = self.cluster_state(cluster)?;
            if plan.is_some() && state.authority.desired() == 0 {
                return Err(Error::invalid(format!(
                    "cluster '{cluster}' has no snapshot published yet: a rollout needs one to roll out from"
                )));
            }
            let revision = state.authority.latest() + 1;
            let snapshot = Snapshot {
                id: snapshot_id(cluster, revision),
                cluster: cluster.to_owned(),
                revision,
                hash: ContentHash::of(bytes),
                author: author.to_owned(),
                published_at_ms: at_ms.max(self.governance.audit().not_before()),
                size_bytes: bytes.len() as u64,
            };
            let entry = AuditEntry::new(snapshot.published_at_ms, author, role, AuditAction::Publish, &snapshot.id);
            let event = AuthorityEvent::Publish { snapshot: snapshot.clone(), rollout: plan.clone() };
            if authority.record(entry, event, bytes)? {
                return self.install_snapshot(state, snapshot, bytes, plan.as_ref()).cloned();
            }
        }
    }

    /// Restores a published snapshot from the audit log.
    pub(crate) fn restore_snapshot(&self, snapshot: Snapshot, bytes: &[u8], plan: Option<&RolloutPlan>) -> Result<()> {
        if ContentHash::of(bytes) != snapshot.hash {
            return Err(Error::new(
                ErrorKind::AuditTampered,
                format!("artifact of {} does not hash to its snapshot", snapshot.id),
            ));
        }
        let state = self.cluster_state(&snapshot.cluster)?;
        self.install_snapshot(state, snapshot, bytes, plan).map(drop)
    }

    /// Installs a published or replayed snapshot, with the rollout `plan`
    /// starts; the cluster's new counters go into the change feed.
    fn install_snapshot<'a>(
        &self,
        state: &'a ClusterState,
        snapshot: Snapshot,
        bytes: &[u8],
        plan: Option<&RolloutPlan>,
    ) -> Result<&'a Snapshot> {
        let hash = snapshot.hash;
        let at_ms = snapshot.published_at_ms;
        let installed = state.publish(snapshot, plan)?;
        self.authority.artifacts.entry(hash).or_insert_with(|| bytes.into());
        if plan.is_some() {
            self.forget_failures_before(state, at_ms);
        }
        self.announce_cluster(state);
        Ok(installed)
    }

    /// The snapshot `id` (`<cluster>@r<revision>`).
    pub fn snapshot(&self, id: &str) -> Result<Snapshot> {
        parse_snapshot_id(id)
            .and_then(|(cluster, revision)| self.cluster_state(cluster).ok()?.authority.snapshot(revision).cloned())
            .ok_or_else(|| Error::not_found(format_args!("snapshot '{id}'")))
    }

    /// The desired snapshot of `cluster`, if one was published.
    pub fn desired(&self, cluster: &str) -> Result<Option<Snapshot>> {
        let state = self.cluster_state(cluster)?;
        Ok(state.authority.snapshot(state.authority.desired()).cloned())
    }

    /// The artifact bytes whose blake3 hash is `hash` (what a runtime pulls).
    pub fn artifact(&self, hash: &ContentHash) -> Result<Arc<[u8]>> {
        self.authority
            .artifacts
            .get(hash)
            .map(|a| a.clone())
            .ok_or_else(|| Error::not_found(format_args!("artifact {hash}")))
    }

    /// The minimum runtime version of a cluster's workspace.
    pub(crate) fn min_version(&self, cluster: &ClusterState) -> Option<RuntimeVersion> {
        self.authority.workspaces.read().get(&*cluster.workspace).map(|w| w.min_runtime_version)
    }
}
