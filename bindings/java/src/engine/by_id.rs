//! `FleetEngine.heartbeatBatch(HeartbeatBatchById)`: binary heartbeat
//! records named by node id, with their ids in one id buffer (Arrow string
//! column layout: little-endian `i32` offsets and the UTF-8 bytes they index),
//! in one JNI crossing for the whole batch.

use fleetgov::IdColumn;
use jni::JNIEnv;
use jni::objects::{JByteBuffer, JClass};
use jni::sys::{jint, jlong, jobject};

use super::with_engine;
use crate::error::Error;
use crate::{convert, records};

/// `heartbeatBatchById0(engine, records, rLen, outcomes, oLen, offsets,
/// offsetsLen, ids, idsLen)`: every buffer is read from (written at) its
/// start; the lengths are in bytes.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments, reason = "a JNI entry point takes each buffer and its length flat")]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_heartbeatBatchById0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    records: JByteBuffer<'l>,
    r_len: jint,
    outcomes: JByteBuffer<'l>,
    o_len: jint,
    offsets: JByteBuffer<'l>,
    offsets_len: jint,
    ids: JByteBuffer<'l>,
    ids_len: jint,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        // SAFETY: every buffer is reachable through its local reference for
        // the call; `FleetEngine.heartbeatBatch` documents that no thread may
        // touch the batch meanwhile, and `disjoint` below rules out overlap
        // between each shared input and the exclusive output.
        let (input, offsets, ids, output) = unsafe {
            let input = convert::direct_slice(env, "records", &records, 0, r_len)?;
            let offsets = convert::direct_slice(env, "id offsets", &offsets, 0, offsets_len)?;
            let ids = convert::direct_slice(env, "ids", &ids, 0, ids_len)?;
            let output = convert::direct_slice_mut(env, "outcomes", &outcomes, 0, o_len)?;
            (input, offsets, ids, output)
        };
        for (name, shared) in [("records", input), ("id offsets", offsets), ("ids", ids)] {
            convert::disjoint(name, shared, "outcomes", output)?;
        }
        if !offsets.len().is_multiple_of(4) {
            return Err(Error::IllegalArgument(format!("id offsets: {} bytes is not whole i32s", offsets.len())));
        }
        // Copied out (4 bytes a record): a direct buffer need not be aligned for `i32`.
        let offsets: Vec<i32> = offsets.chunks_exact(4).map(|o| i32::from_le_bytes([o[0], o[1], o[2], o[3]])).collect();
        let column = IdColumn::new(&offsets, ids)?;
        let summary = e.ingest_batch_by_id(column, input, output)?;
        Ok(records::batch_summary(env, &summary)?.into_raw())
    })
}
