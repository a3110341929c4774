//! The log as C2SP `tlog-tiles`: hash tiles and entry bundles, their paths,
//! and an offline check of a whole tiled log against a trusted checkpoint.
//!
//! A tile is a row of at most 256 consecutive hashes of one tree level:
//! the level-`L` tile `N` holds, for `i` in `0..256`,
//! `MTH(D[(N·256 + i)·256^L .. (N·256 + i + 1)·256^L])` (RFC 6962 §2.1),
//! so level 0 holds leaf hashes and each hash of level `L ≥ 1` is the root
//! of a full tile of level `L - 1`. The rightmost tiles of a level are
//! *partial* (1 to 255 hashes); an entry bundle holds the entries (record
//! encodings) behind one level-0 tile, each prefixed by its length as a
//! big-endian `u16`.
//!
//! ```text
//! tile/<L>/<N>[.p/<W>]         L: 0..=63 in decimal; W: 1..=255
//! tile/entries/<N>[.p/<W>]     N: 3-digit groups, all but the last with an `x`:
//!                              1234067 is x001/x234/067
//! ```
//!
//! ```
//! use fleetgov::audit::{verify_tiles, AuditAction, AuditEntry, AuditLog, Tile};
//! use fleetgov::Role;
//! let log = AuditLog::in_memory();
//! for t in 0..300 {
//!     log.append(AuditEntry::new(t, "alice", Role::Admin, AuditAction::UpsertWorkspace, "ws-1")).unwrap();
//! }
//! let tile: Tile = "tile/0/001.p/44".parse().unwrap();
//! assert_eq!(log.tile(&tile).unwrap().len(), 44 * 32);
//! // An auditor holding a trusted head fetches every tile and checks them all.
//! let entries = verify_tiles(&log.head(), |tile| log.tile(tile)).unwrap();
//! assert_eq!(entries[299], log.record(299).unwrap().encode());
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use super::hasher::{Rfc6962, TreeHash, TreeHasher};
use super::merkle::MerkleTree;
use super::record::AuditRecord;
use super::verify::TreeHead;
use crate::error::{Error, ErrorKind, Result};

/// Hashes per full tile.
pub const TILE_WIDTH: u16 = 256;
/// Tree levels per tile level: a full tile is a subtree of height 8.
const TILE_HEIGHT: u32 = 8;
/// The highest tile level of the specification.
const MAX_LEVEL: u8 = 63;

/// What a tile holds: the hashes of one tile level, or log entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// Merkle tree hashes of tile level `L` (tree level `8·L`).
    Hashes(u8),
    /// An entry bundle: the entries behind the level-0 tile of the same index.
    Entries,
}

/// One tile or entry bundle of a tiled log: kind, index and width.
///
/// Parses from and prints as its path (`tile/1/x001/234.p/7`,
/// `tile/entries/000`); [`Tile::new`] checks the same rules.
///
/// ```
/// use fleetgov::audit::{Tile, TileKind};
/// let t: Tile = "tile/2/x001/x234/067.p/8".parse().unwrap();
/// assert_eq!((t.kind, t.index, t.width), (TileKind::Hashes(2), 1_234_067, 8));
/// assert_eq!(t.to_string(), "tile/2/x001/x234/067.p/8");
/// assert_eq!(Tile::new(TileKind::Entries, 5, 256).unwrap().to_string(), "tile/entries/005");
/// for bad in ["tile/0/1", "tile/0/x000/001", "tile/64/000", "tile/0/000.p/256", "tile/0/000.p/0", "tile/00/000"] {
///     assert!(bad.parse::<Tile>().is_err(), "{bad}");
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tile {
    /// Hashes of a level, or entries.
    pub kind: TileKind,
    /// The tile's index within its level.
    pub index: u64,
    /// How many hashes (or entries) it holds: 256 for a full tile, 1 to 255
    /// for a partial one.
    pub width: u16,
}

