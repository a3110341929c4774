//! `FleetEngine`'s audit log: its records, its verification, signed
//! checkpoints, and the proofs a third party checks with the verifier key
//! alone (inclusion, consistency, C2SP `tlog-proof@v1` bundles).

use jni::JNIEnv;
use jni::objects::{JClass, JString};
use jni::sys::{jbyteArray, jint, jlong, jobject, jstring};

use fleetgov::audit::{AuditAction, AuditQuery};

use super::with_engine;
use crate::{convert, records};

/// A size argument: negative means the log as it is now.
fn size_or_now(e: &fleetgov::Engine, what: &str, size: jlong) -> crate::error::Result<u64> {
    if size < 0 { Ok(e.audit_len()) } else { convert::unsigned(what, size) }
}

/// `FleetEngine.audit()` and `FleetEngine.auditPage(from, limit)`: audit
/// records oldest first; `limit < 0` means all from `from`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_audit0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    from: jlong,
    limit: jint,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let from = convert::unsigned("from", from)?;
        let records = match usize::try_from(limit) {
            Ok(limit) => e.audit_page(from, limit),
            Err(_) if from == 0 => e.audit(),
            Err(_) => e.audit_page(from, usize::MAX),
        };
        Ok(crate::construct::list(env, records.iter(), |env, r| records::audit_record(env, r))?.into_raw())
    })
}

/// `FleetEngine.auditQuery(query)`: one page of the audit log, newest
/// first, as `new AuditQueryPage(records, nextBefore)`. Negative `before`,
/// `from_ms` and `to_ms` mean none; `actions` is comma-separated names.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_auditQuery0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    before: jlong,
    limit: jint,
    actions: JString<'l>,
    target: JString<'l>,
    cluster: JString<'l>,
    node: JString<'l>,
    actor: JString<'l>,
    from_ms: jlong,
    to_ms: jlong,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let optional = |v: jlong| u64::try_from(v).ok();
        let actions = convert::optional_string(env, "actions", &actions)?.unwrap_or_default();
        let query = AuditQuery {
            before: optional(before),
            limit: usize::try_from(limit).unwrap_or(0),
            actions: actions.split(',').filter(|a| !a.is_empty()).map(AuditAction::parse).collect::<Result<_, _>>()?,
            target: convert::optional_string(env, "target", &target)?,
            cluster: convert::optional_string(env, "cluster", &cluster)?,
            node: convert::optional_string(env, "node", &node)?,
            actor: convert::optional_string(env, "actor", &actor)?,
            from_ms: optional(from_ms),
            to_ms: optional(to_ms),
        };
        let page = e.audit_query(&query)?;
        let records = crate::construct::list(env, page.records.iter(), |env, r| records::audit_record(env, r))?;
        Ok(crate::construct::New::args()
            .object("Ljava/util/List;", records)
            .optional_long(env, page.next_before)?
            .build(env, "dev/fleetgov/AuditQueryPage")?
            .into_raw())
    })
}

/// `FleetEngine.auditRecord(seq)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_auditRecord0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    seq: jlong,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let record = e.audit_record(convert::unsigned("seq", seq)?)?;
        Ok(records::audit_record(env, &record)?.into_raw())
    })
}

/// `FleetEngine.verifyAudit()`: re-verifies the hash chain and the Merkle
/// tree; `AUDIT_TAMPERED` names the first bad record.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_verifyAudit0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
) -> jobject {
    with_engine(&mut env, engine, |env, e| Ok(records::audit_head(env, &e.verify_audit()?)?.into_raw()))
}

/// `FleetEngine.checkpoint()`: the audit log's head as a signed note.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_checkpoint0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
) -> jstring {
    with_engine(&mut env, engine, |env, e| Ok(env.new_string(e.checkpoint()?)?.into_raw()))
}

/// `FleetEngine.checkpointVerifierKey()`: the public key that checks this
/// engine's checkpoints, in the signed-note verifier-key text form.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_checkpointVerifierKey0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
) -> jstring {
    with_engine(&mut env, engine, |env, e| Ok(env.new_string(e.checkpoint_verifier()?.to_string())?.into_raw()))
}

/// `FleetEngine.inclusionProof(seq[, size])`: `size < 0` is the log now.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_inclusionProof0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    seq: jlong,
    size: jlong,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let proof = e.inclusion_proof(convert::unsigned("seq", seq)?, size_or_now(e, "size", size)?)?;
        Ok(records::inclusion_proof(env, &proof)?.into_raw())
    })
}

/// `FleetEngine.consistencyProof(oldSize[, newSize])`: `new_size < 0` is the log now.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_consistencyProof0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    old_size: jlong,
    new_size: jlong,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let old_size = convert::unsigned("oldSize", old_size)?;
        let proof = e.consistency_proof(old_size, size_or_now(e, "newSize", new_size)?)?;
        Ok(records::consistency_proof(env, &proof)?.into_raw())
    })
}

/// `FleetEngine.tlogProof(seq)`: the bundle's text.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_tlogProof0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    seq: jlong,
) -> jstring {
    with_engine(&mut env, engine, |env, e| {
        let bundle = e.tlog_proof(convert::unsigned("seq", seq)?)?;
        Ok(env.new_string(bundle.to_string())?.into_raw())
    })
}

/// `FleetEngine.auditEntry(seq)`: the record's canonical entry bytes.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_auditEntry0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    seq: jlong,
) -> jbyteArray {
    with_engine(&mut env, engine, |env, e| {
        let entry = e.audit_record(convert::unsigned("seq", seq)?)?.encode();
        Ok(env.byte_array_from_slice(&entry)?.into_raw())
    })
}
