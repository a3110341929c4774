//! A node's id text: written once, read without locks, 24 bytes a node.
//!
//! Ids of up to 24 bytes (and 24-byte ids ending in an ASCII character, which
//! every valid id is) live inline; a longer id is copied to the heap and the
//! cell holds its pointer and length. The cell's last byte, its *mark*, says
//! which, and is also what publishes the text: the one writer claims the
//! cell, copies the text, then stores the mark with `Release`; a reader that
//! loads the mark with `Acquire` sees the whole text, which never changes
//! again. A 24-byte id's last character is its mark (ASCII is below
//! [`SHORT`]), so such ids need no extra byte.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU8, Ordering};

/// Text bytes before the mark.
const INLINE: usize = 23;
/// The mark of a cell that holds no id.
const EMPTY: u8 = 0;
/// The mark of a cell whose writer is copying the text in.
const WRITING: u8 = 0xFF;
/// The mark of an id on the heap: the cell starts with its pointer and length.
const HEAP: u8 = 0xFE;
/// The mark of an inline id of `len` ≤ [`INLINE`] bytes is `SHORT | len`.
const SHORT: u8 = 0x80;

/// One node's id, set once (see the module documentation).
#[repr(C, align(8))]
pub(crate) struct IdText {
    text: UnsafeCell<[u8; INLINE]>,
    mark: AtomicU8,
}

// SAFETY: the text is written by the one thread that won the claim of an
// empty cell, before the mark that publishes it (Release); readers touch it
// only after loading that mark (Acquire), and it is never written again, so
// shared access never races. The heap copy is owned like a `Box<[u8]>`.
#[allow(unsafe_code)]
unsafe impl Sync for IdText {}

impl Default for IdText {
    fn default() -> Self {
        IdText { text: UnsafeCell::new([0; INLINE]), mark: AtomicU8::new(EMPTY) }
    }
}

impl IdText {
    /// Sets the id to `id` if no id was set (or is being set); returns
    /// whether this call set it.
    pub(crate) fn set(&self, id: &str) -> bool {
        // Relaxed: the claim only picks the one writer; the text is published
        // by the Release store of the mark below, not by this.
        if self.mark.compare_exchange(EMPTY, WRITING, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return false;
        }
        let bytes = id.as_bytes();
        let base = self.text.get().cast::<u8>();
        let mark = match bytes.len() {
            n if n <= INLINE => {
                // SAFETY: `n` ≤ INLINE bytes into the cell's text, which this
                // thread alone writes (it won the claim); no reader reads it
                // before the mark is stored.
                #[allow(unsafe_code)]
                unsafe {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), base, n);
                }
                SHORT | n as u8
            }
            n if n == INLINE + 1 && (1..SHORT).contains(&bytes[INLINE]) => {
                // SAFETY: as above, INLINE bytes; the last one is the mark.
                #[allow(unsafe_code)]
                unsafe {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), base, INLINE);
                }
                bytes[INLINE]
            }
            _ => {
                let heap = Box::into_raw(Box::<[u8]>::from(bytes));
                // SAFETY: the cell is 8-aligned (`repr(align(8))`) and its text
                // starts at offset 0 with 23 bytes, room for a pointer and a
                // `usize` length; written by this thread alone, as above.
                #[allow(unsafe_code)]
                unsafe {
                    base.cast::<*mut u8>().write(heap.cast::<u8>());
                    base.cast::<usize>().add(1).write(heap.len());
                }
                HEAP
            }
        };
        // Release: publishes the text written above to readers that load the mark.
        self.mark.store(mark, Ordering::Release);
        true
    }

    /// Hints the cache to fetch the cell: its start and its mark, which
    /// are on two cache lines for a cell that straddles one (24-byte cells
    /// do, two in every eight).
    #[inline]
    pub(crate) fn prefetch(&self) {
        crate::prefetch::prefetch(self);
        crate::prefetch::prefetch(&self.mark);
    }

    /// The id, once set.
    #[inline]
    pub(crate) fn get(&self) -> Option<&str> {
        // Acquire: pairs with the Release store of the mark in `set`, so the
        // text written before it is visible.
        let mark = self.mark.load(Ordering::Acquire);
        let base = std::ptr::from_ref(self).cast::<u8>();
        // SAFETY: the mark says the text is complete, and it is never written
        // again. An inline text is `len` bytes at the start of the cell (the
        // whole cell, mark included, for a 24-byte id); a heap text is the
        // allocation whose pointer and length `set` stored. Either is a copy
        // of a `&str`, so valid UTF-8, and lives as long as the cell.
        #[allow(unsafe_code)]
        let bytes = unsafe {
            match mark {
                EMPTY | WRITING => return None,
                HEAP => std::slice::from_raw_parts(base.cast::<*const u8>().read(), base.cast::<usize>().add(1).read()),
                m if m & SHORT != 0 => std::slice::from_raw_parts(base, usize::from(m & !SHORT)),
                _ => std::slice::from_raw_parts(base, INLINE + 1),
            }
        };
        // SAFETY: see above: the bytes are a copy of a `&str`.
        #[allow(unsafe_code)]
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    }
}

