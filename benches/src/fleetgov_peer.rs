//! fleetgov's rows. The engine API is not in this build yet, so every
//! fleetgov row reports that it was not measured.

use crate::options::Extra;
use crate::report::{Figures, Outcome, Row, RowKey};
use crate::workload::Workload;

/// A fleetgov heartbeat row.
pub fn row(key: RowKey, _workload: &Workload) -> Row {
    Row { key, outcome: Outcome::Missing("this build of fleetgov has no Engine yet".into()), note: String::new() }
}

/// fleetgov's single figures.
pub fn figures(_extras: &[Extra], _workload: &Workload) -> Figures {
    Figures::default()
}
