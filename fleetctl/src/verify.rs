//! `fleetctl audit verify`: the signed checkpoint, every tile and every
//! entry of the audit log checked offline, with the verifier key alone.

use fleetgov::audit::{Checkpoint, CheckpointVerifier, Tile, verify_tiles};

use crate::client::{Client, CtlError};

/// What a verification established.
pub struct Verified {
    pub origin: String,
    pub size: u64,
    pub root: String,
}

/// Fetches `/log/checkpoint` and every tile the signed size needs, and
/// checks them against `key` (a verifier key `name+hex8+base64`).
pub fn audit_log(client: &Client, key: &str) -> Result<Verified, CtlError> {
    let verifier: CheckpointVerifier =
        key.parse().map_err(|e: fleetgov::Error| CtlError::Usage(format!("--key: {}", e.message())))?;
    let note = client.get_bytes("/log/checkpoint")?;
    let note = String::from_utf8(note).map_err(|_| CtlError::Verification("the checkpoint is not text".into()))?;
    let checkpoint = Checkpoint::open(&note, &verifier)?;
    let head = checkpoint.head();
    let mut failed_fetch = None;
    let entries = verify_tiles(&head, |tile: &Tile| {
        client.get_bytes(&format!("/log/{tile}")).map_err(|e| {
            let message = e.to_string();
            failed_fetch = Some(e);
            fleetgov::Error::new(fleetgov::ErrorKind::NotFound, message)
        })
    });
    match (entries, failed_fetch) {
        (Ok(entries), _) if entries.len() as u64 == head.size => {
            Ok(Verified { origin: checkpoint.origin, size: head.size, root: head.root.to_string() })
        }
        (Ok(entries), _) => Err(CtlError::Verification(format!(
            "the tiles hold {} entries, the checkpoint signs {}",
            entries.len(),
            head.size
        ))),
        (Err(_), Some(fetch)) => Err(fetch),
        (Err(e), None) => Err(e.into()),
    }
}
