//! The checked-in corpus: `fuzz/corpus/<target>/<name>`, one input per file.
//!
//! The files named after a target's seeds are written by
//! `cargo run -p fleetgov-fuzz -- seed` from [`Target::seeds`](crate::Target::seeds)
//! and checked against them by the tests, so the corpus can always be made
//! again. Any other file (an input a fuzzer found, kept as a regression) is
//! replayed too and left alone.

use std::io;
use std::path::PathBuf;

use crate::Target;

/// The corpus folder of `target`.
pub fn dir(target: &Target) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target.name)
}

/// Every input of `target`'s corpus, by file name, in name order.
pub fn read(target: &Target) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut inputs = Vec::new();
    for entry in std::fs::read_dir(dir(target))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            inputs.push((entry.file_name().to_string_lossy().into_owned(), std::fs::read(entry.path())?));
        }
    }
    inputs.sort();
    Ok(inputs)
}

/// Writes `target`'s seeds into its corpus folder (creating it); returns
/// how many files were written. Other files are kept.
pub fn write_seeds(target: &Target) -> io::Result<usize> {
    let dir = dir(target);
    std::fs::create_dir_all(&dir)?;
    let seeds = (target.seeds)();
    for seed in &seeds {
        std::fs::write(dir.join(&seed.name), &seed.bytes)?;
    }
    Ok(seeds.len())
}