impl Tile {
    /// The tile `index` of `kind` holding `width` hashes or entries.
    /// A level above 63 or a width of 0 or above 256 is
    /// [`InvalidInput`](ErrorKind::InvalidInput).
    pub fn new(kind: TileKind, index: u64, width: u16) -> Result<Self> {
        if let TileKind::Hashes(level) = kind
            && level > MAX_LEVEL
        {
            return Err(Error::invalid(format!("tile level {level} is above {MAX_LEVEL}")));
        }
        if width == 0 || width > TILE_WIDTH {
            return Err(Error::invalid(format!("tile width {width} is not 1 to {TILE_WIDTH}")));
        }
        Ok(Tile { kind, index, width })
    }

    /// Whether the tile is full (256 wide).
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The tile level: 0 for entry bundles.
    fn level(&self) -> u8 {
        match self.kind {
            TileKind::Hashes(level) => level,
            TileKind::Entries => 0,
        }
    }

    /// Index of the first hash this tile holds within its tree level.
    fn first(&self) -> u64 {
        self.index * u64::from(TILE_WIDTH)
    }

    /// The number of leaves the log needs for this tile to exist:
    /// `(index·256 + width)·256^level`; `None` beyond `u64`.
    fn end(&self) -> Option<u64> {
        let hashes = self.index.checked_mul(u64::from(TILE_WIDTH))?.checked_add(u64::from(self.width))?;
        let span = 1u64.checked_shl(TILE_HEIGHT * u32::from(self.level()))?;
        hashes.checked_mul(span)
    }

    /// Every hash tile and entry bundle of a log of `size` records, lowest
    /// level first: the full tiles and, where a level does not end on a tile
    /// boundary, its partial tile.
    ///
    /// ```
    /// use fleetgov::audit::{Tile, TileKind};
    /// // The example of the specification: 70,000 leaves.
    /// let tiles = Tile::all_for(70_000);
    /// let of = |kind| tiles.iter().filter(|t| t.kind == kind).map(|t| t.width).collect::<Vec<_>>();
    /// assert_eq!(of(TileKind::Hashes(0)).len(), 274);
    /// assert_eq!(of(TileKind::Hashes(0))[273], 112);
    /// assert_eq!(of(TileKind::Hashes(1)), [256, 17]);
    /// assert_eq!(of(TileKind::Hashes(2)), [1]);
    /// assert_eq!(of(TileKind::Entries).len(), 274);
    /// ```
    pub fn all_for(size: u64) -> Vec<Tile> {
        let mut out = Vec::new();
        let mut level = 0u8;
        let mut hashes = size;
        while hashes > 0 {
            let per_tile = u64::from(TILE_WIDTH);
            let mut row: Vec<Tile> = (0..hashes / per_tile)
                .map(|index| Tile { kind: TileKind::Hashes(level), index, width: TILE_WIDTH })
                .collect();
            if !hashes.is_multiple_of(per_tile) {
                // Below 256 by the remainder.
                let width = (hashes % per_tile) as u16;
                row.push(Tile { kind: TileKind::Hashes(level), index: hashes / per_tile, width });
            }
            if level == 0 {
                out.extend(row.iter().map(|t| Tile { kind: TileKind::Entries, ..*t }));
            }
            out.extend(row);
            hashes /= per_tile;
            level += 1;
        }
        out
    }
}

impl fmt::Display for Tile {
    /// The tile's path: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TileKind::Hashes(level) => write!(f, "tile/{level}/")?,
            TileKind::Entries => f.write_str("tile/entries/")?,
        }
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        for (i, group) in groups.iter().enumerate().rev() {
            if i > 0 {
                write!(f, "x{group:03}/")?;
            } else {
                write!(f, "{group:03}")?;
            }
        }
        if !self.is_full() {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

impl FromStr for Tile {
    type Err = Error;

    /// Parses a tile path in its one canonical form (no leading zeros, no
    /// `x000` groups): anything else is [`InvalidInput`](ErrorKind::InvalidInput).
    fn from_str(path: &str) -> Result<Self> {
        let bad = || Error::invalid(format!("{path:?} is not a tile path"));
        let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
        let (kind, rest) = rest.split_once('/').ok_or_else(bad)?;
        let kind = match kind {
            "entries" => TileKind::Entries,
            level => TileKind::Hashes(decimal(level).and_then(|l| u8::try_from(l).ok()).ok_or_else(bad)?),
        };
        let (index, width) = match rest.split_once(".p/") {
            Some((index, width)) => {
                let width = decimal(width).and_then(|w| u16::try_from(w).ok()).filter(|w| *w < TILE_WIDTH);
                (index, width.ok_or_else(bad)?)
            }
            None => (rest, TILE_WIDTH),
        };
        let groups: Vec<&str> = index.split('/').collect();
        let mut n: u64 = 0;
        for (i, group) in groups.iter().enumerate() {
            let digits = if i + 1 < groups.len() { group.strip_prefix('x').ok_or_else(bad)? } else { group };
            if digits.len() != 3
                || !digits.bytes().all(|b| b.is_ascii_digit())
                || (i == 0 && groups.len() > 1 && digits == "000")
            {
                return Err(bad());
            }
            let group: u64 = digits.parse().map_err(|_| bad())?;
            n = n.checked_mul(1000).and_then(|n| n.checked_add(group)).ok_or_else(bad)?;
        }
        Tile::new(kind, n, width)
    }
}

/// A decimal without sign or leading zeros.
fn decimal(s: &str) -> Option<u64> {
    let canonical = s == "0" || (!s.is_empty() && !s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit()));
    s.parse().ok().filter(|_| canonical)
}

