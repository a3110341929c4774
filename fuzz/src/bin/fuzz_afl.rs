//! The coverage-guided entry point: AFL++ feeds one target's harness in
//! persistent mode. Built with `cargo afl build --features afl`; see
//! fuzz/README.md for the whole command.

use std::panic::AssertUnwindSafe;

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = fleetgov_fuzz::target(&name) else {
        let names: Vec<&str> = fleetgov_fuzz::TARGETS.iter().map(|t| t.name).collect();
        eprintln!("usage: fuzz-afl TARGET (one of {})", names.join(", "));
        std::process::exit(2);
    };
    let mut harness = AssertUnwindSafe((target.harness)());
    afl::fuzz!(|data: &[u8]| harness.run(data));
}
