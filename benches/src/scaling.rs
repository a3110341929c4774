//! `peers --scaling SIZES`: how fleetgov scales with the fleet.
//!
//! At each fleet size, the workload of the harness (same clusters, same
//! transition rate, same query rule, same heartbeat count) runs through the
//! batch row with 1 and with 2 threads, each run on an engine of its own and
//! checked against the ground truth like every row of the harness. The first
//! engine built at a size gives the bytes per node (resident-set growth over
//! building and seeding it). Then one cluster holding the whole fleet gives
//! the latency of a cohesion read and of a publish flipping every node out
//! of sync. The result is a markdown table (with the load average at each
//! size: the machine may be shared) and, with `--svg FILE`, a plot.
//!
//! Before a size is built, its memory is estimated from the figures below
//! and the size is skipped, with the reason in its row, when the machine's
//! available memory is not at least twice the estimate.

use std::fmt::Write as _;

use crate::fleetgov_peer;
use crate::options::{Extra, Options};
use crate::plot::{Chart, Series};
use crate::report::{Figures, Outcome, RowKey};
use crate::workload::{Workload, WorkloadSpec};

/// The thread counts measured at every size.
pub const THREADS: [usize; 2] = [1, 2];

/// Resident bytes per node a size needs at most (engine, ids, the one-cluster
/// fleet's ids, the ground-truth state), generously: about twice what the
/// engine measures.
const BYTES_PER_NODE_BOUND: u64 = 500;
/// Resident bytes per heartbeat of the stream (its event and its pre-encoded
/// 128-byte record).
const BYTES_PER_HEARTBEAT_BOUND: u64 = 160;

/// What was measured at one fleet size.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Nodes in the fleet.
    pub nodes: u32,
    /// Batch heartbeats/s and the CPU share the run got, per entry of [`THREADS`].
    pub rates: Vec<Option<(f64, Option<f64>)>>,
    /// Resident bytes per node of the engine.
    pub bytes_per_node: Option<f64>,
    /// One cohesion read of a cluster of every node, ns.
    pub read_ns: Option<f64>,
    /// Publishing a new desired snapshot to that cluster, µs.
    pub flip_us: Option<f64>,
    /// The 1-, 5- and 15-minute load averages when the size was done.
    pub load: String,
    /// Why the size was not measured, if it was not.
    pub skipped: Option<String>,
}

/// Measures every size in `sizes`. A wrong answer of any run fails the
/// whole measurement.
pub fn run(options: &Options, sizes: &[u32]) -> Result<Vec<Point>, String> {
    let mut points = Vec::with_capacity(sizes.len());
    for &nodes in sizes {
        let mut point = Point {
            nodes,
            rates: vec![None; THREADS.len()],
            bytes_per_node: None,
            read_ns: None,
            flip_us: None,
            load: String::new(),
            skipped: None,
        };
        let need = nodes as u64 * BYTES_PER_NODE_BOUND + options.workload.heartbeats * BYTES_PER_HEARTBEAT_BOUND;
        match available_bytes() {
            Some(available) if available < 2 * need => {
                point.skipped = Some(format!(
                    "needs about {} MiB, {} MiB available (want twice the need on a shared machine)",
                    need >> 20,
                    available >> 20
                ));
            }
            _ => measure(options, &mut point)?,
        }
        point.load = load_average();
        println!("{}", row(&point));
        points.push(point);
    }
    Ok(points)
}

fn measure(options: &Options, point: &mut Point) -> Result<(), String> {
    let mut figures = Figures::default();
    for (t, &threads) in THREADS.iter().enumerate() {
        let spec = WorkloadSpec {
            nodes: point.nodes,
            clusters: options.workload.clusters.min(point.nodes),
            threads,
            ..options.workload.clone()
        };
        let workload = Workload::generate(spec)?;
        let runs: Vec<_> = (0..options.rounds)
            .map(|_| fleetgov_peer::row(RowKey::Batch, &workload, &[Extra::Memory], &mut figures))
            .collect();
        let Some(median) = crate::median_run(runs) else { continue };
        match median.outcome {
            Outcome::Ran(m) => point.rates[t] = Some((m.rate(), m.cpu_share())),
            Outcome::Missing(why) => return Err(format!("{} nodes, {threads} threads: {why}", point.nodes)),
        }
    }
    point.bytes_per_node = figures.bytes_per_node;
    let (read_ns, flip_us) = fleetgov_peer::cluster_figures(point.nodes)?;
    (point.read_ns, point.flip_us) = (Some(read_ns), Some(flip_us));
    Ok(())
}

