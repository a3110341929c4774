//! The node-state columns the core's table holds as codes of its own
//! (`process_status`, `sync_error_code`) or not at all (`status`, i.e.
//! Ready / Starting / Error / Divergent, and `process_health`, which the core
//! derives only in its per-node view).
//!
//! Each is a dictionary column keyed by a lookup table that the core's own
//! rules fill once ([`NodeStatus::of`], [`ProcessHealth::of`]), so a row
//! costs a table lookup and the rules live in one place.

use arrow_array::ArrayRef;
use arrow_array::types::UInt8Type;
use arrow_schema::ArrowError;
use fleetgov::table::{HEALTH_LABELS, NodeTable};
use fleetgov::{Health, NodeStatus, ProcessHealth, ProcessStatus, SyncErrorCode};

use crate::columns::{dictionary, looked_up};

/// Every node status, by key.
const NODE_STATUSES: [NodeStatus; 4] =
    [NodeStatus::Ready, NodeStatus::Starting, NodeStatus::Error, NodeStatus::Divergent];
/// Every process health, by key.
const PROCESS_HEALTHS: [ProcessHealth; 3] = [ProcessHealth::Healthy, ProcessHealth::Degraded, ProcessHealth::Offline];
/// Every health, matched to the table's [`HEALTH_LABELS`] by name.
pub(crate) const HEALTHS: [Health; 4] = [Health::Connected, Health::Stale, Health::Dormant, Health::Never];
/// The table's process-status codes: 0..=2 a [`ProcessStatus`], 3 none.
const PROCESS_CODES: usize = 4;

/// The four columns.
pub(crate) struct NodeState {
    pub(crate) status: ArrayRef,
    pub(crate) process_health: ArrayRef,
    pub(crate) process_status: ArrayRef,
    pub(crate) sync_error_code: ArrayRef,
}

/// The process status of a table code (any code past the last is "none").
fn process(code: usize) -> Option<ProcessStatus> {
    u8::try_from(code).ok().and_then(ProcessStatus::from_u8)
}

/// The lookup-table row of a process-status code.
fn process_row(code: u8) -> usize {
    usize::from(code).min(PROCESS_CODES - 1)
}

/// The key of `value`: its position in `all`.
fn key_of<T: PartialEq>(all: &[T], value: T) -> Option<u8> {
    all.iter().position(|v| *v == value).and_then(|p| u8::try_from(p).ok())
}

/// A lookup table whose every entry `entry(i)` gives; a missing entry means
/// the core's rules produced a value outside the labels here.
fn lookup_table<const N: usize>(entry: impl Fn(usize) -> Option<u8>) -> Result<[u8; N], ArrowError> {
    let mut table = [0; N];
    for (i, key) in table.iter_mut().enumerate() {
        *key = entry(i).ok_or_else(|| {
            ArrowError::InvalidArgumentError("a node status rule gave a value this binding has no label for".into())
        })?;
    }
    Ok(table)
}

/// Builds the columns of `t`.
pub(crate) fn columns(t: &NodeTable) -> Result<NodeState, ArrowError> {
    let rows = t.len();
    let (process_code, in_sync, error) = (&t.process_status, &t.in_sync, &t.sync_error);

    // status, by process code * 2 + in sync
    let status_of =
        lookup_table::<{ PROCESS_CODES * 2 }>(|i| key_of(&NODE_STATUSES, NodeStatus::of(process(i / 2), i % 2 == 1)))?;
    // process health, by (health key * PROCESS_CODES + process code) * 2 + has a sync error
    let health_of = lookup_table::<{ HEALTH_LABELS.len() * PROCESS_CODES * 2 }>(|i| {
        let (health, process_code, error) = (i / (PROCESS_CODES * 2), i / 2 % PROCESS_CODES, i % 2 == 1);
        let health = HEALTHS.into_iter().find(|h| h.as_str() == HEALTH_LABELS[health])?;
        key_of(&PROCESS_HEALTHS, ProcessHealth::of(health, process(process_code), error))
    })?;
    // Both in one pass; neither is ever null.
    let (status, process_health): (Vec<u8>, Vec<u8>) = (0..rows)
        .map(|i| {
            let (p, error) = (process_row(process_code[i]), usize::from(error[i] != 0));
            let health = (usize::from(t.health[i]) * PROCESS_CODES + p) * 2 + error;
            // A health key past the labels fails the health column's own
            // dictionary check, so the 0 stands in a table never exported.
            (status_of[p * 2 + usize::from(in_sync[i] != 0)], health_of.get(health).copied().unwrap_or_default())
        })
        .unzip();

    // A process status's code is its key: labels in code order.
    let process_of: Vec<Option<u8>> = (0..PROCESS_CODES).map(|c| process(c).map(|s| s as u8)).collect();
    let process_labels: Vec<&str> = (0..PROCESS_CODES).map_while(process).map(ProcessStatus::as_str).collect();
    let (process_status, process_nulls) = looked_up(rows, |i| usize::from(process_code[i]), &process_of);

    // Sync error codes are sparse (1..=9, 255): key by position in `ALL`.
    let mut code_key = [None; 256];
    for (key, code) in SyncErrorCode::ALL.iter().enumerate() {
        code_key[usize::from(*code as u8)] = u8::try_from(key).ok();
    }
    let (sync_error, error_nulls) = looked_up(rows, |i| usize::from(error[i]), &code_key);

    Ok(NodeState {
        status: dictionary::<UInt8Type, _>(status, None, NODE_STATUSES.map(NodeStatus::as_str))?,
        process_health: dictionary::<UInt8Type, _>(process_health, None, PROCESS_HEALTHS.map(ProcessHealth::as_str))?,
        process_status: dictionary::<UInt8Type, _>(process_status, process_nulls, process_labels)?,
        sync_error_code: dictionary::<UInt8Type, _>(
            sync_error,
            error_nulls,
            SyncErrorCode::ALL.map(SyncErrorCode::as_str),
        )?,
    })
}
