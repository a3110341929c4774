//! The fleet server as a binary of this crate: the same `main` as the
//! repository's `fleet_server` example, so that the server's own tests can
//! start it as a process of its own, kill it and start it again.

fn main() -> std::process::ExitCode {
    fleetgov_server::main_entry()
}
