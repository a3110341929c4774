//! The harness's output: one line per row as it finishes, a closing table
//! with every ratio, and a last line holding one JSON object.

use std::fmt::Write as _;

use crate::timing::Measured;

/// A row of the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKey {
    /// Random 64-byte slot updates, no engine logic.
    Roofline,
    /// The same, reading the batch's 128-byte records.
    RecordRoofline,
    /// fleetgov, `ingest_batch` by handle.
    Batch,
    /// fleetgov, one `heartbeat` call per heartbeat, by handle.
    Single,
    /// fleetgov, one call per heartbeat, by string id.
    ById,
    /// fleetgov, `ingest_by_id`: records named by an id column.
    ByIdBatch,
    /// `Mutex<HashMap<String, Node>>` with scanning cohesion.
    Naive,
    /// A `DashMap` by id with a lock per node and incremental counts.
    Dashmap,
    /// A dense array of per-node locks with incremental counts.
    Dense,
    /// Redis.
    Redis,
    /// PostgreSQL.
    Postgres,
}

impl RowKey {
    /// Every row in the order the harness runs them.
    pub const ALL: [RowKey; 11] = [
        RowKey::Roofline,
        RowKey::RecordRoofline,
        RowKey::Batch,
        RowKey::Single,
        RowKey::ById,
        RowKey::ByIdBatch,
        RowKey::Naive,
        RowKey::Dashmap,
        RowKey::Dense,
        RowKey::Redis,
        RowKey::Postgres,
    ];

    /// The name `--only` takes and the table shows.
    pub const fn name(self) -> &'static str {
        match self {
            RowKey::Roofline => "roofline",
            RowKey::RecordRoofline => "record-roofline",
            RowKey::Batch => "batch",
            RowKey::Single => "single",
            RowKey::ById => "by-id",
            RowKey::ByIdBatch => "by-id-batch",
            RowKey::Naive => "naive",
            RowKey::Dashmap => "dashmap",
            RowKey::Dense => "dense",
            RowKey::Redis => "redis",
            RowKey::Postgres => "postgres",
        }
    }

    /// Whether all of the row's work happens in this process (so its CPU
    /// share says how much of the machine it had).
    pub fn in_process(self) -> bool {
        !matches!(self, RowKey::Redis | RowKey::Postgres)
    }

    /// The key of its rate in the JSON line.
    fn json_key(self) -> &'static str {
        match self {
            RowKey::Roofline => "roofline_hb_s",
            RowKey::RecordRoofline => "record_roofline_hb_s",
            RowKey::Batch => "batch_hb_s",
            RowKey::Single => "single_hb_s",
            RowKey::ById => "by_id_hb_s",
            RowKey::ByIdBatch => "by_id_batch_hb_s",
            RowKey::Naive => "naive_hb_s",
            RowKey::Dashmap => "dashmap_hb_s",
            RowKey::Dense => "dense_peer_hb_s",
            RowKey::Redis => "redis_hb_s",
            RowKey::Postgres => "postgres_hb_s",
        }
    }
}

/// How a row ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// It ran and its final state matched the workload's ground truth.
    Ran(Measured),
    /// It did not run, or failed; the reason is shown and its JSON value is null.
    Missing(String),
}

/// One row's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Which row.
    pub key: RowKey,
    /// How it ended.
    pub outcome: Outcome,
    /// What else is worth knowing (server version, memory, ...).
    pub note: String,
}

impl Row {
    /// Heartbeats per second, if it ran.
    pub fn rate(&self) -> Option<f64> {
        match &self.outcome {
            Outcome::Ran(m) => Some(m.rate()),
            Outcome::Missing(_) => None,
        }
    }
}

/// Single figures of fleetgov that are not heartbeat rates.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Figures {
    /// Resident bytes per node of an engine holding 1,000,000 enrolled nodes.
    pub bytes_per_node: Option<f64>,
    /// One cohesion read of a 1,000-node cluster, ns.
    pub cohesion_read_ns_1k: Option<f64>,
    /// One cohesion read of a 1,000,000-node cluster, ns.
    pub cohesion_read_ns_1m: Option<f64>,
    /// Publishing a new desired snapshot to a 1,000,000-node cluster, µs.
    pub publish_flip_us_1m: Option<f64>,
}

