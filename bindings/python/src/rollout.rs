//! Controlled rollouts for Python: the `rollout=` plan of `Engine.publish`
//! (a dict, checked here for its Python types and by the core for its
//! values), and the read-only `RolloutView` and `WaveView` value classes
//! `Engine.rollout` hands out (frozen copies, as the other views: equal by
//! their fields, picklable, `to_dict()`).

use fleetgov::rollout::{Phase, RolloutPlan};
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyTuple};

use crate::args::{Flag, Text, Uint, describe, uint};
use crate::error;
use crate::views::{Fields, Q, fields, label, owned, py_optional, value_class};

/// The keys of a plan, in the order the core takes them.
const PLAN_KEYS: [&str; 4] = ["waves", "bake_ms", "max_failure_pct", "auto_rollback"];

/// The plan a `rollout=` dict describes: `waves` (a list of whole
/// percentages), `bake_ms` (an int), `max_failure_pct` (a float or int) and
/// `auto_rollback` (a bool), every key required and no other. A value of the
/// wrong Python type is `InvalidType`; a plan the core refuses (waves not
/// strictly increasing from 1 to 100, a percentage outside 0 to 100) is
/// `InvalidInput`.
pub(crate) fn plan(obj: &Bound<'_, PyAny>) -> PyResult<RolloutPlan> {
    let py = obj.py();
    let dict = obj.cast::<PyDict>().map_err(|_| {
        error::wrong_type(py, format!("rollout must be a dict of {}, got {}", PLAN_KEYS.join(", "), describe(obj)))
    })?;
    for key in dict.keys() {
        let known = key.extract::<&str>().ok().filter(|k| PLAN_KEYS.contains(k));
        if known.is_none() {
            return Err(error::invalid(
                py,
                format!("a rollout plan has the keys {}, not {}", PLAN_KEYS.join(", "), describe(&key)),
            ));
        }
    }
    let get = |name: &str| {
        dict.get_item(name)?.ok_or_else(|| {
            error::invalid(py, format!("a rollout plan needs {name} (it needs every one of {})", PLAN_KEYS.join(", ")))
        })
    };
    let waves = get("waves")?;
    if !(waves.is_instance_of::<PyList>() || waves.is_instance_of::<PyTuple>()) {
        return Err(error::wrong_type(py, format!("rollout waves must be a list of ints, got {}", describe(&waves))));
    }
    let mut percents = Vec::new();
    for wave in waves.try_iter()? {
        let wave = wave?;
        let percent = uint::<u64>(&wave, "a rollout wave")?;
        percents.push(u8::try_from(percent).ok().filter(|p| *p <= 100).ok_or_else(|| {
            error::invalid(py, format!("a rollout wave is a whole percentage from 1 to 100, got {percent}"))
        })?);
    }
    let bake_ms = uint::<u64>(&get("bake_ms")?, "bake_ms")?;
    let pct = get("max_failure_pct")?;
    // A bool is an int to Python, a str would pass `float(...)`: only numbers are percentages.
    if pct.is_instance_of::<PyBool>() || !(pct.is_instance_of::<PyFloat>() || pct.is_instance_of::<PyInt>()) {
        return Err(error::wrong_type(py, format!("max_failure_pct must be a float, got {}", describe(&pct))));
    }
    let max_failure_pct = pct.extract::<f64>()?;
    let Flag(auto_rollback) = get("auto_rollback")?.extract()?;
    RolloutPlan::new(percents, bake_ms, max_failure_pct, auto_rollback).map_err(|e| error::to_py(py, e))
}

fn phases() -> [&'static str; 7] {
    [
        Phase::Progressing.as_str(),
        Phase::Baking.as_str(),
        Phase::Paused.as_str(),
        Phase::Halted.as_str(),
        Phase::RolledBack.as_str(),
        Phase::Aborted.as_str(),
        Phase::Complete.as_str(),
    ]
}

/// One wave of a rollout: `WaveView` in Python.
#[pyclass(module = "fleetgov._native", name = "WaveView", frozen, eq, hash, get_all, skip_from_py_object)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyWaveView {
    percent: u8,
    nodes: u64,
    on_target: u64,
    failures: u64,
    started_ms: Option<u64>,
}

