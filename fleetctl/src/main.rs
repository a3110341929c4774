//! The `fleetctl` binary: see the crate documentation.

fn main() {
    let mut out = std::io::stdout().lock();
    if let Err(e) = fleetgov_ctl::run(std::env::args_os(), &mut out) {
        eprintln!("fleetctl: {e}");
        std::process::exit(e.exit_code());
    }
}
