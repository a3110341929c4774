//! Static functions of `FleetGov.java`: content hashing, checks that need
//! only a verifier key (checkpoints, attestations, audit proofs), and the
//! test-only panic path.

use fleetgov::audit::{
    Checkpoint, CheckpointVerifier, ConsistencyProof, InclusionProof, TlogProof, TreeHash, TreeHead,
};
use fleetgov::{ContentHash, verify_attestation};
use jni::JNIEnv;
use jni::objects::{JByteArray, JByteBuffer, JClass, JObjectArray, JString};
use jni::sys::{jint, jlong, jstring};

use crate::convert;
use crate::error::{Result, shim};

/// `FleetGov.contentHash(byte[])`: the blake3 hash as 64 lowercase hex chars.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetGov_contentHash0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    bytes: JByteArray<'l>,
) -> jstring {
    shim(&mut env, |env| {
        let bytes = convert::bytes(env, "bytes", &bytes)?;
        intern_hex(env, &bytes)
    })
}

/// `FleetGov.contentHash(ByteBuffer)` for a direct buffer: hashes
/// `[offset, offset + len)` in place.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetGov_contentHashDirect0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    buffer: JByteBuffer<'l>,
    offset: jint,
    len: jint,
) -> jstring {
    shim(&mut env, |env| {
        // SAFETY: the buffer is reachable through the local reference for the
        // whole call and `FleetGov.contentHash` documents that it must not be
        // written concurrently.
        let bytes = unsafe { convert::direct_slice(env, "buffer", &buffer, offset, len) }?;
        intern_hex(env, bytes)
    })
}

fn intern_hex(env: &mut JNIEnv<'_>, bytes: &[u8]) -> Result<jstring> {
    Ok(env.new_string(ContentHash::of(bytes).to_string())?.into_raw())
}

/// `FleetGov.panicForTest(String)`: panics with `message`, so tests can see
/// the panic arrive as `FleetException(Code.PANIC)`. Compiled only with the
/// `test-panic` feature.
#[cfg(feature = "test-panic")]
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetGov_panicForTest0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    message: JString<'l>,
) {
    shim(&mut env, |env| -> Result<()> {
        let message = convert::string(env, "message", &message)?;
        panic!("{message}")
    })
}

/// `FleetGov.runtimeVersionBits(String)`: the packed form of a runtime
/// version, as the binary heartbeat record carries it.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetGov_runtimeVersionBits0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    version: JString<'l>,
) -> jint {
    shim(&mut env, |env| {
        let version: fleetgov::RuntimeVersion = convert::string(env, "version", &version)?.parse()?;
        // The packed value is a bit pattern; Java holds it in an `int` as is.
        Ok(version.to_bits() as jint)
    })
}

/// `FleetGov.openCheckpoint(note, verifierKey)`: checks a signed checkpoint
/// with only the log owner's public key and returns its head.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetGov_openCheckpoint0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    note: JString<'l>,
    verifier_key: JString<'l>,
) -> jni::sys::jobject {
    shim(&mut env, |env| {
        let note = convert::string(env, "note", &note)?;
        let verifier: CheckpointVerifier = convert::string(env, "verifierKey", &verifier_key)?.parse()?;
        Ok(crate::records::audit_head(env, &Checkpoint::open(&note, &verifier)?.head())?.into_raw())
    })
}

/// `FleetGov.verifyInclusion(bundle, entry, verifierKey)`: checks a C2SP
/// `tlog-proof@v1` bundle with only the log owner's key and returns the head
/// its checkpoint signs.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetGov_verifyInclusion0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    bundle: JString<'l>,
    entry: JByteArray<'l>,
    verifier_key: JString<'l>,
) -> jni::sys::jobject {
    shim(&mut env, |env| {
        let bundle: TlogProof = convert::string(env, "bundle", &bundle)?.parse()?;
        let entry = convert::bytes(env, "entry", &entry)?;
        let verifier: CheckpointVerifier = convert::string(env, "verifierKey", &verifier_key)?.parse()?;
        let checkpoint = bundle.verify(&entry, &verifier)?;
        Ok(crate::records::audit_head(env, &checkpoint.head())?.into_raw())
    })
}

/// `InclusionProof.verify(leafHash, head)`: the proof's fields and the
/// trusted head, flat.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments, reason = "a JNI entry point takes the proof and the head flat")]
pub extern "system" fn Java_dev_fleetgov_FleetGov_verifyInclusionProof0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    leaf_index: jlong,
    tree_size: jlong,
    path: JObjectArray<'l>,
    leaf_hash: JString<'l>,
    head_size: jlong,
    head_root: JString<'l>,
) {
    shim(&mut env, |env| {
        let proof = InclusionProof {
            leaf_index: convert::unsigned("leafIndex", leaf_index)?,
            tree_size: convert::unsigned("treeSize", tree_size)?,
            path: tree_hashes(env, &path)?,
        };
        let leaf = TreeHash::from_hex(&convert::string(env, "leafHash", &leaf_hash)?)?;
        let head = tree_head(env, head_size, &head_root)?;
        Ok(proof.verify(&leaf, &head)?)
    })
}

