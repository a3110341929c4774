//! The audit log as C2SP tlog-tiles: a log grown across several full tiles
//! and three tile levels verifies tile by tile against its signed
//! checkpoint, and any tampered tile or entry bundle is caught.

use std::collections::HashMap;

use fleetgov::audit::{
    AuditAction, AuditEntry, AuditLog, Checkpoint, CheckpointSigner, Tile, TileKind, TlogProof, verify_tiles,
};
use fleetgov::{ErrorKind, Role};

/// Past 65,536 records: full tiles on levels 0 and 1, partial tiles on
/// levels 0, 1 and 2.
const RECORDS: u64 = 70_000;

fn grown(n: u64) -> AuditLog {
    let log = AuditLog::in_memory();
    for t in 0..n {
        let entry = AuditEntry::new(t, format!("actor-{}", t % 7), Role::Operator, AuditAction::Publish, "eks-prod-us")
            .payload(t.to_be_bytes().to_vec());
        log.append(entry).unwrap();
    }
    log
}

fn all_tiles(log: &AuditLog) -> HashMap<Tile, Vec<u8>> {
    Tile::all_for(log.size()).into_iter().map(|t| (t, log.tile(&t).unwrap())).collect()
}

fn check(head: &Checkpoint, tiles: &HashMap<Tile, Vec<u8>>) -> fleetgov::Result<Vec<Vec<u8>>> {
    verify_tiles(&head.head(), |t| Ok(tiles[t].clone()))
}

#[test]
fn a_log_of_70000_records_verifies_tile_by_tile_and_every_tampering_is_caught() {
    let signer = CheckpointSigner::from_seed("fleetgov.test/audit", [3; 32]).unwrap();
    let log = grown(RECORDS);
    let note = log.checkpoint(&signer).unwrap();
    let head = Checkpoint::open(&note, &signer.verifier()).unwrap();
    let tiles = all_tiles(&log);

    let widths = |kind| {
        let mut w: Vec<(u64, u16)> = tiles.keys().filter(|t| t.kind == kind).map(|t| (t.index, t.width)).collect();
        w.sort();
        w
    };
    assert_eq!(widths(TileKind::Hashes(0)).len(), 274);
    assert_eq!(widths(TileKind::Hashes(0))[273], (273, 112));
    assert_eq!(widths(TileKind::Hashes(1)), [(0, 256), (1, 17)]);
    assert_eq!(widths(TileKind::Hashes(2)), [(0, 1)]);

    let entries = check(&head, &tiles).unwrap();
    assert_eq!(entries.len() as u64, RECORDS);
    for seq in [0, 1, 255, 256, 65_535, 65_536, RECORDS - 1] {
        assert_eq!(entries[seq as usize], log.record(seq).unwrap().encode(), "record {seq}");
    }

    // One flipped bit anywhere in a sample of tiles of every kind and level.
    let samples = ["tile/0/000", "tile/0/100", "tile/0/273.p/112", "tile/1/000", "tile/1/001.p/17", "tile/2/000.p/1"];
    for path in samples.iter().chain(&["tile/entries/000", "tile/entries/272", "tile/entries/273.p/112"]) {
        let tile: Tile = path.parse().unwrap();
        let len = tiles[&tile].len();
        for at in [0, len / 2, len - 1] {
            let mut tampered = tiles.clone();
            tampered.get_mut(&tile).unwrap()[at] ^= 0x04;
            let e = check(&head, &tampered).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AuditTampered, "{path} byte {at}: {e}");
        }
    }
    // A cut tile, a bundle with one entry too many, a different record's entries.
    let mut cut = tiles.clone();
    cut.get_mut(&"tile/1/000".parse().unwrap()).unwrap().truncate(8_160);
    assert_eq!(check(&head, &cut).unwrap_err().kind(), ErrorKind::AuditTampered);
    let mut longer = tiles.clone();
    let extra = log.tile(&"tile/entries/000.p/1".parse().unwrap()).unwrap();
    longer.get_mut(&"tile/entries/005".parse().unwrap()).unwrap().extend(extra);
    assert_eq!(check(&head, &longer).unwrap_err().kind(), ErrorKind::AuditTampered);
    let mut swapped = tiles.clone();
    let five = swapped[&"tile/entries/005".parse().unwrap()].clone();
    swapped.insert("tile/entries/006".parse().unwrap(), five);
    assert_eq!(check(&head, &swapped).unwrap_err().kind(), ErrorKind::AuditTampered);
    // The right tiles against another head: an older size, another root.
    let older = Checkpoint { size: RECORDS - 1, ..head.clone() };
    assert!(check(&older, &all_tiles(&grown(RECORDS - 1))).is_err());
}

#[test]
fn tiles_checkpoints_and_proof_bundles_survive_a_restart_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let signer = CheckpointSigner::from_seed("fleetgov.test/audit", [4; 32]).unwrap();
    let log = AuditLog::open(&path).unwrap();
    for t in 0..600 {
        log.append(AuditEntry::new(t, "alice", Role::Admin, AuditAction::UpsertWorkspace, "ws-1")).unwrap();
    }
    let (tiles, note, bundle) =
        (all_tiles(&log), log.checkpoint(&signer).unwrap(), log.tlog_proof(301, &signer).unwrap());
    drop(log);
    let reopened = AuditLog::open(&path).unwrap();
    assert_eq!(all_tiles(&reopened), tiles);
    // Ed25519 signatures are deterministic: the same head signs to the same note.
    assert_eq!(reopened.checkpoint(&signer).unwrap(), note);
    assert_eq!(reopened.tlog_proof(301, &signer).unwrap(), bundle);
    let entry = reopened.record(301).unwrap().encode();
    let parsed: TlogProof = bundle.to_string().parse().unwrap();
    assert_eq!(parsed.verify(&entry, &signer.verifier()).unwrap().size, 600);
}
