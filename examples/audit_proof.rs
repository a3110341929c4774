//! Audit and proof, end to end: a durable audit log, a signed checkpoint,
//! an auditor who checks proofs holding only the public key, and a tampered
//! file caught at the record that was touched.
//!
//! Run with `cargo run --example audit_proof`.

use fleetgov::audit::{
    AuditAction, AuditEntry, AuditLog, Checkpoint, CheckpointSigner, CheckpointVerifier, verify_file,
    verify_file_against,
};
use fleetgov::{Error, Role};

fn main() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("audit.log");
    let t = 1_700_000_000_000;

    // The log owner: a signing key and a file-backed log.
    let owner = CheckpointSigner::generate("fleetgov.example/audit/ws-1")?;
    let log = AuditLog::open(&path)?;
    log.append(
        AuditEntry::new(t, "alice", Role::Operator, AuditAction::Publish, "eks-prod-us")
            .payload(&br#"{"snapshot":"eks-prod-us@r1"}"#[..]),
    )?;
    let forced = log.append(
        AuditEntry::new(t + 60_000, "bob", Role::Operator, AuditAction::ForceSyncNode, "gw-7")
            .justification("Node re-provisioning after hardware failure"),
    )?;
    let refused = log.append(AuditEntry::new(t + 61_000, "bob", Role::Admin, AuditAction::GlobalOverwrite, "ws-1"));
    println!("override without a justification: {}", refused.unwrap_err());

    let note = log.checkpoint(&owner)?;
    println!("\nsigned checkpoint:\n{note}");
    let public_key = owner.verifier().to_string();
    println!("owner's public key: {public_key}\n");

    // An auditor with only the public key, the checkpoint and a proof.
    let verifier: CheckpointVerifier = public_key.parse()?;
    let checkpoint = Checkpoint::open(&note, &verifier)?;
    let proof = log.inclusion_proof(forced.seq, checkpoint.size)?;
    proof.verify(&forced.leaf_hash(), &checkpoint.head())?;
    println!(
        "record {} ({} of {} by {}: {:?}) is in the log of {} records",
        forced.seq, forced.action, forced.target, forced.actor, forced.justification, checkpoint.size
    );

    // The log grows; a consistency proof shows nothing before was rewritten.
    log.append(AuditEntry::new(t + 120_000, "alice", Role::Operator, AuditAction::Publish, "eks-prod-us"))?;
    let later = Checkpoint::open(&log.checkpoint(&owner)?, &verifier)?;
    log.consistency_proof(checkpoint.size, later.size)?.verify(&checkpoint.head(), &later.head())?;
    println!("the log of {} records extends the log of {}", later.size, checkpoint.size);
    drop(log);

    // Offline verification of the file, then of a tampered copy.
    let report = verify_file_against(&path, &later)?;
    println!("file verifies: {} records, root {}", report.head.size, report.head.root);
    let mut bytes = std::fs::read(&path)?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&path, &bytes)?;
    println!("after flipping one byte: {}", verify_file(&path).unwrap_err());
    Ok(())
}
