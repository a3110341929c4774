//! Audit proofs for Python: `InclusionProof` and `ConsistencyProof`, frozen
//! values over the core's proofs that check themselves against trusted heads
//! (`verify`), and the functions that need no engine: `open_checkpoint` (a
//! signed checkpoint to its head) and `verify_inclusion` (a C2SP
//! `tlog-proof@v1` bundle). A head crosses as a dict (`fleetgov.types.AuditHead`:
//! `size`, `root` in hex); hashes cross as 64 hex characters.

use fleetgov::audit::{
    Checkpoint, CheckpointVerifier, ConsistencyProof, InclusionProof, TlogProof, TreeHash, TreeHead,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

use crate::args::{Bytes, Text, Uint, describe, text, uint};
use crate::{boundary, error};

/// A trusted tree head from Python: a mapping with `size` and `root`.
pub(crate) struct Head(TreeHead);

impl FromPyObject<'_, '_> for Head {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        let field = |name: &str| {
            obj.get_item(name).map_err(|_| {
                let shown = describe(&obj);
                error::wrong_type(py, format!("a head must be a dict with size and root (an AuditHead), got {shown}"))
            })
        };
        let size = uint::<u64>(&field("size")?, "a head's size")?;
        let root = field("root")?;
        let root = parse(py, text(root.as_borrowed(), "a head's root (hex)")?.0)?;
        Ok(Head(TreeHead { size, root }))
    }
}

/// `hex` as a tree hash, or `InvalidInput`.
fn parse(py: Python<'_>, hex: &str) -> PyResult<TreeHash> {
    TreeHash::from_hex(hex).map_err(|e| error::to_py(py, e))
}

/// The hashes of a proof's path: an iterable of hex str (not one str).
fn path(obj: &Bound<'_, PyAny>) -> PyResult<Vec<TreeHash>> {
    let py = obj.py();
    let wrong = || error::wrong_type(py, format!("path must be a list of hex str, got {}", describe(obj)));
    if obj.is_instance_of::<PyString>() {
        return Err(wrong());
    }
    obj.try_iter()
        .map_err(|_| wrong())?
        .map(|item| parse(py, text(item?.as_borrowed(), "a hash of the path (hex str)")?.0))
        .collect()
}

fn hex(path: &[TreeHash]) -> Vec<String> {
    path.iter().map(TreeHash::to_string).collect()
}

/// `(type(slf), args)`: what `pickle` needs to rebuild `slf` with its constructor.
fn reduce<'py>(slf: &Bound<'py, PyAny>, args: Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTuple>> {
    let cls: Bound<'py, PyType> = slf.get_type();
    PyTuple::new(slf.py(), [cls.into_any(), args.into_any()])
}

/// Proof that an audit record is leaf `leaf_index` of the audit tree of
/// `tree_size` records: `InclusionProof` in Python.
#[pyclass(module = "fleetgov._native", name = "InclusionProof", frozen, eq, skip_from_py_object)]
#[derive(PartialEq)]
pub(crate) struct PyInclusionProof(InclusionProof);

impl From<InclusionProof> for PyInclusionProof {
    fn from(p: InclusionProof) -> Self {
        PyInclusionProof(p)
    }
}

#[pymethods]
impl PyInclusionProof {
    /// A proof as received from elsewhere: the leaf's index, the tree's
    /// size and the audit path (hex hashes, leaf level first).
    #[new]
    #[pyo3(signature = (leaf_index, tree_size, path))]
    fn new(leaf_index: Uint<u64>, tree_size: Uint<u64>, path: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyInclusionProof(InclusionProof {
            leaf_index: leaf_index.0,
            tree_size: tree_size.0,
            path: self::path(path)?,
        }))
    }

    /// The leaf's position (the record's sequence number).
    #[getter]
    fn leaf_index(&self) -> u64 {
        self.0.leaf_index
    }

    /// The size of the tree the proof is for.
    #[getter]
    fn tree_size(&self) -> u64 {
        self.0.tree_size
    }

    /// The audit path, leaf level first, as hex.
    #[getter]
    fn path(&self) -> Vec<String> {
        hex(&self.0.path)
    }

    /// Checks that `leaf_hash` (hex of `SHA-256(0x00 || entry)`) is leaf
    /// `leaf_index` of the tree whose trusted head is `head` (from
    /// `open_checkpoint`); the head's size must be the proof's. Raises
    /// `AuditTampered` if it is not.
    #[pyo3(signature = (leaf_hash, head, /))]
    fn verify(&self, py: Python<'_>, leaf_hash: Text<'_>, head: Head) -> PyResult<()> {
        let leaf = parse(py, leaf_hash.0)?;
        boundary::run_attached(py, || self.0.verify(&leaf, &head.0))
    }

    /// The fields as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("leaf_index", self.0.leaf_index)?;
        d.set_item("tree_size", self.0.tree_size)?;
        d.set_item("path", self.path())?;
        Ok(d)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let p = &slf.get().0;
        reduce(slf.as_any(), (p.leaf_index, p.tree_size, hex(&p.path)).into_pyobject(slf.py())?)
    }

    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
        slf
    }

    fn __repr__(&self) -> String {
        format!(
            "InclusionProof(leaf_index={}, tree_size={}, path={:?})",
            self.0.leaf_index,
            self.0.tree_size,
            self.path()
        )
    }
}

