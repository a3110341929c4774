//! Command-line options of the `peers` harness.

use crate::report::RowKey;
use crate::workload::WorkloadSpec;

/// Usage text.
pub const USAGE: &str = "\
usage: peers [--quick] [--heartbeats N] [--redis-heartbeats N] [--postgres-heartbeats N]
             [--only ROW,ROW,...] [--redis URL] [--postgres PARAMS]
             [--nodes N] [--clusters N] [--threads N]
       peers --scaling SIZES [--svg FILE] [--quick] [--heartbeats N] [--rounds N]

Runs one workload (1,000,000 nodes in 100 clusters, 1% transitions, 2 threads)
through every row and prints heartbeats/s and the ratio to fleetgov batch.
The last line is one JSON object.

  --quick                 2,000,000 heartbeats (Redis 200,000, PostgreSQL 100,000)
  --heartbeats N          heartbeats for the in-process rows (default 20,000,000)
  --redis-heartbeats N    heartbeats for Redis (default 2,000,000)
  --postgres-heartbeats N heartbeats for PostgreSQL (default 1,000,000)
  --only ROWS             rows to run: roofline, record-roofline, batch, single, by-id,
                          by-id-batch, naive, dashmap, dense, redis, postgres, reads,
                          publish, memory; `fleetgov` stands for batch, single, by-id,
                          by-id-batch, reads, publish, memory
  --redis URL             a scratch Redis (it is flushed), e.g. redis://127.0.0.1:6379/
  --postgres PARAMS       a scratch PostgreSQL, e.g. \"host=127.0.0.1 port=5432 user=postgres\"
  --rounds N              runs of each in-process row, alternated; the median
                          is reported (default 3)
  --nodes, --clusters, --threads  change the fleet (for smoke runs only)
  --scaling SIZES         instead of the rows: fleetgov batch with 1 and 2 threads,
                          bytes/node, cohesion read and publish flip at each fleet
                          size, e.g. 10k,100k,1m,10m; prints a markdown table
  --svg FILE              with --scaling: also write the plot to FILE
";

/// Something `--only` can select besides the heartbeat rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extra {
    /// Cohesion read latency at 1k and 1M nodes.
    Reads,
    /// Publish flip latency at 1M nodes.
    Publish,
    /// Engine bytes per node.
    Memory,
}

/// Parsed options.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The workload of the in-process rows.
    pub workload: WorkloadSpec,
    /// Heartbeats Redis runs (a prefix of the same stream).
    pub redis_heartbeats: u64,
    /// Heartbeats PostgreSQL runs (a prefix of the same stream).
    pub postgres_heartbeats: u64,
    /// Rows selected.
    pub rows: Vec<RowKey>,
    /// Runs of each in-process row (the median is reported).
    pub rounds: usize,
    /// Figures selected.
    pub extras: Vec<Extra>,
    /// Redis URL, if a server was given.
    pub redis: Option<String>,
    /// PostgreSQL connection parameters, if a server was given.
    pub postgres: Option<String>,
    /// Fleet sizes to measure instead of the rows (`--scaling`).
    pub scaling: Option<Vec<u32>>,
    /// Where to write the scaling plot.
    pub svg: Option<String>,
}

