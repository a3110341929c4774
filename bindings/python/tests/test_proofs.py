"""Audit proofs: inclusion and consistency proofs and tlog-proof bundles made
by an engine and checked with the verifier key alone; a changed proof, entry,
head or key fails."""

from __future__ import annotations

import copy
import hashlib
import pickle
from pathlib import Path

import pytest
from model import T0

import fleetgov
from fleetgov.types import AuditHead

def leaf(entry: bytes) -> str:
    """The RFC 6962 leaf hash, with nothing but the standard library."""
    return hashlib.sha256(b"\x00" + entry).hexdigest()


def flip(hex_hash: str) -> str:
    return f"{int(hex_hash[0], 16) ^ 1:x}" + hex_hash[1:]


def grow(e: fleetgov.Engine, n: int) -> None:
    for i in range(n):
        e.upsert_workspace(f"ws-{len(e.audit())}-{i}")


@pytest.fixture
def logged(engine: fleetgov.Engine) -> fleetgov.Engine:
    grow(engine, 7)
    return engine


def test_every_record_is_proved_included_in_a_signed_head(logged: fleetgov.Engine) -> None:
    key = logged.checkpoint_verifier_key()
    head = fleetgov.open_checkpoint(logged.checkpoint(), key)
    assert head == {"size": 7, "root": logged.verify_audit()}
    for seq in range(head["size"]):
        proof = logged.inclusion_proof(seq)
        assert (proof.leaf_index, proof.tree_size) == (seq, 7) and all(len(h) == 64 for h in proof.path)
        proof.verify(leaf(logged.audit_entry(seq)), head)
        assert logged.inclusion_proof(seq, 7) == proof
    smaller = logged.inclusion_proof(2, size=5)
    assert smaller.tree_size == 5


def test_a_changed_inclusion_proof_or_what_it_is_checked_against_fails(logged: fleetgov.Engine) -> None:
    head = fleetgov.open_checkpoint(logged.checkpoint(), logged.checkpoint_verifier_key())
    proof = logged.inclusion_proof(3)
    entry = logged.audit_entry(3)
    for i in range(len(proof.path)):
        path = list(proof.path)
        path[i] = flip(path[i])
        with pytest.raises(fleetgov.AuditTampered) as info:
            fleetgov.InclusionProof(3, 7, path).verify(leaf(entry), head)
        assert info.value.code == "AUDIT_TAMPERED" and not isinstance(info.value, ValueError)
    wrong: list[tuple[fleetgov.InclusionProof, str, AuditHead]] = [
        (fleetgov.InclusionProof(4, 7, proof.path), leaf(entry), head),  # another index
        (fleetgov.InclusionProof(3, 7, proof.path[:-1]), leaf(entry), head),  # a hash dropped
        (proof, leaf(logged.audit_entry(2)), head),  # another record
        (proof, leaf(entry), {"size": 7, "root": flip(head["root"])}),
        (proof, leaf(entry), {"size": 8, "root": head["root"]}),  # the head's size binds the proof's
    ]
    for p, leaf_hash, h in wrong:
        with pytest.raises(fleetgov.AuditTampered):
            p.verify(leaf_hash, h)


def test_consistency_between_two_signed_heads(logged: fleetgov.Engine) -> None:
    key = logged.checkpoint_verifier_key()
    old = fleetgov.open_checkpoint(logged.checkpoint(), key)
    grow(logged, 6)
    new = fleetgov.open_checkpoint(logged.checkpoint(), key)
    proof = logged.consistency_proof(old["size"])
    assert (proof.old_size, proof.new_size) == (7, 13) and proof == logged.consistency_proof(7, 13)
    proof.verify(old, new)
    with pytest.raises(fleetgov.AuditTampered):
        proof.verify(new, old)
    for i in range(len(proof.path)):
        path = list(proof.path)
        path[i] = flip(path[i])
        with pytest.raises(fleetgov.AuditTampered):
            fleetgov.ConsistencyProof(7, 13, path).verify(old, new)
    with pytest.raises(fleetgov.AuditTampered):
        proof.verify(old, {"size": 13, "root": flip(new["root"])})
    logged.consistency_proof(0).verify({"size": 0, "root": "00" * 32}, new)  # the empty log is a prefix of any