/// Proof that the audit tree of `old_size` records is a prefix of the tree
/// of `new_size` records: `ConsistencyProof` in Python.
#[pyclass(module = "fleetgov._native", name = "ConsistencyProof", frozen, eq, skip_from_py_object)]
#[derive(PartialEq)]
pub(crate) struct PyConsistencyProof(ConsistencyProof);

impl From<ConsistencyProof> for PyConsistencyProof {
    fn from(p: ConsistencyProof) -> Self {
        PyConsistencyProof(p)
    }
}

#[pymethods]
impl PyConsistencyProof {
    /// A proof as received from elsewhere: the two sizes and the proof's
    /// hashes (hex).
    #[new]
    #[pyo3(signature = (old_size, new_size, path))]
    fn new(old_size: Uint<u64>, new_size: Uint<u64>, path: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyConsistencyProof(ConsistencyProof { old_size: old_size.0, new_size: new_size.0, path: self::path(path)? }))
    }

    /// The size of the older tree.
    #[getter]
    fn old_size(&self) -> u64 {
        self.0.old_size
    }

    /// The size of the newer tree.
    #[getter]
    fn new_size(&self) -> u64 {
        self.0.new_size
    }

    /// The proof's node hashes, as hex.
    #[getter]
    fn path(&self) -> Vec<String> {
        hex(&self.0.path)
    }

    /// Checks that the tree with trusted head `old` is a prefix of the one
    /// with trusted head `new` (both from `open_checkpoint`); their sizes
    /// must be the proof's. Raises `AuditTampered` if it is not: the log was
    /// rewritten, not only appended to.
    #[pyo3(signature = (old, new, /))]
    fn verify(&self, py: Python<'_>, old: Head, new: Head) -> PyResult<()> {
        boundary::run_attached(py, || self.0.verify(&old.0, &new.0))
    }

    /// The fields as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("old_size", self.0.old_size)?;
        d.set_item("new_size", self.0.new_size)?;
        d.set_item("path", self.path())?;
        Ok(d)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let p = &slf.get().0;
        reduce(slf.as_any(), (p.old_size, p.new_size, hex(&p.path)).into_pyobject(slf.py())?)
    }

    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
        slf
    }

    fn __repr__(&self) -> String {
        format!("ConsistencyProof(old_size={}, new_size={}, path={:?})", self.0.old_size, self.0.new_size, self.path())
    }
}

/// `head` as a dict: `size`, `root` (hex).
fn head_dict<'py>(py: Python<'py>, head: &TreeHead) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("size", head.size)?;
    d.set_item("root", head.root.to_string())?;
    Ok(d)
}

/// Checks a signed checkpoint (`Engine.checkpoint()`) with the log owner's
/// verifier key alone (`Engine.checkpoint_verifier_key()`) and returns the
/// head it signs (`fleetgov.types.AuditHead`): a trusted head for the
/// proofs' `verify`. A bad signature, or an origin that is not the key's
/// name, is `AuditTampered`; a malformed note or key `InvalidInput`.
#[pyfunction]
#[pyo3(signature = (note, verifier_key, /))]
pub(crate) fn open_checkpoint<'py>(
    py: Python<'py>,
    note: Text<'_>,
    verifier_key: Text<'_>,
) -> PyResult<Bound<'py, PyDict>> {
    let head = boundary::run(py, || {
        let verifier: CheckpointVerifier = verifier_key.0.parse()?;
        Checkpoint::open(note.0, &verifier).map(|c| c.head())
    })?;
    head_dict(py, &head)
}

/// Checks a C2SP `tlog-proof@v1` bundle (`Engine.tlog_proof(seq)`) offline:
/// the signature of the checkpoint it carries, with the verifier key alone,
/// then that `entry` (`Engine.audit_entry(seq)`) is the leaf it names in the
/// tree that checkpoint signs. Returns the signed head
/// (`fleetgov.types.AuditHead`). A bad signature or path is
/// `AuditTampered`; a malformed bundle, checkpoint or key `InvalidInput`.
#[pyfunction]
#[pyo3(signature = (bundle, entry, verifier_key, /))]
pub(crate) fn verify_inclusion<'py>(
    py: Python<'py>,
    bundle: Text<'_>,
    entry: Bytes,
    verifier_key: Text<'_>,
) -> PyResult<Bound<'py, PyDict>> {
    let head = boundary::run(py, || {
        let verifier: CheckpointVerifier = verifier_key.0.parse()?;
        let bundle: TlogProof = bundle.0.parse()?;
        bundle.verify(&entry.0, &verifier).map(|c| c.head())
    })?;
    head_dict(py, &head)
}
