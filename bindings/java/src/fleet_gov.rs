//! Static functions of `FleetGov.java`: content hashing, the native version,
//! and the test-only panic path.

use fleetgov::audit::{Checkpoint, CheckpointVerifier};
use fleetgov::{ContentHash, verify_attestation};
use jni::JNIEnv;
use jni::objects::{JByteArray, JByteBuffer, JClass, JObjectArray, JString};
use jni::sys::{jint, jstring};

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

/// `FleetGov.nativeVersion()`: the version of the native library.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetGov_nativeVersion0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
) -> jstring {
    shim(&mut env, |env| Ok(env.new_string(env!("CARGO_PKG_VERSION"))?.into_raw()))
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