/// `MemAvailable` of `/proc/meminfo`, in bytes.
fn available_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// `10000` as `10k`, `1000000` as `1M`.
pub fn size_label(nodes: u32) -> String {
    match nodes {
        n if n >= 1_000_000 && n.is_multiple_of(1_000_000) => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n.is_multiple_of(1_000) => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// The markdown table's header.
pub fn header() -> String {
    let mut head = String::from("| nodes |");
    let mut rule = String::from("| ---: |");
    for threads in THREADS {
        write!(head, " batch, {threads} thread{} (hb/s, cpu share) |", if threads == 1 { "" } else { "s" })
            .expect("writing to a String");
        rule.push_str(" ---: |");
    }
    head.push_str(" bytes/node | cohesion read (ns) | publish flip (µs) | load average |");
    rule.push_str(" ---: | ---: | ---: | :--- |");
    format!("{head}\n{rule}")
}

/// One size's row of the markdown table.
pub fn row(point: &Point) -> String {
    let mut out = format!("| {} |", size_label(point.nodes));
    if let Some(why) = &point.skipped {
        write!(out, " skipped: {why} |{} {} |", " |".repeat(THREADS.len() + 2), point.load)
            .expect("writing to a String");
        return out;
    }
    for rate in &point.rates {
        match rate {
            Some((rate, Some(share))) => write!(out, " {:.2} M ({:.0} %) |", rate / 1e6, share * 100.0),
            Some((rate, None)) => write!(out, " {:.2} M |", rate / 1e6),
            None => write!(out, " — |"),
        }
        .expect("writing to a String");
    }
    let cell = |v: Option<f64>, decimals: usize| v.map_or("—".to_string(), |v| format!("{v:.decimals$}"));
    write!(
        out,
        " {} | {} | {} | {} |",
        cell(point.bytes_per_node, 0),
        cell(point.read_ns, 1),
        cell(point.flip_us, 1),
        point.load
    )
    .expect("writing to a String");
    out
}

/// The whole markdown table.
pub fn table(points: &[Point]) -> String {
    let mut out = header();
    for point in points {
        out.push('\n');
        out.push_str(&row(point));
    }
    out
}

/// The plot: rates, bytes per node, cohesion read and publish flip against
/// the fleet size.
pub fn plot(points: &[Point]) -> String {
    let series = |name: String, color: &'static str, value: &dyn Fn(&Point) -> Option<f64>| Series {
        name,
        color,
        points: points.iter().filter_map(|p| Some((f64::from(p.nodes), value(p)?))).collect(),
    };
    let colors = ["#1f77b4", "#d62728"];
    let rates = THREADS
        .iter()
        .enumerate()
        .map(|(t, &threads)| {
            let name = format!("{threads} thread{}", if threads == 1 { "" } else { "s" });
            series(name, colors[t % colors.len()], &|p: &Point| p.rates[t].map(|r| r.0 / 1e6))
        })
        .collect();
    let one = |title: &str, name: &str, value: &dyn Fn(&Point) -> Option<f64>| Chart {
        title: title.into(),
        series: vec![series(name.into(), colors[0], value)],
    };
    let charts = [
        Chart { title: "batch ingest (M heartbeats/s)".into(), series: rates },
        one("engine memory (bytes/node)", "resident bytes per node", &|p| p.bytes_per_node),
        one("cohesion read (ns)", "one cluster of every node", &|p| p.read_ns),
        one("publish flip (µs)", "one cluster of every node", &|p| p.flip_us),
    ];
    let ticks: Vec<(f64, String)> = points.iter().map(|p| (f64::from(p.nodes), size_label(p.nodes))).collect();
    crate::plot::svg(&charts, &ticks, "nodes (log scale)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_size_is_measured_and_checked() {
        let options = Options::parse(["--heartbeats", "20000", "--rounds", "1"].map(String::from)).unwrap();
        let points = run(&options, &[2_000, 20_000]).unwrap();
        assert_eq!(points.iter().map(|p| p.nodes).collect::<Vec<_>>(), [2_000, 20_000]);
        for p in &points {
            assert_eq!(p.skipped, None);
            assert!(p.rates.iter().all(|r| r.is_some_and(|(rate, _)| rate > 0.0)), "{p:?}");
            assert!(p.read_ns.is_some() && p.flip_us.is_some() && p.bytes_per_node.is_some(), "{p:?}");
        }
        let table = table(&points);
        assert_eq!(table.lines().count(), 4);
        assert!(table.lines().nth(2).unwrap().starts_with("| 2k | "), "{table}");
        let columns = |line: &str| line.matches('|').count();
        assert!(table.lines().all(|l| columns(l) == 2 + THREADS.len() + 4), "{table}");
        let svg = plot(&points);
        assert_eq!(svg.lines().filter(|l| l.starts_with("<circle")).count(), 2 * (THREADS.len() + 3));
    }

    #[test]
    fn a_skipped_size_keeps_the_table_shape() {
        let point = Point {
            nodes: 10_000_000,
            rates: vec![None; THREADS.len()],
            bytes_per_node: None,
            read_ns: None,
            flip_us: None,
            load: "1.00 2.00 3.00".into(),
            skipped: Some("not enough memory".into()),
        };
        let line = row(&point);
        assert!(line.starts_with("| 10M | skipped: not enough memory |") && line.ends_with("| 1.00 2.00 3.00 |"));
        assert_eq!(line.matches('|').count(), 2 + THREADS.len() + 4);
        assert!(header().lines().all(|l| l.matches('|').count() == 2 + THREADS.len() + 4));
        assert!(!plot(&[point]).contains("<circle"));
    }

    #[test]
    fn sizes_are_labelled_short() {
        assert_eq!(size_label(10_000), "10k");
        assert_eq!(size_label(10_000_000), "10M");
        assert_eq!(size_label(1_500), "1500");
        assert_eq!(size_label(2_500_000), "2500k");
    }
}
