//! The fleet server and dashboard: the seeds' three demo clusters, a
//! simulated fleet of 30,000 nodes, the HTTP API and the Cluster Manager.
//!
//! ```text
//! cargo run --release --example fleet_server                  # http://127.0.0.1:8080/cluster, state in ./fleetgov-data
//! cargo run --release --example fleet_server -- --ephemeral   # the same, in memory: nothing survives a restart
//! cargo run --release --example fleet_server -- --help        # --listen, --config, --data-dir, --tls-cert/--tls-key, --no-simulation, --nodes
//! ```

fn main() -> std::process::ExitCode {
    fleetgov_server::main_entry()
}
