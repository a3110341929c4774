//! The audit log for third-party verifiers over real HTTP: C2SP tlog-tiles
//! under `/log/`, `tlog-proof@v1` bundles, consistency proofs.

mod common;

use std::collections::HashMap;

use base64::Engine as _;
use common::{OPERATOR, SCOPED, Server, VIEWER, assert_error, json, start};
use fleetgov::audit::{Checkpoint, CheckpointVerifier, ConsistencyProof, Tile, TlogProof, verify_tiles};
use fleetgov::{ForceTarget, Override, Role};
use reqwest::Method;

async fn grow(s: &Server, n: usize) {
    let now = s.engine.clock().now_ms();
    for _ in 0..n {
        let by = Override::new("omar", Role::Operator, "Node re-provisioning after hardware failure", now);
        s.engine.force_sync(ForceTarget::Node("gw-stage-eu-4"), &by).unwrap();
    }
}

async fn verifier(s: &Server) -> CheckpointVerifier {
    let (_, cp) = s.get("/api/v1/checkpoint", VIEWER).await;
    cp["verifierKey"].as_str().unwrap().parse().unwrap()
}

async fn raw(s: &Server, path: &str, token: &str) -> reqwest::Response {
    s.request(Method::GET, path, Some(token)).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tile_verifies_against_the_served_checkpoint_and_tampering_is_caught() {
    let s = start().await;
    grow(&s, 300).await;
    let verifier = verifier(&s).await;
    let r = raw(&s, "/log/checkpoint", VIEWER).await;
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    let head = Checkpoint::open(&r.text().await.unwrap(), &verifier).unwrap();
    assert!(head.size > 300);

    let mut tiles = HashMap::new();
    for tile in Tile::all_for(head.size) {
        let r = raw(&s, &format!("/log/{tile}"), VIEWER).await;
        assert_eq!(r.status(), 200, "{tile}");
        assert_eq!(r.headers()["content-type"], "application/octet-stream");
        let cache = r.headers()["cache-control"].to_str().unwrap().to_owned();
        assert_eq!(cache.contains("immutable"), tile.is_full(), "{tile}: {cache}");
        tiles.insert(tile, r.bytes().await.unwrap().to_vec());
    }
    let entries = verify_tiles(&head.head(), |t| Ok(tiles[t].clone())).unwrap();
    assert_eq!(entries[0], s.engine.audit_record(0).unwrap().encode());
    let level0: Tile = "tile/0/000".parse().unwrap();
    tiles.get_mut(&level0).unwrap()[77] ^= 1;
    assert!(verify_tiles(&head.head(), |t| Ok(tiles[t].clone())).is_err());

    // Tiles hold every workspace's records.
    let scoped = json(raw(&s, "/log/tile/0/000", SCOPED).await).await;
    assert_error(&scoped, 403, "PERMISSION_DENIED");
    assert_error(&json(raw(&s, "/log/tile/0/1", VIEWER).await).await, 400, "INVALID_INPUT");
    assert_error(&json(raw(&s, "/log/tile/0/x001/000", VIEWER).await).await, 404, "NOT_FOUND");
    assert_error(&json(raw(&s, "/log/tile/entries/001", VIEWER).await).await, 404, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proof_bundles_and_consistency_proofs_check_with_the_verifier_key_alone() {
    let s = start().await;
    let verifier = verifier(&s).await;
    let (_, before) = s.get("/api/v1/checkpoint", VIEWER).await;
    grow(&s, 20).await;
    let (_, after) = s.get("/api/v1/checkpoint", VIEWER).await;
    let last = after["size"].as_u64().unwrap() - 1;

    let (status, proof) = s.get(&format!("/api/v1/audit/{last}/proof"), OPERATOR).await;
    assert_eq!(status, 200, "{proof}");
    let entry = base64::engine::general_purpose::STANDARD.decode(proof["entry"].as_str().unwrap()).unwrap();
    assert_eq!(entry, s.engine.audit_record(last).unwrap().encode());
    let bundle: TlogProof = proof["tlogProof"].as_str().unwrap().parse().unwrap();
    assert_eq!(bundle.checkpoint, proof["checkpoint"].as_str().unwrap());
    let signed = bundle.verify(&entry, &verifier).unwrap();
    assert!(signed.size > last);
    let mut other = entry.clone();
    other[1] ^= 1;
    assert!(bundle.verify(&other, &verifier).is_err());

    let (old, new) = (before["size"].as_u64().unwrap(), after["size"].as_u64().unwrap());
    let (status, body) = s.get(&format!("/api/v1/audit/consistency?from={old}&to={new}"), VIEWER).await;
    assert_eq!(status, 200, "{body}");
    let consistency =
        ConsistencyProof::from(serde_json::from_value::<fleetgov_dto::ConsistencyProofJson>(body).unwrap());
    let (old_cp, new_cp) = (before["checkpoint"].as_str().unwrap(), after["checkpoint"].as_str().unwrap());
    consistency.verify_checkpoints(old_cp, new_cp, &verifier).unwrap();
    assert!(consistency.verify_checkpoints(new_cp, old_cp, &verifier).is_err());

    let bad = format!("/api/v1/audit/consistency?from={new}&to={old}");
    assert_error(&s.get(&bad, VIEWER).await, 400, "INVALID_INPUT");
    assert_error(
        &s.get(&format!("/api/v1/audit/consistency?from=1&to={}", new + 1), VIEWER).await,
        400,
        "INVALID_INPUT",
    );
    assert_error(&s.get("/api/v1/audit/consistency?from=1", VIEWER).await, 400, "INVALID_INPUT");
}