impl Options {
    /// Parses the arguments after the program name; `Err` carries the
    /// message to print (the usage text for `--help`).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut quick = false;
        let mut heartbeats = None;
        let mut redis_heartbeats = None;
        let mut postgres_heartbeats = None;
        let mut only = None;
        let mut redis = None;
        let mut postgres = None;
        let mut rounds = 3;
        let mut scaling = None;
        let mut svg = None;
        let mut workload = WorkloadSpec::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"));
            match arg.as_str() {
                "--quick" => quick = true,
                "--heartbeats" => heartbeats = Some(count(&arg, &value(&arg)?)?),
                "--redis-heartbeats" => redis_heartbeats = Some(count(&arg, &value(&arg)?)?),
                "--postgres-heartbeats" => postgres_heartbeats = Some(count(&arg, &value(&arg)?)?),
                "--only" => only = Some(value(&arg)?),
                "--redis" => redis = Some(value(&arg)?),
                "--postgres" => postgres = Some(value(&arg)?),
                "--nodes" => workload.nodes = narrow(&arg, count(&arg, &value(&arg)?)?)?,
                "--clusters" => workload.clusters = narrow(&arg, count(&arg, &value(&arg)?)?)?,
                "--rounds" => rounds = narrow::<usize>(&arg, count(&arg, &value(&arg)?)?)?.max(1),
                "--threads" => workload.threads = narrow(&arg, count(&arg, &value(&arg)?)?)?,
                "--scaling" => scaling = Some(sizes(&arg, &value(&arg)?)?),
                "--svg" => svg = Some(value(&arg)?),
                "-h" | "--help" => return Err(USAGE.to_string()),
                other => return Err(format!("unknown argument {other:?}\n\n{USAGE}")),
            }
        }
        let (hb, redis_hb, pg_hb) =
            if quick { (2_000_000, 200_000, 100_000) } else { (20_000_000, 2_000_000, 1_000_000) };
        workload.heartbeats = heartbeats.unwrap_or(hb);
        let (rows, extras) = select(only.as_deref())?;
        if svg.is_some() && scaling.is_none() {
            return Err(format!("--svg goes with --scaling\n\n{USAGE}"));
        }
        Ok(Options {
            redis_heartbeats: redis_heartbeats.unwrap_or(redis_hb).min(workload.heartbeats),
            postgres_heartbeats: postgres_heartbeats.unwrap_or(pg_hb).min(workload.heartbeats),
            workload,
            rows,
            rounds,
            extras,
            redis,
            postgres,
            scaling,
            svg,
        })
    }
}

/// `10k,100k,1m,10m` (or plain counts) as node counts.
fn sizes(name: &str, text: &str) -> Result<Vec<u32>, String> {
    let sizes = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|size| {
            let lower = size.to_ascii_lowercase();
            let (digits, factor) = match lower.strip_suffix('m') {
                Some(d) => (d, 1_000_000),
                None => lower.strip_suffix('k').map_or((lower.as_str(), 1), |d| (d, 1_000)),
            };
            let n = count(name, digits)?.checked_mul(factor).ok_or_else(|| format!("{name} {size} is too large"))?;
            match narrow::<u32>(name, n)? {
                0 => Err(format!("{name}: a fleet has at least one node, not {size:?}")),
                n => Ok(n),
            }
        })
        .collect::<Result<Vec<u32>, String>>()?;
    if sizes.is_empty() {
        return Err(format!("{name} needs at least one size, e.g. 10k,100k,1m"));
    }
    Ok(sizes)
}

/// `1000000`, `1_000_000` or `1,000,000`.
fn count(name: &str, text: &str) -> Result<u64, String> {
    text.replace(['_', ','], "").parse().map_err(|_| format!("{name} takes a whole number, not {text:?}"))
}

fn narrow<T: TryFrom<u64>>(name: &str, n: u64) -> Result<T, String> {
    T::try_from(n).map_err(|_| format!("{name} {n} is too large"))
}

