//! Byte-level mutations of corpus inputs, and the long mutation run.
//!
//! A [`Mutation`] names its positions modulo the input's length, so any
//! mutation applies to any input: proptest generates and shrinks lists of
//! them in the default test run, and [`Mutator`] draws them from a seeded
//! generator for the slow tier, so a failure there is reproduced from its
//! seed and input number alone.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::{Harness, Target};

/// The largest input a mutation may grow: keeps one run's cost bounded.
pub const MAX_INPUT: usize = 64 * 1024;

/// Integers at the edges of the ranges decoders check.
const INTERESTING: [u64; 16] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0xffff_ffff,
    0x1_0000_0000,
    1_700_000_000_000,
    i64::MAX as u64,
    u64::MAX - 1,
    u64::MAX,
];

/// One change to an input.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Flips bit `bit % 8` of byte `at`.
    FlipBit {
        /// The byte.
        at: u32,
        /// The bit.
        bit: u8,
    },
    /// Sets byte `at` to `value`.
    SetByte {
        /// The byte.
        at: u32,
        /// Its new value.
        value: u8,
    },
    /// Writes an interesting integer, 1, 2, 4 or 8 bytes wide, at `at`.
    Interesting {
        /// Where it starts.
        at: u32,
        /// Its width: `1 << (width % 4)` bytes.
        width: u8,
        /// Which integer (modulo the table).
        pick: u8,
        /// Big-endian instead of little-endian.
        big_endian: bool,
    },
    /// Cuts the input to `len` bytes (modulo its length plus one).
    Truncate {
        /// The new length.
        len: u32,
    },
    /// Removes up to `len` bytes at `at`.
    Remove {
        /// Where.
        at: u32,
        /// How many.
        len: u16,
    },
    /// Repeats up to `len` bytes at `at` right after themselves (a record,
    /// a frame, a JSON element twice).
    Duplicate {
        /// Where the chunk starts.
        at: u32,
        /// Its length.
        len: u16,
    },
    /// Inserts a token of the target's dictionary at `at`.
    Token {
        /// Where.
        at: u32,
        /// Which token (modulo the dictionary).
        pick: u16,
    },
    /// Inserts up to `len` bytes of another corpus input, from `from`, at `at`.
    Splice {
        /// Which input (modulo the corpus).
        other: u16,
        /// Where the copied bytes start in it.
        from: u32,
        /// How many.
        len: u16,
        /// Where they go.
        at: u32,
    },
}

/// A position in `0..=len` from any `at`.
fn spot(at: u32, len: usize) -> usize {
    at as usize % (len + 1)
}

/// A position of an existing byte, if there is one.
fn byte(at: u32, len: usize) -> Option<usize> {
    (len > 0).then(|| at as usize % len)
}

impl Mutation {
    /// Applies the mutation to `data`, drawing on `dictionary` and `corpus`.
    /// The result never exceeds [`MAX_INPUT`] bytes.
    pub fn apply(&self, data: &mut Vec<u8>, dictionary: &[&[u8]], corpus: &[Vec<u8>]) {
        let len = data.len();
        match *self {
            Mutation::FlipBit { at, bit } => {
                if let Some(i) = byte(at, len) {
                    data[i] ^= 1 << (bit % 8);
                }
            }
            Mutation::SetByte { at, value } => {
                if let Some(i) = byte(at, len) {
                    data[i] = value;
                }
            }
            Mutation::Interesting { at, width, pick, big_endian } => {
                let width = 1usize << (width % 4);
                let value = INTERESTING[pick as usize % INTERESTING.len()];
                let bytes = if big_endian { value.to_be_bytes() } else { value.to_le_bytes() };
                let bytes = if big_endian { &bytes[8 - width..] } else { &bytes[..width] };
                if len >= width {
                    let i = at as usize % (len - width + 1);
                    data[i..i + width].copy_from_slice(bytes);
                }
            }
            Mutation::Truncate { len: to } => data.truncate(spot(to, len)),
            Mutation::Remove { at, len: n } => {
                let i = spot(at, len);
                data.drain(i..(i + n as usize).min(len));
            }
            Mutation::Duplicate { at, len: n } => {
                let i = spot(at, len);
                let chunk = data[i..(i + n as usize).min(len)].to_vec();
                data.splice(i..i, chunk);
            }
            Mutation::Token { at, pick } => {
                if !dictionary.is_empty() {
                    let (i, token) = (spot(at, len), dictionary[pick as usize % dictionary.len()]);
                    data.splice(i..i, token.iter().copied());
                }
            }
            Mutation::Splice { other, from, len: n, at } => {
                if !corpus.is_empty() {
                    let other = &corpus[other as usize % corpus.len()];
                    let from = spot(from, other.len());
                    let (i, chunk) = (spot(at, len), &other[from..(from + n as usize).min(other.len())]);
                    data.splice(i..i, chunk.iter().copied());
                }
            }
        }
        data.truncate(MAX_INPUT);
    }