/// Everything measured so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    rows: Vec<Row>,
    /// fleetgov's single figures.
    pub figures: Figures,
}

impl Report {
    /// Adds a row and returns its line, with the ratio to the reference as
    /// it stands now.
    pub fn add(&mut self, row: Row) -> String {
        self.rows.push(row);
        self.line(self.rows.last().expect("just pushed"))
    }

    /// The rate every ratio is taken against: fleetgov batch once it has
    /// run, the roofline before that.
    fn reference(&self) -> Option<(RowKey, f64)> {
        [RowKey::Batch, RowKey::Roofline]
            .into_iter()
            .find_map(|key| self.rows.iter().find(|r| r.key == key)?.rate().map(|rate| (key, rate)))
    }

    fn line(&self, row: &Row) -> String {
        let mut out = format!("{:<NAME_WIDTH$}", row.key.name());
        match (&row.outcome, self.reference()) {
            (Outcome::Ran(m), reference) => {
                let rate = m.rate();
                write!(
                    out,
                    " {:>12} hb in {:>8.3} s = {:>13} hb/s",
                    group(m.heartbeats),
                    m.elapsed.as_secs_f64(),
                    group(rate.round() as u64)
                )
                .expect("writing to a String");
                if let Some(share) = m.cpu_share().filter(|_| row.key.in_process()) {
                    write!(out, "  cpu {:>3.0}%", 100.0 * share).expect("writing to a String");
                }
                if let Some(ns) = m.cpu_ns_per_heartbeat().filter(|_| row.key.in_process()) {
                    write!(out, " {ns:>7.1} cpu-ns/hb").expect("writing to a String");
                }
                if let Some((key, reference)) = reference.filter(|(key, _)| *key != row.key) {
                    let ratio = rate / reference;
                    write!(out, "  {ratio:>9.4}x {}", key.name()).expect("writing to a String");
                    if ratio < 1.0 {
                        write!(out, " ({} is {:.1}x faster)", key.name(), 1.0 / ratio).expect("writing to a String");
                    }
                }
            }
            (Outcome::Missing(why), _) => write!(out, " not measured: {why}").expect("writing to a String"),
        }
        if !row.note.is_empty() {
            write!(out, "  [{}]", row.note).expect("writing to a String");
        }
        out
    }

    /// Every row again, with ratios to the final reference, and the figures.
    pub fn table(&self) -> String {
        let mut out = String::new();
        match self.reference() {
            Some((key, _)) => writeln!(out, "summary (ratios to {}):", key.name()),
            None => writeln!(out, "summary (no reference row ran):"),
        }
        .expect("writing to a String");
        for row in &self.rows {
            writeln!(out, "  {}", self.line(row)).expect("writing to a String");
        }
        let f = &self.figures;
        for (name, value, unit) in [
            ("engine memory", f.bytes_per_node, "bytes/node at 1M nodes"),
            ("cohesion read, 1k-node cluster", f.cohesion_read_ns_1k, "ns"),
            ("cohesion read, 1M-node cluster", f.cohesion_read_ns_1m, "ns"),
            ("publish flip, 1M-node cluster", f.publish_flip_us_1m, "us"),
        ] {
            match value {
                Some(v) => writeln!(out, "  {name}: {v:.1} {unit}"),
                None => writeln!(out, "  {name}: not measured"),
            }
            .expect("writing to a String");
        }
        out
    }

    /// The one-line JSON object (every key present; null where not measured).
    pub fn json(&self) -> String {
        let mut fields: Vec<(&str, Option<f64>)> = RowKey::ALL
            .iter()
            .map(|&key| (key.json_key(), self.rows.iter().find(|r| r.key == key).and_then(Row::rate)))
            .collect();
        let f = &self.figures;
        fields.extend([
            ("bytes_per_node", f.bytes_per_node),
            ("cohesion_read_ns_1k", f.cohesion_read_ns_1k),
            ("cohesion_read_ns_1m", f.cohesion_read_ns_1m),
            ("publish_flip_us_1m", f.publish_flip_us_1m),
        ]);
        let body: Vec<String> = fields
            .into_iter()
            .map(|(key, value)| match value.filter(|v| v.is_finite()) {
                Some(v) if v.abs() >= 1000.0 => format!("\"{key}\":{}", v.round()),
                Some(v) => format!("\"{key}\":{}", (v * 1000.0).round() / 1000.0),
                None => format!("\"{key}\":null"),
            })
            .collect();
        format!("{{{}}}", body.join(","))
    }
}

