//! Arrays on transparent huge pages, for the large, randomly indexed tables
//! (node slots), so a heartbeat's slot costs one cache miss and no TLB miss:
//! a million 64-byte slots span 16,384 4 KiB pages but 32 2 MiB ones.

use std::alloc::{self, Layout};
use std::ops::Deref;
use std::ptr::NonNull;

/// The size (and alignment) of a transparent huge page on x86_64 and arm64.
const HUGE_PAGE: usize = 2 << 20;

/// A fixed-length array of default-initialised `T`. One of at least a huge
/// page is aligned to huge pages and asks the kernel to back it with them
/// before its memory is first touched; smaller ones are plain allocations.
pub(crate) struct Array<T> {
    ptr: NonNull<T>,
    len: usize,
    layout: Layout,
}

// SAFETY: `Array<T>` owns its elements like a `Box<[T]>` does.
#[allow(unsafe_code)]
unsafe impl<T: Send> Send for Array<T> {}
// SAFETY: shared access hands out `&T` only, like `&[T]`.
#[allow(unsafe_code)]
unsafe impl<T: Sync> Sync for Array<T> {}

impl<T: Default> Array<T> {
    /// `len` elements of `T::default()`. Panics, as `Vec` does, when `len`
    /// elements overflow the address space (the tables' sizes are bounded far
    /// below that by construction).
    pub(crate) fn new(len: usize) -> Self {
        let layout = Layout::array::<T>(len).expect("capacity overflow");
        if layout.size() == 0 {
            return Array { ptr: NonNull::dangling(), len, layout };
        }
        let huge = layout.size() >= HUGE_PAGE;
        let layout = if huge { layout.align_to(HUGE_PAGE).expect("capacity overflow") } else { layout };
        #[allow(unsafe_code)]
        // SAFETY: the layout's size is non-zero (checked above).
        let raw = unsafe { alloc::alloc(layout) };
        let Some(ptr) = NonNull::new(raw.cast::<T>()) else { alloc::handle_alloc_error(layout) };
        if huge {
            advise(raw, layout.size());
        }
        for i in 0..len {
            #[allow(unsafe_code)]
            // SAFETY: `i < len`, inside the allocation made for `len` elements;
            // the slot is uninitialised, so writing without dropping is right.
            // (A panicking `T::default` leaks the allocation, nothing worse:
            // the array is not built, so nothing reads or drops it.)
            unsafe {
                ptr.add(i).write(T::default());
            }
        }
        Array { ptr, len, layout }
    }
}

impl<T> Deref for Array<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        #[allow(unsafe_code)]
        // SAFETY: `ptr` points at `len` initialised elements (or is dangling
        // with a zero-size layout), owned by `self` for the borrow's length.
        unsafe {
            std::slice::from_raw_parts(self.ptr.as_ptr(), self.len)
        }
    }
}

impl<T> Drop for Array<T> {
    fn drop(&mut self) {
        #[allow(unsafe_code)]
        // SAFETY: the elements are initialised and dropped once, here; the
        // memory was allocated with `self.layout` when its size is non-zero.
        unsafe {
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.len));
            if self.layout.size() != 0 {
                alloc::dealloc(self.ptr.as_ptr().cast(), self.layout);
            }
        }
    }
}

/// Asks the kernel to back `bytes` at `start` (huge-page aligned, not touched
/// yet) with transparent huge pages where the system allows them (`madvise`
/// mode, the common default). A hint: failure changes nothing. Under Miri,
/// which does not model this advice, nothing is asked.
fn advise(start: *mut u8, bytes: usize) {
    #[cfg(all(target_os = "linux", not(miri)))]
    {
        #[allow(unsafe_code)]
        // SAFETY: MADV_HUGEPAGE only sets an attribute of the mappings in the
        // range (page aligned: `start` is huge-page aligned); it neither reads
        // nor writes their memory, and fails with an error (ignored) on
        // addresses without a mapping instead of faulting.
        let _ = unsafe { libc::madvise(start.cast(), bytes, libc::MADV_HUGEPAGE) };
    }
    #[cfg(any(not(target_os = "linux"), miri))]
    let _ = (start, bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    thread_local! {
        static MARKER: Arc<()> = Arc::new(());
    }

    /// Holds a clone of this thread's marker: counts live elements.
    struct Shared(#[allow(dead_code)] Arc<()>);

    impl Default for Shared {
        fn default() -> Self {
            Shared(MARKER.with(Arc::clone))
        }
    }

    #[test]
    fn elements_start_default_and_are_dropped_once() {
        let small: Array<Option<Arc<()>>> = Array::new(10);
        assert!(small.iter().all(Option::is_none));
        // At least one huge page of elements: the aligned path.
        let big: Array<(u64, Option<Arc<()>>)> = Array::new(HUGE_PAGE / 16 + 3);
        assert_eq!(big.as_ptr() as usize % HUGE_PAGE, 0);
        assert!(big.iter().all(|(n, m)| *n == 0 && m.is_none()));
        let shared: Array<Shared> = Array::new(3);
        assert_eq!(Arc::strong_count(&MARKER.with(Arc::clone)), 5, "three elements, the thread-local and this one");
        drop((small, big, shared));
        assert_eq!(Arc::strong_count(&MARKER.with(Arc::clone)), 2, "each element dropped once");
        let empty: Array<u64> = Array::new(0);
        assert!(empty.is_empty());
    }
}