fn select(only: Option<&str>) -> Result<(Vec<RowKey>, Vec<Extra>), String> {
    let all_extras = [Extra::Reads, Extra::Publish, Extra::Memory];
    let Some(only) = only else {
        return Ok((RowKey::ALL.to_vec(), all_extras.to_vec()));
    };
    let mut rows = Vec::new();
    let mut extras = Vec::new();
    for name in only.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name {
            "fleetgov" => {
                rows.extend([RowKey::Batch, RowKey::Single, RowKey::ById, RowKey::ByIdBatch]);
                extras.extend(all_extras);
            }
            "reads" => extras.push(Extra::Reads),
            "publish" => extras.push(Extra::Publish),
            "memory" => extras.push(Extra::Memory),
            _ => rows.push(
                *RowKey::ALL
                    .iter()
                    .find(|k| k.name() == name)
                    .ok_or_else(|| format!("--only: unknown row {name:?}\n\n{USAGE}"))?,
            ),
        }
    }
    // Run in the canonical order, each once.
    let rows = RowKey::ALL.into_iter().filter(|k| rows.contains(k)).collect();
    let extras = all_extras.into_iter().filter(|e| extras.contains(e)).collect();
    Ok((rows, extras))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_are_the_full_workload() {
        let o = parse(&[]).unwrap();
        assert_eq!(o.workload, WorkloadSpec::default());
        assert_eq!(o.workload.heartbeats, 20_000_000);
        assert_eq!((o.redis_heartbeats, o.postgres_heartbeats), (2_000_000, 1_000_000));
        assert_eq!(o.rows, RowKey::ALL.to_vec());
        assert_eq!(o.extras.len(), 3);
        assert_eq!((o.redis, o.postgres), (None, None));
    }

    #[test]
    fn quick_and_explicit_counts() {
        let o = parse(&["--quick", "--redis", "redis://127.0.0.1:7000/"]).unwrap();
        assert_eq!((o.workload.heartbeats, o.redis_heartbeats, o.postgres_heartbeats), (2_000_000, 200_000, 100_000));
        assert_eq!(o.workload.nodes, 1_000_000);
        assert_eq!(o.redis.as_deref(), Some("redis://127.0.0.1:7000/"));
        let o = parse(&["--heartbeats", "50_000", "--postgres-heartbeats", "1,000"]).unwrap();
        assert_eq!((o.workload.heartbeats, o.redis_heartbeats, o.postgres_heartbeats), (50_000, 50_000, 1_000));
    }

    #[test]
    fn only_selects_rows_in_canonical_order() {
        let o = parse(&["--only", "naive,roofline, redis"]).unwrap();
        assert_eq!(o.rows, vec![RowKey::Roofline, RowKey::Naive, RowKey::Redis]);
        assert!(o.extras.is_empty());
        let o = parse(&["--only", "fleetgov"]).unwrap();
        assert_eq!(o.rows, vec![RowKey::Batch, RowKey::Single, RowKey::ById, RowKey::ByIdBatch]);
        assert_eq!(o.extras, vec![Extra::Reads, Extra::Publish, Extra::Memory]);
    }

    #[test]
    fn bad_arguments_are_refused_with_a_reason() {
        assert!(parse(&["--only", "mongodb"]).unwrap_err().contains("unknown row \"mongodb\""));
        assert!(parse(&["--heartbeats"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--heartbeats", "lots"]).unwrap_err().contains("whole number"));
        assert!(parse(&["--nodes", "99999999999"]).unwrap_err().contains("too large"));
        assert!(parse(&["--fast"]).unwrap_err().contains("unknown argument"));
        assert!(parse(&["--help"]).unwrap_err().starts_with("usage:"));
        assert!(parse(&["--scaling", "10k,lots"]).unwrap_err().contains("whole number"));
        assert!(parse(&["--scaling", "0"]).unwrap_err().contains("at least one node"));
        assert!(parse(&["--scaling", ","]).unwrap_err().contains("at least one size"));
        assert!(parse(&["--scaling", "5000m"]).unwrap_err().contains("too large"));
        assert!(parse(&["--svg", "x.svg"]).unwrap_err().contains("goes with --scaling"));
    }

    #[test]
    fn scaling_sizes_take_k_and_m() {
        let o = parse(&["--scaling", "10k, 100K,1m,10M,1500", "--svg", "plot.svg"]).unwrap();
        assert_eq!(o.scaling, Some(vec![10_000, 100_000, 1_000_000, 10_000_000, 1_500]));
        assert_eq!(o.svg.as_deref(), Some("plot.svg"));
        assert_eq!(parse(&[]).unwrap().scaling, None);
    }
}