/// Width of the name column: the longest row name, so every column lines up.
const NAME_WIDTH: usize = {
    let mut widest = 0;
    let mut i = 0;
    while i < RowKey::ALL.len() {
        let len = RowKey::ALL[i].name().len();
        if len > widest {
            widest = len;
        }
        i += 1;
    }
    widest
};

/// `12345678` as `12,345,678`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ran(key: RowKey, heartbeats: u64, millis: u64) -> Row {
        Row {
            key,
            outcome: Outcome::Ran(Measured {
                heartbeats,
                elapsed: Duration::from_millis(millis),
                cpu: Some(Duration::from_millis(millis)),
                threads: 2,
            }),
            note: String::new(),
        }
    }

    #[test]
    fn json_has_every_key_in_order_with_nulls_for_missing_rows() {
        let mut r = Report::default();
        r.add(ran(RowKey::Roofline, 20_000_000, 500));
        r.add(Row { key: RowKey::Redis, outcome: Outcome::Missing("no server".into()), note: String::new() });
        r.figures.cohesion_read_ns_1k = Some(12.3456);
        let json = r.json();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["roofline_hb_s"].as_f64(), Some(40_000_000.0));
        assert!(v["redis_hb_s"].is_null() && v["batch_hb_s"].is_null() && v["bytes_per_node"].is_null());
        assert_eq!(v["cohesion_read_ns_1k"].as_f64(), Some(12.346));
        let keys = [
            "roofline_hb_s",
            "record_roofline_hb_s",
            "batch_hb_s",
            "single_hb_s",
            "by_id_hb_s",
            "by_id_batch_hb_s",
            "naive_hb_s",
            "dashmap_hb_s",
            "dense_peer_hb_s",
            "redis_hb_s",
            "postgres_hb_s",
            "bytes_per_node",
            "cohesion_read_ns_1k",
            "cohesion_read_ns_1m",
            "publish_flip_us_1m",
        ];
        assert_eq!(v.as_object().unwrap().len(), keys.len());
        let mut at = 0;
        for key in keys {
            let found =
                json[at..].find(&format!("\"{key}\"")).unwrap_or_else(|| panic!("{key} missing or out of order"));
            at += found;
        }
        assert!(!json.contains('\n'));
    }

    #[test]
    fn ratios_are_taken_against_batch_once_it_ran() {
        let mut r = Report::default();
        let roof = r.add(ran(RowKey::Roofline, 1_000, 1_000));
        assert!(!roof.contains('x'), "the reference has no ratio to itself: {roof}");
        let naive = r.add(ran(RowKey::Naive, 100, 1_000));
        assert!(naive.contains("0.1000x roofline (roofline is 10.0x faster)"), "{naive}");
        r.add(ran(RowKey::Batch, 500, 1_000));
        let table = r.table();
        assert!(table.starts_with("summary (ratios to batch)"), "{table}");
        assert!(table.contains("2.0000x batch"), "{table}");
        assert!(table.contains("0.2000x batch (batch is 5.0x faster)"), "{table}");
        assert!(table.contains("engine memory: not measured"));
    }

    #[test]
    fn the_name_column_fits_every_row_name() {
        let mut r = Report::default();
        let lines: Vec<String> = RowKey::ALL.iter().map(|&key| r.add(ran(key, 1_000, 1_000))).collect();
        let at: Vec<usize> = lines.iter().map(|l| l.find(" hb in ").expect("a ran row")).collect();
        assert!(at.iter().all(|&a| a == at[0]), "columns do not line up:\n{}", lines.join("\n"));
        for (line, key) in lines.iter().zip(RowKey::ALL) {
            assert!(line.starts_with(&format!("{} ", key.name())), "{line}");
        }
    }

    #[test]
    fn missing_rows_say_why() {
        let mut r = Report::default();
        let line = r.add(Row {
            key: RowKey::Postgres,
            outcome: Outcome::Missing("connection refused".into()),
            note: String::new(),
        });
        assert_eq!(line, format!("{:<15} not measured: connection refused", "postgres"));
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(group(999), "999");
    }
}
