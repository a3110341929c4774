//! A cache prefetch hint, so batch ingest overlaps the memory misses of the
//! slots it will touch next (a slot's locked CAS would otherwise stall each
//! miss behind the previous one).

/// Hints the CPU to bring the cache line at `p` into L1. Never faults: a
/// prefetch of any address, valid or not, has no architectural effect.
#[inline(always)]
pub(crate) fn prefetch<T>(p: &T) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: `_mm_prefetch` only hints the cache hierarchy; it reads no
    // memory architecturally and cannot fault, and SSE (its target feature)
    // is part of the x86_64 baseline.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((p as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
