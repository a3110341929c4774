//! Prints the seeds' three demo clusters as a table:
//! `cargo run --release --example demo`.

use std::time::{SystemTime, UNIX_EPOCH};

fn main() -> fleetgov::Result<()> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let engine = fleetgov::demo::engine(now)?;
    println!(
        "{:<16} {:<12} {:<10} {:<27} {:>9}  root causes",
        "CLUSTER", "ENVIRONMENT", "STATUS", "COHESION", "IN SYNC"
    );
    for c in engine.clusters(now) {
        let filled = usize::from(c.cohesion) / 5;
        let bar = format!("[{}{}] {:>3}%", "#".repeat(filled), ".".repeat(20 - filled), c.cohesion);
        let causes: Vec<String> = c
            .root_causes
            .iter()
            .map(|r| format!("{} x{} (e.g. {})", r.code, r.nodes, r.example_node.as_deref().unwrap_or("?")))
            .collect();
        println!(
            "{:<16} {:<12} {:<10} {:<27} {:>9}  {}",
            c.id,
            c.environment.as_str(),
            c.status.as_str(),
            bar,
            format!("{}/{}", c.in_sync, c.total),
            if causes.is_empty() { "-".to_owned() } else { causes.join(", ") }
        );
    }
    Ok(())
}
