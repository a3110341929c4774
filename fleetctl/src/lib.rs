//! `fleetctl`: the command line of a fleetgov fleet server, over its HTTP
//! API — like `istioctl proxy-status` or `argocd app list` for a fleetgov
//! fleet.
//!
//! ```text
//! fleetctl status                                     # one line per cluster
//! fleetctl nodes --cluster eks-prod-us --drift needs_reconcile
//! fleetctl publish eks-prod-us config.yaml
//! fleetctl publish eks-prod-us config.yaml --waves 10,50,100 --bake 60s --max-failure-pct 5 --auto-rollback
//! fleetctl rollout show eks-prod-us
//! fleetctl rollout pause eks-prod-us --reason "canary latency is up"
//! fleetctl force-sync --cluster azure-dev-west --reason "rollback after incident 4711"
//! fleetctl what-ran gw-prod-us-1 --at 2026-11-29T10:00:00Z
//! fleetctl history gw-prod-us-1
//! fleetctl audit --action force_sync_node
//! fleetctl audit verify --key "fleetgov+1a2b3c4d+AQ..."  # offline, with the key alone
//! ```
//!
//! The server comes from `--server` or `FLEETGOV_SERVER`, the token from
//! `--token` or `FLEETGOV_TOKEN`; `--output json` prints the server's JSON.
//! Exit codes: 0 done, 1 the server refused, 2 usage or transport, 3 a
//! proof did not verify.

mod cli;
mod client;
mod table;
mod verify;

pub use cli::{Cli, run};
pub use client::{Client, CtlError};
