//! An append-only array whose elements never move, readable without locks.
//!
//! Elements live in chunks allocated on first use, behind a directory sized
//! once at construction. A reference to an element stays valid for the life
//! of the array, so the hot path can index it without a lock while other
//! threads grow it. Two layouts:
//! - **fixed**: chunks of one size, for dense tables whose bound is known
//!   (node slots), wasting at most one chunk;
//! - **doubling**: chunk `k` holds `base << k` elements, for small tables
//!   that may grow without a practical bound (revisions, clusters) behind a
//!   32-entry directory.

use std::sync::OnceLock;

use crate::huge_pages::Array;

#[derive(Clone, Copy)]
enum Layout {
    Fixed { bits: u32 },
    Doubling { base_bits: u32 },
}

/// An append-only, lock-free-readable array of `T` (elements start as `T::default()`).
pub(crate) struct Chunked<T> {
    layout: Layout,
    chunks: Box<[OnceLock<Array<T>>]>,
}

impl<T: Default> Chunked<T> {
    /// Up to `max_chunks` chunks of `1 << chunk_bits` elements.
    pub(crate) fn fixed(chunk_bits: u32, max_chunks: usize) -> Self {
        Self::with(Layout::Fixed { bits: chunk_bits }, max_chunks)
    }

    /// Chunks of `1 << base_bits`, twice that, four times that, ... (32 chunks).
    pub(crate) fn doubling(base_bits: u32) -> Self {
        Self::with(Layout::Doubling { base_bits }, 32)
    }

    fn with(layout: Layout, chunks: usize) -> Self {
        Chunked { layout, chunks: (0..chunks).map(|_| OnceLock::new()).collect() }
    }

    /// (chunk, offset, chunk length) of `index`.
    #[inline]
    fn split(&self, index: usize) -> (usize, usize, usize) {
        match self.layout {
            Layout::Fixed { bits } => (index >> bits, index & ((1 << bits) - 1), 1 << bits),
            Layout::Doubling { base_bits } => {
                let j = (index >> base_bits) + 1;
                let chunk = j.ilog2() as usize;
                let start = ((1usize << chunk) - 1) << base_bits;
                (chunk, index - start, 1 << (base_bits as usize + chunk))
            }
        }
    }

    /// How many elements the array can hold.
    pub(crate) fn capacity(&self) -> usize {
        match self.layout {
            Layout::Fixed { bits } => self.chunks.len() << bits,
            Layout::Doubling { base_bits } => {
                ((1usize << self.chunks.len().min(usize::BITS as usize - 1 - base_bits as usize)) - 1) << base_bits
            }
        }
    }

    /// The element at `index`, if its chunk has been allocated.
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        let (chunk, offset, _) = self.split(index);
        self.chunks.get(chunk)?.get().map(|c| &c[offset])
    }

    /// The element at `index`, allocating its chunk if needed; `None` past capacity.
    pub(crate) fn get_or_alloc(&self, index: usize) -> Option<&T> {
        let (chunk, offset, len) = self.split(index);
        let c = self.chunks.get(chunk)?.get_or_init(|| Array::new(len));
        Some(&c[offset])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn fixed_elements_are_stable_and_bounded() {
        let a: Chunked<AtomicU64> = Chunked::fixed(2, 3);
        assert_eq!(a.capacity(), 12);
        assert!(a.get(5).is_none());
        a.get_or_alloc(5).unwrap().store(7, Ordering::Relaxed);
        let _ = a.get_or_alloc(11).unwrap();
        assert_eq!(a.get(5).unwrap().load(Ordering::Relaxed), 7);
        assert!(a.get_or_alloc(12).is_none());
        assert!(a.get(0).is_none() && a.get(4).is_some() && a.get(8).is_some());
    }

    #[test]
    fn doubling_chunks_cover_every_index_once() {
        let a: Chunked<AtomicU64> = Chunked::doubling(2);
        for i in 0..1000 {
            a.get_or_alloc(i).unwrap().store(i as u64, Ordering::Relaxed);
        }
        for i in 0..1000 {
            assert_eq!(a.get(i).unwrap().load(Ordering::Relaxed), i as u64);
        }
        // 4 + 8 + ... + 512 = 1020 elements: chunks 0..=7.
        assert!(a.get(1019).is_some() && a.get(1020).is_none());
        assert!(a.capacity() > 1 << 32);
    }
}
