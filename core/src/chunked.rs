//! An append-only array whose elements never move, readable without locks.
//!
//! Elements live in fixed-size chunks allocated on first use; the chunk
//! directory is sized once, at construction. A reference to an element stays
//! valid for the life of the array, so the hot path can index it without a
//! lock while other threads grow it.

use std::sync::OnceLock;

/// An append-only, lock-free-readable array of `T` (elements start as `T::default()`).
pub(crate) struct Chunked<T> {
    chunk_bits: u32,
    chunks: Box<[OnceLock<Box<[T]>>]>,
}

impl<T: Default> Chunked<T> {
    /// An array of up to `max_chunks << chunk_bits` elements.
    pub(crate) fn new(chunk_bits: u32, max_chunks: usize) -> Self {
        Chunked { chunk_bits, chunks: (0..max_chunks).map(|_| OnceLock::new()).collect() }
    }

    /// How many elements the array can hold.
    pub(crate) fn capacity(&self) -> usize {
        self.chunks.len() << self.chunk_bits
    }

    fn split(&self, index: usize) -> (usize, usize) {
        (index >> self.chunk_bits, index & ((1 << self.chunk_bits) - 1))
    }

    /// The element at `index`, if its chunk has been allocated.
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        let (chunk, offset) = self.split(index);
        self.chunks.get(chunk)?.get().map(|c| &c[offset])
    }

    /// The element at `index`, allocating its chunk if needed; `None` past capacity.
    pub(crate) fn get_or_alloc(&self, index: usize) -> Option<&T> {
        let (chunk, offset) = self.split(index);
        let size = 1usize << self.chunk_bits;
        let c = self.chunks.get(chunk)?.get_or_init(|| (0..size).map(|_| T::default()).collect());
        Some(&c[offset])
    }

    /// Bytes allocated for elements so far (for memory accounting).
    pub(crate) fn allocated_bytes(&self) -> usize {
        let per_chunk = std::mem::size_of::<T>() << self.chunk_bits;
        self.chunks.iter().filter(|c| c.get().is_some()).count() * per_chunk
            + self.chunks.len() * std::mem::size_of::<OnceLock<Box<[T]>>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn elements_are_stable_and_bounded() {
        let a: Chunked<AtomicU64> = Chunked::new(2, 3);
        assert_eq!(a.capacity(), 12);
        assert!(a.get(5).is_none());
        let e = a.get_or_alloc(5).unwrap();
        e.store(7, Ordering::Relaxed);
        let _ = a.get_or_alloc(11).unwrap();
        assert_eq!(a.get(5).unwrap().load(Ordering::Relaxed), 7);
        assert!(a.get_or_alloc(12).is_none());
        assert!(a.get(0).is_none() && a.get(4).is_some() && a.get(8).is_some());
    }
}