/// `ConsistencyProof.verify(older, newer)`: the proof's fields and both
/// trusted heads, flat.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments, reason = "a JNI entry point takes the proof and the heads flat")]
pub extern "system" fn Java_dev_fleetgov_FleetGov_verifyConsistencyProof0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    old_size: jlong,
    new_size: jlong,
    path: JObjectArray<'l>,
    older_size: jlong,
    older_root: JString<'l>,
    newer_size: jlong,
    newer_root: JString<'l>,
) {
    shim(&mut env, |env| {
        let proof = ConsistencyProof {
            old_size: convert::unsigned("oldSize", old_size)?,
            new_size: convert::unsigned("newSize", new_size)?,
            path: tree_hashes(env, &path)?,
        };
        let (older, newer) = (tree_head(env, older_size, &older_root)?, tree_head(env, newer_size, &newer_root)?);
        Ok(proof.verify(&older, &newer)?)
    })
}

/// A proof's path: hex hashes.
fn tree_hashes(env: &mut JNIEnv<'_>, path: &JObjectArray<'_>) -> Result<Vec<TreeHash>> {
    let hex = convert::strings(env, "path", path)?;
    Ok(hex.iter().map(|h| TreeHash::from_hex(h)).collect::<fleetgov::Result<_>>()?)
}

/// An `AuditHead`'s fields as a tree head.
fn tree_head(env: &mut JNIEnv<'_>, size: jlong, root: &JString<'_>) -> Result<TreeHead> {
    Ok(TreeHead {
        size: convert::unsigned("size", size)?,
        root: TreeHash::from_hex(&convert::string(env, "root", root)?)?,
    })
}

/// `FleetGov.verifyAttestation(attestation, verifierKey)`: the envelope,
/// and the nodes the attestation lists as parallel arrays of ids and hashes.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetGov_verifyAttestation0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    cluster: JString<'l>,
    at_ms: jni::sys::jlong,
    nodes: JObjectArray<'l>,
    hashes: JObjectArray<'l>,
    envelope: JString<'l>,
    verifier_key: JString<'l>,
) {
    shim(&mut env, |env| {
        let n = usize::try_from(env.get_array_length(&nodes)?).unwrap_or(0);
        let mut applied = Vec::with_capacity(n);
        for i in 0..n {
            let index = i32::try_from(i).map_err(|_| crate::error::Error::Internal("too many nodes".into()))?;
            // Each node's own frame frees the references its reads make
            // (two elements, and the references reading their text makes).
            let node = env.with_local_frame(NODE_FRAME, |env| -> Result<(String, ContentHash)> {
                let node = JString::from(env.get_object_array_element(&nodes, index)?);
                let hash = JString::from(env.get_object_array_element(&hashes, index)?);
                Ok((
                    convert::string(env, "node", &node)?,
                    ContentHash::from_hex(&convert::string(env, "hash", &hash)?)?,
                ))
            })?;
            applied.push(node);
        }
        let verifier: CheckpointVerifier = convert::string(env, "verifierKey", &verifier_key)?.parse()?;
        let stated = verify_attestation(&convert::string(env, "envelope", &envelope)?, &verifier)?;
        let cluster = convert::string(env, "cluster", &cluster)?;
        Ok(stated.check(&cluster, convert::unsigned("atMs", at_ms)?, &applied)?)
    })
}

/// Local references reading one attested node makes at most.
const NODE_FRAME: i32 = 16;

/// `FleetGov.check0(rule, what, value)`: `value` checked by the engine's own
/// rule (0: an id, 1: an actor, 2: an owner team), so a Java record refuses
/// at construction what the engine would, with the engine's message.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetGov_check0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    rule: jint,
    what: JString<'l>,
    value: JString<'l>,
) {
    shim(&mut env, |env| {
        let what = convert::string(env, "what", &what)?;
        let value = convert::string(env, &what, &value)?;
        match rule {
            0 => fleetgov::validate_id(&what, &value)?,
            1 => fleetgov::validate_actor(&what, &value)?,
            2 => fleetgov::validate_owner_team(&value)?,
            other => return Err(crate::error::Error::Internal(format!("no string rule {other}"))),
        }
        Ok(())
    })
}
