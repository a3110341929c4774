//! The node-state checkpoint: every heard-from node's last report in one
//! file (`nodes.ckpt`), replaced whole (written aside, fsynced, renamed), so
//! a restart restores every node at once without waiting for the fleet.
//!
//! Layout: the magic `fleetgov nodes\n\0`, the format version (u32), the
//! number of journal entries on disk when it was taken (u64), the number of
//! nodes (u32), the nodes, and a CRC-32C of everything before it; integers
//! big-endian, metrics as IEEE-754 bits, a node's sync-error detail as a
//! length byte and UTF-8.

use std::path::Path;

use super::{io, write_durably};
use crate::error::{Error, ErrorKind, Result};
use crate::execution::heartbeat::Metrics;
use crate::hash::ContentHash;

const MAGIC: &[u8; 16] = b"fleetgov nodes\n\0";
const VERSION: u32 = 1;

/// One node's last report, as checkpointed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SavedNode {
    pub(crate) slot: u32,
    /// The applied revision of its own cluster (0: none).
    pub(crate) revision: u32,
    pub(crate) hash_ok: bool,
    /// The process status byte.
    pub(crate) status: u8,
    /// The sync-error code byte (0: none).
    pub(crate) code: u8,
    pub(crate) last_hb_ms: u64,
    pub(crate) metrics: Metrics,
    pub(crate) heap_prev: f32,
    pub(crate) version: u32,
    /// The reported hash when it matched no snapshot.
    pub(crate) odd_hash: Option<ContentHash>,
    /// The node's sync-error detail (at most 47 bytes), when it reported one.
    pub(crate) detail: Option<String>,
}

impl SavedNode {
    /// Appends the node's encoding to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let n = self;
        out.extend_from_slice(&n.slot.to_be_bytes());
        out.extend_from_slice(&n.revision.to_be_bytes());
        out.extend_from_slice(&[u8::from(n.hash_ok), n.status, n.code]);
        out.extend_from_slice(&n.last_hb_ms.to_be_bytes());
        let m = &n.metrics;
        for f in [m.cpu, m.memory, m.heap, n.heap_prev, m.tps] {
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        out.extend_from_slice(&m.hot_swap_errors.to_be_bytes());
        out.extend_from_slice(&n.version.to_be_bytes());
        match n.odd_hash {
            None => out.push(0),
            Some(h) => {
                out.push(1);
                out.extend_from_slice(h.as_bytes());
            }
        }
        // Details are cut to MAX_DETAIL_LEN (47) bytes; 255 is a safe bound.
        let detail = n.detail.as_deref().map_or(&[][..], |d| &d.as_bytes()[..d.len().min(255)]);
        out.push(detail.len() as u8);
        out.extend_from_slice(detail);
    }

    /// Decodes a node [`encode`](Self::encode) wrote from the front of
    /// `bytes`, advancing it; `None` when it does not decode.
    pub(crate) fn decode(bytes: &mut &[u8]) -> Option<SavedNode> {
        let mut r = Reader(bytes);
        let node = r.node()?;
        *bytes = r.0;
        Some(node)
    }
}

/// A checkpoint: the journal entries on disk when it was taken, and the nodes.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Checkpoint {
    pub(crate) journal_len: u64,
    pub(crate) nodes: Vec<SavedNode>,
}

impl Checkpoint {
    pub(crate) fn write(&self, path: &Path) -> Result<()> {
        let mut out = Vec::with_capacity(36 + self.nodes.len() * 50);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&self.journal_len.to_be_bytes());
        // The nodes are at most the engine's capacity, a u32.
        out.extend_from_slice(&(self.nodes.len() as u32).to_be_bytes());
        for n in &self.nodes {
            n.encode(&mut out);
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        write_durably(path, &out, false)
    }

    /// The checkpoint at `path`, if one was written.
    pub(crate) fn read(path: &Path) -> Result<Option<Checkpoint>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(path, "read", &e)),
        };
        let damaged = || Error::new(ErrorKind::AuditTampered, format!("node checkpoint {} is damaged", path.display()));
        let (body, crc) = bytes.split_at_checked(bytes.len().saturating_sub(4)).ok_or_else(damaged)?;
        if bytes.len() < 36 || crc32c::crc32c(body).to_be_bytes() != crc || &body[..16] != MAGIC {
            return Err(damaged());
        }
        let mut r = Reader(&body[16..]);
        if r.u32().ok_or_else(damaged)? != VERSION {
            return Err(Error::invalid(format!("node checkpoint {} is of another format version", path.display())));
        }
        let journal_len = r.u64().ok_or_else(damaged)?;
        let count = r.u32().ok_or_else(damaged)?;
        let nodes = (0..count).map(|_| r.node().ok_or_else(damaged)).collect::<Result<Vec<_>>>()?;
        if !r.0.is_empty() {
            return Err(damaged());
        }
        Ok(Some(Checkpoint { journal_len, nodes }))
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_at_checked(N)?;
        self.0 = rest;
        head.try_into().ok()
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_be_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_be_bytes)
    }
    fn f32(&mut self) -> Option<f32> {
        self.u32().map(f32::from_bits)
    }
    fn node(&mut self) -> Option<SavedNode> {
        let (slot, revision) = (self.u32()?, self.u32()?);
        let [hash_ok, status, code] = self.take()?;
        let last_hb_ms = self.u64()?;
        let (cpu, memory, heap, heap_prev, tps) = (self.f32()?, self.f32()?, self.f32()?, self.f32()?, self.f32()?);
        let (hot_swap_errors, version) = (self.u32()?, self.u32()?);
        let odd_hash = match self.take::<1>()?[0] {
            0 => None,
            1 => Some(ContentHash(self.take()?)),
            _ => return None,
        };
        let [len] = self.take()?;
        let (detail, rest) = self.0.split_at_checked(usize::from(len))?;
        self.0 = rest;
        let detail = (len != 0).then(|| String::from_utf8(detail.to_vec()).ok()).flatten();
        Some(SavedNode {
            slot,
            revision,
            hash_ok: hash_ok != 0,
            status,
            code,
            last_hb_ms,
            metrics: Metrics { cpu, memory, tps, heap, hot_swap_errors },
            heap_prev,
            version,
            odd_hash,
            detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_round_trips_and_damage_is_refused() {
        let path = std::env::temp_dir().join(format!("fleetgov-ckpt-{}.ckpt", std::process::id()));
        assert_eq!(Checkpoint::read(&path).unwrap(), None);
        let node = |slot, odd_hash: Option<ContentHash>| SavedNode {
            slot,
            revision: 3,
            hash_ok: odd_hash.is_none(),
            status: 1,
            code: 2,
            last_hb_ms: 1_700_000_000_000,
            metrics: Metrics { cpu: 1.5, memory: 2.0, tps: 300.25, heap: 40.0, hot_swap_errors: 4 },
            heap_prev: 39.5,
            version: 77,
            odd_hash,
            detail: odd_hash.map(|_| "reload failed: filter chain".to_owned()),
        };
        let c = Checkpoint { journal_len: 12, nodes: vec![node(0, None), node(5, Some(ContentHash([3; 32])))] };
        c.write(&path).unwrap();
        assert_eq!(Checkpoint::read(&path).unwrap(), Some(c));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[40] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(Checkpoint::read(&path).unwrap_err().kind(), ErrorKind::AuditTampered);
        std::fs::remove_file(&path).unwrap();
    }
}