fn not_yet(tile: &Tile, size: u64) -> Error {
    Error::not_found(format!("{tile} (the log holds {size} records)"))
}

/// The bytes of hash tile `tile` of the log whose first `size` leaves `tree`
/// holds: `width` hashes of 32 bytes.
pub(crate) fn hash_tile(tree: &MerkleTree, size: u64, tile: &Tile) -> Result<Vec<u8>> {
    let TileKind::Hashes(level) = tile.kind else {
        return Err(Error::invalid(format!("{tile} is an entry bundle, not a hash tile")));
    };
    if tile.end().is_none_or(|end| end > size) {
        return Err(not_yet(tile, size));
    }
    let hashes = tree
        .complete_subtrees(TILE_HEIGHT * u32::from(level), tile.first(), u64::from(tile.width))
        .ok_or_else(|| not_yet(tile, size))?;
    Ok(hashes.iter().flat_map(|h| h.0).collect())
}

/// The records behind entry bundle `tile` of a log of `records`.
pub(crate) fn bundle_records(records: &[Arc<AuditRecord>], tile: &Tile) -> Result<Vec<Arc<AuditRecord>>> {
    if tile.kind != TileKind::Entries {
        return Err(Error::invalid(format!("{tile} is a hash tile, not an entry bundle")));
    }
    let size = records.len() as u64;
    if tile.end().is_none_or(|end| end > size) {
        return Err(not_yet(tile, size));
    }
    // Both bounds are at most `size`, which indexes `records`.
    Ok(records[tile.first() as usize..(tile.first() + u64::from(tile.width)) as usize].to_vec())
}

/// An entry bundle: each record's entry, prefixed by its length as a
/// big-endian `u16` (every entry is at most [`MAX_ENTRY_LEN`](super::MAX_ENTRY_LEN) bytes).
pub(crate) fn entry_bundle(records: &[Arc<AuditRecord>]) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        let at = out.len();
        out.extend_from_slice(&[0, 0]);
        record.encode_into(&mut out);
        let len = (out.len() - at - 2) as u16;
        out[at..at + 2].copy_from_slice(&len.to_be_bytes());
    }
    out
}

/// Splits an entry bundle of `width` entries; anything else is tampered.
fn split_bundle<'a>(tile: &Tile, bytes: &'a [u8]) -> Result<Vec<&'a [u8]>> {
    let mut out = Vec::with_capacity(usize::from(tile.width));
    let mut rest = bytes;
    while let Some((len, tail)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes(*len));
        let Some((entry, tail)) = tail.split_at_checked(len) else {
            return Err(tampered(format!("{tile}: entry {} is cut short", out.len())));
        };
        out.push(entry);
        rest = tail;
    }
    if !rest.is_empty() || out.len() != usize::from(tile.width) {
        return Err(tampered(format!("{tile}: holds {} entries and {} stray bytes", out.len(), rest.len())));
    }
    Ok(out)
}

fn tampered(message: String) -> Error {
    Error::new(ErrorKind::AuditTampered, message)
}