impl Drop for IdText {
    fn drop(&mut self) {
        if *self.mark.get_mut() == HEAP {
            let base = self.text.get_mut().as_mut_ptr();
            // SAFETY: a HEAP mark means `set` stored the pointer and length of
            // a leaked `Box<[u8]>` at the start of the cell; it is reclaimed
            // once, here.
            #[allow(unsafe_code)]
            unsafe {
                let (ptr, len) = (base.cast::<*mut u8>().read(), base.cast::<usize>().add(1).read());
                drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_id_takes_24_bytes() {
        assert_eq!((size_of::<IdText>(), align_of::<IdText>()), (24, 8));
    }

    #[test]
    fn every_length_reads_back_as_written() {
        let long = "n".repeat(crate::id::MAX_ID_LEN);
        let non_ascii_24 = format!("{}é", "x".repeat(22));
        assert_eq!(non_ascii_24.len(), 24);
        let mut ids: Vec<String> = (0..=40).map(|n| "abcdefghij".repeat(4)[..n].to_owned()).collect();
        ids.extend([long, non_ascii_24, "gw-0000001".into(), "ip-10-0-12-34.eu-west-1.compute.internal".into()]);
        for id in &ids {
            let cell = IdText::default();
            assert_eq!(cell.get(), None);
            assert!(cell.set(id));
            assert_eq!(cell.get(), Some(id.as_str()), "{} bytes", id.len());
        }
    }

    #[test]
    fn the_first_id_set_stays() {
        for (first, second) in [("gw-1", "gw-2"), (&*"a".repeat(60), "b"), ("c", &*"d".repeat(60))] {
            let cell = IdText::default();
            assert!(cell.set(first));
            assert!(!cell.set(second));
            assert_eq!(cell.get(), Some(first));
        }
    }

    /// Writers race for one cell while readers read it: one writer wins, and
    /// a reader sees nothing or the winner's whole text, never a mix.
    #[test]
    fn racing_writers_leave_one_whole_id() {
        for round in 0..200 {
            let cell = IdText::default();
            let ids: Vec<String> = (0..4).map(|w| format!("{w}").repeat(8 + round % 40)).collect();
            let wins = std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..100 {
                            if let Some(seen) = cell.get() {
                                assert!(ids.iter().any(|id| id == seen), "{seen}");
                            }
                        }
                    });
                }
                let writers: Vec<_> = ids.iter().map(|id| s.spawn(|| cell.set(id))).collect();
                writers.into_iter().map(|w| w.join().unwrap()).filter(|&won| won).count()
            });
            assert_eq!(wins, 1);
            assert!(ids.iter().any(|id| Some(id.as_str()) == cell.get()));
        }
    }
}
