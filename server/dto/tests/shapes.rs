//! The documents keep the seeds' camelCase keys: the fleet inventory
//! (`GET /api/v1/workspaces/{id}/fleet`), a node and a cluster.

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