/// The root of a perfect tree over `hashes` (a power-of-two count).
fn perfect_root(hashes: &[TreeHash]) -> TreeHash {
    match hashes {
        [one] => *one,
        _ => {
            let (left, right) = hashes.split_at(hashes.len() / 2);
            Rfc6962::node(&perfect_root(left), &perfect_root(right))
        }
    }
}

/// Checks a whole tiled log against a trusted head (from a checkpoint opened
/// with the log owner's key) and returns its entries, in order.
///
/// `fetch` returns the bytes of a tile or entry bundle (over HTTP, from
/// files, or from [`AuditLog::tile`](super::AuditLog::tile)). Every tile of
/// [`Tile::all_for`] is fetched once and checked: each full tile hashes to
/// its hash one level up; the partial tiles and the topmost hashes hash to
/// the head's root (RFC 6962); each entry hashes to its leaf. A tile of the
/// wrong length, a hash or an entry that does not lead to the root is
/// [`AuditTampered`](ErrorKind::AuditTampered); `fetch`'s errors are passed on.
pub fn verify_tiles(head: &TreeHead, mut fetch: impl FnMut(&Tile) -> Result<Vec<u8>>) -> Result<Vec<Vec<u8>>> {
    // levels[l]: every hash of tile level l, in order.
    let mut levels: Vec<Vec<TreeHash>> = Vec::new();
    let mut bundles = Vec::new();
    for tile in Tile::all_for(head.size) {
        let bytes = fetch(&tile)?;
        match tile.kind {
            TileKind::Entries => bundles.push((tile, bytes)),
            TileKind::Hashes(level) => {
                if bytes.len() != usize::from(tile.width) * 32 {
                    return Err(tampered(format!(
                        "{tile} is {} bytes, not {}",
                        bytes.len(),
                        usize::from(tile.width) * 32
                    )));
                }
                let level = usize::from(level);
                if levels.len() == level {
                    levels.push(Vec::new());
                }
                levels[level].extend(bytes.chunks_exact(32).map(|c| TreeHash(c.try_into().unwrap_or_default())));
            }
        }
    }
    // Full tiles of level l are the hashes of level l + 1.
    for l in 1..levels.len() {
        for (i, full) in levels[l - 1].chunks_exact(usize::from(TILE_WIDTH)).enumerate() {
            if perfect_root(full) != levels[l][i] {
                return Err(tampered(format!(
                    "tile/{}/{i}: its hashes do not lead to hash {i} of tile level {l}",
                    l - 1
                )));
            }
        }
    }
    if root_from_levels(head.size, &levels) != head.root {
        return Err(tampered(format!("the tiles of a log of {} records do not lead to the trusted root", head.size)));
    }
    let mut entries = Vec::with_capacity(usize::try_from(head.size).unwrap_or(0));
    for (tile, bytes) in bundles {
        for entry in split_bundle(&tile, &bytes)? {
            let seq = entries.len();
            if Rfc6962::leaf(entry) != levels[0][seq] {
                return Err(tampered(format!("audit record {seq}: its entry in {tile} does not hash to its leaf")));
            }
            entries.push(entry.to_vec());
        }
    }
    Ok(entries)
}