impl From<&fleetgov::WaveView> for PyWaveView {
    fn from(w: &fleetgov::WaveView) -> Self {
        PyWaveView {
            percent: w.percent,
            nodes: w.nodes,
            on_target: w.on_target,
            failures: w.failures,
            started_ms: w.started_ms,
        }
    }
}

fields!(PyWaveView { percent, nodes, on_target, failures, started_ms });

impl PyWaveView {
    /// A wave from its fields, the percentage checked.
    fn checked(
        py: Python<'_>,
        percent: u64,
        nodes: u64,
        on_target: u64,
        failures: u64,
        started_ms: Option<u64>,
    ) -> PyResult<Self> {
        let percent = u8::try_from(percent)
            .ok()
            .filter(|p| (1..=100).contains(p))
            .ok_or_else(|| error::invalid(py, format!("percent must be from 1 to 100, got {percent}")))?;
        Ok(PyWaveView { percent, nodes, on_target, failures, started_ms })
    }

    /// A `WaveView`, or a dict of its fields (what `to_dict()` and pickling give).
    fn from_py(item: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = item.py();
        if let Ok(wave) = item.cast::<PyWaveView>() {
            return Ok(wave.get().clone());
        }
        let dict = item.cast::<PyDict>().map_err(|_| {
            error::wrong_type(py, format!("a wave must be a WaveView or a dict of its fields, got {}", describe(item)))
        })?;
        let field =
            |name: &str| dict.get_item(name)?.ok_or_else(|| error::invalid(py, format!("a wave dict needs {name}")));
        let started = field("started_ms")?;
        let started_ms = if started.is_none() { None } else { Some(uint::<u64>(&started, "started_ms")?) };
        PyWaveView::checked(
            py,
            uint(&field("percent")?, "percent")?,
            uint(&field("nodes")?, "nodes")?,
            uint(&field("on_target")?, "on_target")?,
            uint(&field("failures")?, "failures")?,
            started_ms,
        )
    }
}

value_class!(PyWaveView {
    #[new]
    #[pyo3(signature = (percent, nodes, on_target, failures, started_ms))]
    fn new(
        py: Python<'_>,
        percent: Uint<u64>,
        nodes: Uint<u64>,
        on_target: Uint<u64>,
        failures: Uint<u64>,
        started_ms: Option<Uint<u64>>,
    ) -> PyResult<Self> {
        PyWaveView::checked(py, percent.0, nodes.0, on_target.0, failures.0, started_ms.map(|t| t.0))
    }

    fn __repr__(&self) -> String {
        format!(
            "WaveView(percent={}, nodes={}, on_target={}, failures={}, started_ms={})",
            self.percent,
            self.nodes,
            self.on_target,
            self.failures,
            self.started_ms.map_or_else(|| "None".to_owned(), |t| t.to_string())
        )
    }
});

/// A cluster's rollout at one moment: `RolloutView` in Python.
#[pyclass(module = "fleetgov._native", name = "RolloutView", frozen, eq, get_all, skip_from_py_object)]
#[derive(Clone, PartialEq)]
pub(crate) struct PyRolloutView {
    cluster: String,
    state: &'static str,
    wave: u64,
    waves: Vec<u32>,
    bake_ms: u64,
    max_failure_pct: f64,
    auto_rollback: bool,
    target_snapshot: String,
    previous_snapshot: String,
    nodes_started: u64,
    on_target: u64,
    failures: u64,
    failure_budget: u64,
    reason: Option<String>,
    since_ms: u64,
    bake_ends_ms: Option<u64>,
    per_wave: Vec<PyWaveView>,
}

impl From<fleetgov::RolloutView> for PyRolloutView {
    fn from(r: fleetgov::RolloutView) -> Self {
        PyRolloutView {
            cluster: r.cluster,
            state: r.state.as_str(),
            wave: r.wave as u64,
            waves: r.waves.iter().map(|&w| u32::from(w)).collect(),
            bake_ms: r.bake_ms,
            max_failure_pct: r.max_failure_pct,
            auto_rollback: r.auto_rollback,
            target_snapshot: r.target_snapshot,
            previous_snapshot: r.previous_snapshot,
            nodes_started: r.nodes_started,
            on_target: r.on_target,
            failures: r.failures,
            failure_budget: r.failure_budget,
            reason: r.reason,
            since_ms: r.since_ms,
            bake_ends_ms: r.bake_ends_ms,
            per_wave: r.per_wave.iter().map(PyWaveView::from).collect(),
        }
    }
}