def test_tlog_proof_bundles_are_checked_offline_with_the_key_alone(logged: fleetgov.Engine) -> None:
    key = logged.checkpoint_verifier_key()
    bundle = logged.tlog_proof(4)
    assert bundle.startswith("c2sp.org/tlog-proof@v1\nindex 4\n")
    entry = logged.audit_entry(4)
    head = fleetgov.verify_inclusion(bundle, entry, key)
    assert head == {"size": 7, "root": logged.verify_audit()}
    assert fleetgov.verify_inclusion(bundle, bytearray(entry), key) == head
    with pytest.raises(fleetgov.AuditTampered):
        fleetgov.verify_inclusion(bundle, logged.audit_entry(5), key)
    with pytest.raises(fleetgov.AuditTampered):
        fleetgov.verify_inclusion(bundle.replace("index 4", "index 5"), entry, key)
    with fleetgov.Engine() as other:
        with pytest.raises(fleetgov.AuditTampered):
            fleetgov.verify_inclusion(bundle, entry, other.checkpoint_verifier_key())
    path, checkpoint = bundle.split("\n\n", 1)
    forged = path + "\n\n" + checkpoint.replace("\n7\n", "\n8\n", 1)  # the size it signs
    assert forged != bundle
    with pytest.raises(fleetgov.AuditTampered):
        fleetgov.verify_inclusion(forged, entry, key)
    with pytest.raises(fleetgov.InvalidInput, match="malformed tlog proof"):
        fleetgov.verify_inclusion("not a bundle", entry, key)
    with pytest.raises(fleetgov.InvalidInput):
        fleetgov.verify_inclusion(bundle, entry, "not a key")


def test_a_tampered_checkpoint_does_not_open(logged: fleetgov.Engine) -> None:
    key = logged.checkpoint_verifier_key()
    note = logged.checkpoint()
    lines = note.split("\n")
    lines[1] = str(int(lines[1]) + 1)  # the size it signs
    with pytest.raises(fleetgov.AuditTampered):
        fleetgov.open_checkpoint("\n".join(lines), key)
    with fleetgov.Engine() as other:
        with pytest.raises(fleetgov.AuditTampered):
            fleetgov.open_checkpoint(note, other.checkpoint_verifier_key())


def test_proofs_are_values(logged: fleetgov.Engine) -> None:
    inclusion, consistency = logged.inclusion_proof(1), logged.consistency_proof(3)
    for p in (inclusion, consistency):
        assert pickle.loads(pickle.dumps(p)) == p and copy.copy(p) is p and copy.deepcopy(p) is p
        assert type(p).__name__ in repr(p)
    assert fleetgov.InclusionProof(**inclusion.to_dict()) == inclusion
    assert fleetgov.ConsistencyProof(**consistency.to_dict()) == consistency
    assert inclusion.to_dict()["path"] == inclusion.path


def test_proof_argument_errors(logged: fleetgov.Engine) -> None:
    head = fleetgov.open_checkpoint(logged.checkpoint(), logged.checkpoint_verifier_key())
    proof = logged.inclusion_proof(0)
    with pytest.raises(fleetgov.InvalidInput, match="not in a tree of size 7"):
        logged.inclusion_proof(7)
    with pytest.raises(fleetgov.InvalidInput, match="exceeds the log's size"):
        logged.inclusion_proof(0, size=8)
    with pytest.raises(fleetgov.InvalidInput):
        logged.consistency_proof(8)
    with pytest.raises(fleetgov.InvalidInput):
        logged.consistency_proof(5, 3)
    with pytest.raises(fleetgov.NotFound):
        logged.audit_entry(7)
    with pytest.raises(fleetgov.NotFound):
        logged.tlog_proof(7)
    with pytest.raises(fleetgov.InvalidType, match="AuditHead"):
        proof.verify(proof.path[0], "head")  # type: ignore[arg-type]
    with pytest.raises(fleetgov.InvalidType, match="AuditHead"):
        proof.verify(proof.path[0], {"size": 7})  # type: ignore[typeddict-item]
    with pytest.raises(fleetgov.InvalidInput):
        proof.verify("zz", head)
    with pytest.raises(fleetgov.InvalidType, match="path"):
        fleetgov.InclusionProof(0, 7, "ab" * 32)
    with pytest.raises(fleetgov.InvalidInput):
        fleetgov.ConsistencyProof(1, 2, ["abc"])


def test_checkpoints_and_proofs_survive_a_restart(tmp_path: Path) -> None:
    with fleetgov.Engine(data_dir=tmp_path, clock_ms=T0) as e:
        grow(e, 3)
        key, before = e.checkpoint_verifier_key(), e.checkpoint()
    with fleetgov.Engine(data_dir=tmp_path, clock_ms=T0) as e:
        grow(e, 2)
        old, new = fleetgov.open_checkpoint(before, key), fleetgov.open_checkpoint(e.checkpoint(), key)
        e.consistency_proof(old["size"], new["size"]).verify(old, new)
        fleetgov.verify_inclusion(e.tlog_proof(1), e.audit_entry(1), key)