/// RFC 6962's MTH of `size` leaves from the tile hashes: the perfect
/// subtrees of the binary decomposition of `size`, largest (leftmost)
/// first, folded from the right.
fn root_from_levels(size: u64, levels: &[Vec<TreeHash>]) -> TreeHash {
    let mut peaks = Vec::new();
    let mut start = 0u64;
    for height in (0..64u32).rev().filter(|h| size & (1 << h) != 0) {
        // 2^height leaves from `start`: 2^(height mod 8) hashes of tile level height / 8.
        let level = (height / TILE_HEIGHT) as usize;
        let first = (start >> (TILE_HEIGHT * (height / TILE_HEIGHT))) as usize;
        let count = 1usize << (height % TILE_HEIGHT);
        peaks.push(perfect_root(&levels[level][first..first + count]));
        start += 1 << height;
    }
    match peaks.split_last() {
        None => Rfc6962::empty_root(),
        Some((last, rest)) => rest.iter().rev().fold(*last, |acc, peak| Rfc6962::node(peak, &acc)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(n: u64) -> MerkleTree {
        let mut t = MerkleTree::new();
        for i in 0..n {
            t.push_leaf(&i.to_be_bytes());
        }
        t
    }

    #[test]
    fn paths_round_trip() {
        for (kind, index, width, path) in [
            (TileKind::Hashes(0), 0, 256, "tile/0/000"),
            (TileKind::Hashes(0), 999, 256, "tile/0/999"),
            (TileKind::Hashes(0), 1000, 3, "tile/0/x001/000.p/3"),
            (TileKind::Hashes(3), 1_234_067, 256, "tile/3/x001/x234/067"),
            (TileKind::Hashes(63), 0, 1, "tile/63/000.p/1"),
            (TileKind::Entries, 1_000_000, 255, "tile/entries/x001/x000/000.p/255"),
        ] {
            let tile = Tile::new(kind, index, width).unwrap();
            assert_eq!(tile.to_string(), path);
            assert_eq!(path.parse::<Tile>().unwrap(), tile);
        }
        for bad in [
            "",
            "tile/",
            "tile/0/",
            "tile/0/00",
            "tile/0/0000",
            "tile/0/x001",
            "tile/0/001/002",
            "tile/0/x1/002",
            "tile/0/000.p/",
            "tile/0/000.p/01",
            "tile/0/000.p/x",
            "tile/-1/000",
            "tile/entries",
            "tile/0/000/",
            "tile/0/x000/999",
            "tile/256/000",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
        ] {
            assert_eq!(bad.parse::<Tile>().unwrap_err().kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
        // Valid paths of tiles no log of u64 leaves can hold: never found.
        let t = tree(1);
        for beyond in ["tile/0/x018/x446/x744/x073/x709/x551/615", "tile/8/000.p/1", "tile/63/000"] {
            let tile = beyond.parse::<Tile>().unwrap();
            assert_eq!(hash_tile(&t, u64::MAX, &tile).unwrap_err().kind(), ErrorKind::NotFound, "{beyond}");
        }
    }

    #[test]
    fn hash_tiles_hold_the_subtrees_the_specification_names() {
        let t = tree(70_000);
        let tile = |s: &str| hash_tile(&t, 70_000, &s.parse().unwrap());
        let level0 = tile("tile/0/001").unwrap();
        assert_eq!(&level0[..32], &t.leaf_hash(256).unwrap().0);
        let leaves = |range: std::ops::Range<u64>| range.map(|i| t.leaf_hash(i).unwrap()).collect::<Vec<_>>();
        let level1 = tile("tile/1/000").unwrap();
        assert_eq!(level1.len(), 256 * 32);
        assert_eq!(&level1[32..64], &perfect_root(&leaves(256..512)).0);
        assert_eq!(&level1[..32], &t.root_at(256).unwrap().0);
        assert_eq!(tile("tile/2/000.p/1").unwrap(), t.root_at(65_536).unwrap().0);
        for missing in ["tile/0/273", "tile/0/273.p/113", "tile/1/001", "tile/2/000.p/2", "tile/3/000.p/1"] {
            assert_eq!(tile(missing).unwrap_err().kind(), ErrorKind::NotFound, "{missing}");
        }
        assert_eq!(tile("tile/0/273.p/112").unwrap().len(), 112 * 32);
        assert_eq!(tile("tile/entries/000").unwrap_err().kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn the_root_from_tiles_is_the_tree_root_at_every_size_around_the_tile_edges() {
        let t = tree(66_000);
        for size in [0, 1, 2, 255, 256, 257, 511, 512, 513, 65_535, 65_536, 65_537, 66_000] {
            let levels: Vec<Vec<TreeHash>> = (0..3)
                .map(|l| {
                    Tile::all_for(size)
                        .into_iter()
                        .filter(|tile| tile.kind == TileKind::Hashes(l))
                        .flat_map(|tile| hash_tile(&t, size, &tile).unwrap())
                        .collect::<Vec<u8>>()
                        .chunks_exact(32)
                        .map(|c| TreeHash(c.try_into().unwrap()))
                        .collect()
                })
                .collect();
            assert_eq!(root_from_levels(size, &levels), t.root_at(size).unwrap(), "size {size}");
        }
    }
}