    /// A mutation drawn from `rng`: small edits mostly, structural ones less often.
    pub fn random(rng: &mut fastrand::Rng) -> Mutation {
        let at = rng.u32(..);
        match rng.u8(..16) {
            0..=3 => Mutation::FlipBit { at, bit: rng.u8(..) },
            4..=5 => Mutation::SetByte { at, value: rng.u8(..) },
            6..=8 => Mutation::Interesting { at, width: rng.u8(..), pick: rng.u8(..), big_endian: rng.bool() },
            9 => Mutation::Truncate { len: at },
            10 => Mutation::Remove { at, len: rng.u16(1..=256) },
            11 => Mutation::Duplicate { at, len: rng.u16(1..=256) },
            12..=13 => Mutation::Token { at, pick: rng.u16(..) },
            _ => Mutation::Splice { other: rng.u16(..), from: rng.u32(..), len: rng.u16(1..=512), at },
        }
    }
}

/// Draws mutated inputs from a corpus: a random input, then one to eight
/// random mutations.
pub struct Mutator<'a> {
    corpus: &'a [Vec<u8>],
    dictionary: &'a [&'a [u8]],
    rng: fastrand::Rng,
}

impl<'a> Mutator<'a> {
    /// A mutator over `corpus` (not empty) with `dictionary`, seeded with `seed`.
    pub fn new(corpus: &'a [Vec<u8>], dictionary: &'a [&'a [u8]], seed: u64) -> Self {
        assert!(!corpus.is_empty(), "a mutator needs at least one input");
        Mutator { corpus, dictionary, rng: fastrand::Rng::with_seed(seed) }
    }

    /// The next input.
    pub fn next_input(&mut self) -> Vec<u8> {
        let mut data = self.corpus[self.rng.usize(..self.corpus.len())].clone();
        for _ in 0..self.rng.usize(1..=8) {
            Mutation::random(&mut self.rng).apply(&mut data, self.dictionary, self.corpus);
        }
        data
    }
}

/// Runs `target`'s harness on `count` inputs mutated from `corpus` with the
/// seed `seed`. A failing input is printed in hex with its seed and number
/// before the panic goes on, so `fleetgov-fuzz mutate` can repeat it.
pub fn run(target: &Target, corpus: &[Vec<u8>], count: u64, seed: u64) {
    let mut harness: Box<dyn Harness> = (target.harness)();
    let mut mutator = Mutator::new(corpus, target.dictionary, seed);
    for n in 0..count {
        let input = mutator.next_input();
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| harness.run(&input))) {
            let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
            eprintln!("{}: input {n} of seed {seed} broke a property; its bytes: {hex}", target.name);
            resume_unwind(panic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_apply_to_any_input_and_stay_bounded() {
        let corpus = vec![vec![1u8; 300], Vec::new()];
        let mut rng = fastrand::Rng::with_seed(7);
        for len in [0usize, 1, 2, 7, 8, 9, 200] {
            for _ in 0..2_000 {
                let mut data = vec![0xa5; len];
                Mutation::random(&mut rng).apply(&mut data, &[b"token"], &corpus);
                assert!(data.len() <= MAX_INPUT);
            }
        }
        let mut big = vec![0; MAX_INPUT];
        Mutation::Duplicate { at: 0, len: 100 }.apply(&mut big, &[], &corpus);
        assert_eq!(big.len(), MAX_INPUT);
    }

    #[test]
    fn interesting_integers_are_written_in_the_asked_byte_order() {
        let mut data = vec![0u8; 4];
        Mutation::Interesting { at: 0, width: 2, pick: 4, big_endian: true }.apply(&mut data, &[], &[]);
        assert_eq!(data, [0, 0, 0, 0xff]);
        Mutation::Interesting { at: 0, width: 1, pick: 5, big_endian: false }.apply(&mut data, &[], &[]);
        assert_eq!(data, [0, 1, 0, 0xff]);
    }

    #[test]
    fn a_seeded_mutator_repeats_itself() {
        let corpus = vec![b"hello".to_vec(), b"world!".to_vec()];
        let a: Vec<Vec<u8>> = {
            let mut m = Mutator::new(&corpus, &[b"x"], 42);
            (0..50).map(|_| m.next_input()).collect()
        };
        let mut m = Mutator::new(&corpus, &[b"x"], 42);
        assert!(a.iter().all(|input| *input == m.next_input()));
    }
}
