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
    measured_with(rss_bytes, units, build)
}

/// [`per_unit`] over any resident-set reading: one reading before `build`,
/// one after. The readings are the process's, so other threads allocating at
/// the same time move them; the peers harness measures one tracker at a time.
fn measured_with<T>(mut read: impl FnMut() -> Option<u64>, units: u64, build: impl FnOnce() -> T) -> (T, Option<f64>) {
    let before = read();
    let built = build();
    let after = read();
    (built, growth_per_unit(before, after, units))
}

/// Bytes of growth per unit between two readings; a shrink counts as no
/// growth, and a missing reading or zero units measure nothing.
fn growth_per_unit(before: Option<u64>, after: Option<u64>, units: u64) -> Option<f64> {
    match (before, after) {
        (Some(b), Some(a)) if units > 0 => Some(a.saturating_sub(b) as f64 / units as f64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    /// Set in the child process that [`touching_memory_grows_the_resident_set_in_a_process_of_its_own`] starts.
    const CHILD: &str = "FLEETGOV_MEMORY_CHILD";

    #[test]
    fn growth_is_the_difference_of_the_readings_per_unit() {
        let mut readings = [Some(100 * MIB), Some(356 * MIB)].into_iter();
        let (built, per) = measured_with(|| readings.next().flatten(), 256, || "built");
        assert_eq!((built, per), ("built", Some(MIB as f64)));
        assert_eq!(growth_per_unit(Some(10), Some(4), 3), Some(0.0), "a shrink is no growth");
        assert_eq!(growth_per_unit(None, Some(4), 3), None);
        assert_eq!(growth_per_unit(Some(1), None, 3), None);
        assert_eq!(growth_per_unit(Some(1), Some(4), 0), None);
    }

    #[test]
    fn the_resident_set_is_readable_on_linux() {
        let rss = rss_bytes().expect("statm is readable on Linux");
        assert!(rss > 0 && rss.is_multiple_of(page_size().unwrap()), "{rss}");
    }

    /// The live measurement runs alone in a child process (this test binary,
    /// filtered to the one ignored test below), so what other tests of this
    /// binary allocate at the same time cannot move its readings.
    #[test]
    fn touching_memory_grows_the_resident_set_in_a_process_of_its_own() {
        let exe = std::env::current_exe().expect("the test binary");
        let out = std::process::Command::new(exe)
            .args(["--exact", "memory::tests::touch_256_mib", "--ignored", "--test-threads=1", "--nocapture"])
            .env(CHILD, "1")
            .output()
            .expect("run the test binary again");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && text.contains("1 passed"), "the child failed:\n{text}");
    }

    #[test]
    #[ignore = "runs only in the child process its parent test starts"]
    fn touch_256_mib() {
        if std::env::var_os(CHILD).is_none() {
            return;
        }
        let (block, per) = per_unit(256, || {
            let mut v = vec![0u8; 256 * MIB as usize];
            // Touch every page so it is resident.
            for i in (0..v.len()).step_by(4096) {
                v[i] = 1;
            }
            v
        });
        let per = per.expect("statm is readable on Linux");
        // Alone in its process, the growth is the block and a little more
        // (page tables, the allocator's own pages).
        assert!((0.95 * MIB as f64..1.25 * MIB as f64).contains(&per), "{per} bytes per MiB");
        assert_eq!(block.iter().step_by(4096).filter(|&&b| b == 1).count(), 256 * MIB as usize / 4096);
    }
}
