//! The flood guard on unmatched hashes: each hash a node reports that
//! matches no snapshot is kept (32 bytes in the journal's side table, and a
//! transition), so a node — or a token — sending a fresh random hash with
//! every heartbeat would grow memory and disk without bound. A node may add
//! at most [`MAX_NEW_PER_HOUR`] new unmatched hashes to its history per
//! clock hour of its heartbeats; past that, its report is recorded once as
//! *withheld* (an unmatched hash, not kept) and its further unmatched hashes
//! that hour cost nothing. The node stays divergent (`HASH_MISMATCH` when it
//! names a snapshot) either way: only the exact hash is not kept.

/// New unmatched hashes a node may add to history per hour.
pub const MAX_NEW_PER_HOUR: u16 = 60;

const HOUR_MS: u64 = 3_600_000;

/// The budget word kept in a node's slot: the hour (mod 2^16) in the high
/// half, the new unmatched hashes kept in that hour in the low half.
/// Returns the word after one more kept hash at `at_ms`, or `None` when the
/// hour's budget is spent.
pub(crate) fn take(word: u32, at_ms: u64) -> Option<u32> {
    let hour = (at_ms / HOUR_MS) as u16;
    let used = if (word >> 16) as u16 == hour { word as u16 } else { 0 };
    (used < MAX_NEW_PER_HOUR).then(|| u32::from(hour) << 16 | u32::from(used + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_per_hour_and_renews() {
        let mut word = 0;
        for _ in 0..MAX_NEW_PER_HOUR {
            word = take(word, 5 * HOUR_MS + 7).unwrap();
        }
        assert_eq!(take(word, 6 * HOUR_MS - 1), None, "spent for the rest of the hour");
        assert_eq!(take(word, 6 * HOUR_MS), Some(6 << 16 | 1), "a new hour, a new budget");
    }
}
