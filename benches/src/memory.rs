//! Memory of a tracker, measured as the growth of this process's resident set.

/// The process's resident set size in bytes, from `/proc/self/statm`
/// (`None` where there is no such file, e.g. off Linux).
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(resident_pages * page_size()?)
}

fn page_size() -> Option<u64> {
    // SAFETY: sysconf only reads a configuration value; it has no
    // preconditions and touches no memory of ours.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|&s| s > 0)
}

/// Hands memory that earlier rows freed back to the kernel, so that the next
/// baseline is not flattered by pages the allocator reuses.
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own free lists; it is safe to call
    // at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Measures how much `build` grows the resident set, per `units` (e.g. per
/// node). Returns what `build` built and the bytes per unit (`None` if the
/// resident set cannot be read).
pub fn per_unit<T>(units: u64, build: impl FnOnce() -> T) -> (T, Option<f64>) {
    release_freed();
    let before = rss_bytes();
    let built = build();
    let after = rss_bytes();
    let per = match (before, after) {
        (Some(b), Some(a)) if units > 0 => Some(a.saturating_sub(b) as f64 / units as f64),
        _ => None,
    };
    (built, per)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_memory_grows_the_resident_set_by_about_that_much() {
        const MIB: usize = 1 << 20;
        // Large enough that what tests running alongside allocate is noise.
        let (block, per) = per_unit(256, || {
            let mut v = vec![0u8; 256 * MIB];
            // Touch every page so it is resident.
            for i in (0..v.len()).step_by(4096) {
                v[i] = 1;
            }
            v
        });
        let per = per.expect("statm is readable on Linux");
        assert!((0.98 * MIB as f64..1.15 * MIB as f64).contains(&per), "{per} bytes per MiB");
        assert_eq!(block.iter().step_by(4096).filter(|&&b| b == 1).count(), 256 * MIB / 4096);
    }
}