impl Fields for PyRolloutView {
    const NAMES: &'static [&'static str] = &[
        "cluster",
        "state",
        "wave",
        "waves",
        "bake_ms",
        "max_failure_pct",
        "auto_rollback",
        "target_snapshot",
        "previous_snapshot",
        "nodes_started",
        "on_target",
        "failures",
        "failure_budget",
        "reason",
        "since_ms",
        "bake_ends_ms",
        "per_wave",
    ];

    /// The fields, `per_wave` as a list of dicts: `to_dict()` is plain
    /// data, and the constructor takes it back.
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let waves = PyList::empty(py);
        for wave in &self.per_wave {
            let d = PyDict::new(py);
            for (name, value) in PyWaveView::NAMES.iter().zip(wave.values(py)?) {
                d.set_item(name, value)?;
            }
            waves.append(d)?;
        }
        Ok(vec![
            self.cluster.clone().into_bound_py_any(py)?,
            self.state.into_bound_py_any(py)?,
            self.wave.into_bound_py_any(py)?,
            self.waves.clone().into_bound_py_any(py)?,
            self.bake_ms.into_bound_py_any(py)?,
            self.max_failure_pct.into_bound_py_any(py)?,
            self.auto_rollback.into_bound_py_any(py)?,
            self.target_snapshot.clone().into_bound_py_any(py)?,
            self.previous_snapshot.clone().into_bound_py_any(py)?,
            self.nodes_started.into_bound_py_any(py)?,
            self.on_target.into_bound_py_any(py)?,
            self.failures.into_bound_py_any(py)?,
            self.failure_budget.into_bound_py_any(py)?,
            self.reason.clone().into_bound_py_any(py)?,
            self.since_ms.into_bound_py_any(py)?,
            self.bake_ends_ms.into_bound_py_any(py)?,
            waves.into_any(),
        ])
    }
}

value_class!(PyRolloutView {
    #[new]
    #[pyo3(signature = (
        cluster, state, wave, waves, bake_ms, max_failure_pct, auto_rollback, target_snapshot, previous_snapshot,
        nodes_started, on_target, failures, failure_budget, reason, since_ms, bake_ends_ms, per_wave,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        cluster: Text<'_>,
        state: Text<'_>,
        wave: Uint<u64>,
        waves: Vec<Uint<u32>>,
        bake_ms: Uint<u64>,
        max_failure_pct: f64,
        auto_rollback: Flag,
        target_snapshot: Text<'_>,
        previous_snapshot: Text<'_>,
        nodes_started: Uint<u64>,
        on_target: Uint<u64>,
        failures: Uint<u64>,
        failure_budget: Uint<u64>,
        reason: Option<Text<'_>>,
        since_ms: Uint<u64>,
        bake_ends_ms: Option<Uint<u64>>,
        per_wave: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let per_wave =
            per_wave.try_iter()?.map(|item| PyWaveView::from_py(&item?)).collect::<PyResult<Vec<PyWaveView>>>()?;
        Ok(PyRolloutView {
            cluster: cluster.0.to_owned(),
            state: label(py, "state", state.0, &phases())?,
            wave: wave.0,
            waves: waves.into_iter().map(|w| w.0).collect(),
            bake_ms: bake_ms.0,
            max_failure_pct,
            auto_rollback: auto_rollback.0,
            target_snapshot: target_snapshot.0.to_owned(),
            previous_snapshot: previous_snapshot.0.to_owned(),
            nodes_started: nodes_started.0,
            on_target: on_target.0,
            failures: failures.0,
            failure_budget: failure_budget.0,
            reason: owned(reason),
            since_ms: since_ms.0,
            bake_ends_ms: bake_ends_ms.map(|t| t.0),
            per_wave,
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "RolloutView(cluster={:?}, state={:?}, wave={}, waves={:?}, target_snapshot={:?}, \
             previous_snapshot={:?}, nodes_started={}, on_target={}, failures={}, failure_budget={}, reason={})",
            Q(&self.cluster),
            Q(self.state),
            self.wave,
            self.waves,
            Q(&self.target_snapshot),
            Q(&self.previous_snapshot),
            self.nodes_started,
            self.on_target,
            self.failures,
            self.failure_budget,
            py_optional(self.reason.as_deref()),
        )
    }
});
