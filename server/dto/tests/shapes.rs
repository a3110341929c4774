//! The documents keep the published camelCase keys: the fleet inventory
//! (`GET /api/v1/workspaces/{id}/fleet`), a node, a cluster and the fleet
//! configuration a runtime pulls.

use fleetgov::{ClusterSpec, Engine, Environment, Heartbeat, WorkspaceSpec};
use fleetgov_dto::{ClusterJson, FleetInventoryJson, NodeJson};

const T0: u64 = 1_700_000_000_000;

fn engine() -> Engine {
    let e = Engine::new();
    e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    e.upsert_cluster(ClusterSpec::new("prod", "ws", Environment::Production)).unwrap();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    let a = e.enroll("a", "prod", T0).unwrap();
    e.heartbeat(a, &Heartbeat::new(T0, "3.3.9".parse().unwrap()).applied(&s.id, s.hash)).unwrap();
    e
}

fn keys(json: &serde_json::Value) -> Vec<&str> {
    json.as_object().unwrap().keys().map(String::as_str).collect()
}

#[test]
fn the_inventory_has_the_seeds_keys() {
    let e = engine();
    let json = serde_json::to_value(FleetInventoryJson::from(e.fleet("ws", T0).unwrap())).unwrap();
    let mut runtime = keys(&json["runtimes"][0]);
    runtime.sort_unstable();
    let expected = [
        "appliedHash",
        "appliedSnapshot",
        "cluster",
        "drift",
        "health",
        "id",
        "lastHeartbeat",
        "lastSyncError",
        "version",
    ];
    assert_eq!(runtime, expected);
    assert_eq!(json["runtimes"][0]["drift"], "upgrade_required");
    assert_eq!(json["summary"]["upgradeRequired"], 1);
    assert_eq!(json["desiredState"]["minRuntimeVersion"], "3.4.0");
    assert_eq!(json["desiredState"]["clusters"][0]["revision"], 1);
}

#[test]
fn a_node_and_a_cluster_have_the_apis_keys() {
    let e = engine();
    let node = serde_json::to_value(NodeJson::from(&e.node("a", T0).unwrap())).unwrap();
    assert_eq!(node["clusterId"], "prod");
    assert_eq!(node["metrics"]["hotSwapErrors"], 0);
    assert_eq!(node["runtimeVersion"], "3.3.9");
    let cluster = serde_json::to_value(ClusterJson::from(&e.cluster("prod", T0).unwrap())).unwrap();
    assert_eq!(
        (&cluster["cohesionBasisPoints"], &cluster["inSync"], &cluster["ownerTeam"]),
        (&10_000.into(), &1.into(), &"".into())
    );
}

#[test]
fn the_fleet_config_has_the_published_shape() {
    use fleetgov::policy::{Policy, PolicyScope, RuleSet, RuleValue};
    use fleetgov::{AuthorityMode, ContentHash, FleetConfig};
    use fleetgov_dto::FleetConfigJson;

    let rules = |pairs: &[(&str, RuleValue)]| {
        pairs.iter().fold(RuleSet::new(), |set, (name, value)| set.with(*name, value.clone()).unwrap())
    };
    let policies = [
        Policy::new(
            PolicyScope::workspace("ws-1"),
            "edge-cors",
            rules(&[
                ("cors_allowed_origins", RuleValue::allow_list(["https://app.example.com"])),
                ("rate_limit_per_minute", RuleValue::Limit(600)),
            ]),
        )
        .unwrap(),
        Policy::new(
            PolicyScope::Org,
            "org-baseline",
            rules(&[("require_mtls", RuleValue::Flag(true)), ("rate_limit_per_minute", RuleValue::Limit(1000))]),
        )
        .unwrap(),
    ];
    let prod = ContentHash::of(b"prod config");
    let stage = ContentHash::of(b"stage config");
    let clusters = [
        ("gke-stage-eu", Some(("gke-stage-eu@r7", 7, stage))),
        ("eks-prod-us", Some(("eks-prod-us@r12", 12, prod))),
        ("azure-dev-west", None),
    ];
    let cfg = FleetConfig::new("ws-1", AuthorityMode::TightenOnly, policies, clusters).unwrap();
    let json = serde_json::to_value(FleetConfigJson::from(&cfg)).unwrap();
    let expected = serde_json::json!({
        "workspaceId": "ws-1",
        "distribution_mode": "always_pull",
        "config_path": "/api/v1/workspaces/ws-1/fleet/config",
        "policies_path": "/api/v1/workspaces/ws-1/fleet/policies",
        "authorityMode": "tighten_only",
        "activePolicies": [
            {
                "id": "org-baseline",
                "scope": "org",
                "rules": {
                    "rate_limit_per_minute": {"kind": "limit", "value": 1000},
                    "require_mtls": {"kind": "flag", "value": true}
                }
            },
            {
                "id": "edge-cors",
                "scope": "workspace",
                "workspaceId": "ws-1",
                "rules": {
                    "cors_allowed_origins": {"kind": "allow_list", "value": ["https://app.example.com"]},
                    "rate_limit_per_minute": {"kind": "limit", "value": 600}
                }
            }
        ],
        "cloudRules": {
            "cors_allowed_origins": {"kind": "allow_list", "value": ["https://app.example.com"]},
            "rate_limit_per_minute": {"kind": "limit", "value": 600},
            "require_mtls": {"kind": "flag", "value": true}
        },
        "clusters": [
            {"clusterId": "azure-dev-west", "desiredSnapshot": null},
            {"clusterId": "eks-prod-us", "desiredSnapshot": {"id": "eks-prod-us@r12", "revision": 12, "hash": prod.to_string()}},
            {"clusterId": "gke-stage-eu", "desiredSnapshot": {"id": "gke-stage-eu@r7", "revision": 7, "hash": stage.to_string()}}
        ]
    });
    assert_eq!(json, expected);
}

#[test]
fn a_rollout_has_exactly_the_contracts_keys() {
    let e = engine();
    let by = fleetgov::By::new("alice", fleetgov::Role::Operator, T0 + 1);
    let plan = fleetgov::rollout::RolloutPlan::new([50, 100], 60_000, 10.0, true).unwrap();
    e.publish_with_rollout("prod", b"b", &by, plan).unwrap();
    let json =
        serde_json::to_value(fleetgov_dto::RolloutJson::from(&e.rollout("prod", T0 + 1).unwrap().unwrap())).unwrap();
    let mut top = keys(&json);
    top.sort_unstable();
    let expected = [
        "autoRollback",
        "bakeEndsMs",
        "bakeMs",
        "cluster",
        "failureBudget",
        "failures",
        "maxFailurePct",
        "nodesStarted",
        "onTarget",
        "perWave",
        "previousSnapshot",
        "reason",
        "sinceMs",
        "state",
        "targetSnapshot",
        "wave",
        "waves",
    ];
    assert_eq!(top, expected);
    let mut wave = keys(&json["perWave"][0]);
    wave.sort_unstable();
    assert_eq!(wave, ["failures", "nodes", "onTarget", "percent", "startedMs"]);
    assert_eq!(
        (json["previousSnapshot"].as_str(), json["targetSnapshot"].as_str()),
        (Some("prod@r1"), Some("prod@r2"))
    );
    assert_eq!((json["maxFailurePct"].as_f64(), json["waves"].clone()), (Some(10.0), serde_json::json!([50, 100])));
    assert_eq!(json["perWave"][0]["startedMs"].as_u64(), Some(T0 + 1), "the first wave starts with the publish");
}
