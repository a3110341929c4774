//! `FleetEngine`'s history: what ran when (`whatRan`, `fleetAt`,
//! `history`, `attest`) from the journal of applied-state transitions, and
//! the data directory's journal (`syncJournal`, `journalFailure`,
//! `verifyJournal`).

use jni::JNIEnv;
use jni::objects::{JClass, JString};
use jni::sys::{jlong, jobject, jstring};

use super::with_engine;
use crate::{convert, records};

/// `FleetEngine.whatRan(node, tMs)`: what the node ran then, or null.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_whatRan0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    node: JString<'l>,
    t_ms: jlong,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let ran = e.what_ran(&convert::string(env, "node", &node)?, convert::unsigned("tMs", t_ms)?)?;
        Ok(match ran {
            Some(a) => records::applied_at(env, &a)?.into_raw(),
            None => std::ptr::null_mut(),
        })
    })
}

/// `FleetEngine.fleetAt(cluster, tMs)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_fleetAt0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    cluster: JString<'l>,
    t_ms: jlong,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let all = e.fleet_at(&convert::string(env, "cluster", &cluster)?, convert::unsigned("tMs", t_ms)?)?;
        Ok(records::applied_ats(env, &all)?.into_raw())
    })
}

/// `FleetEngine.attest(cluster, tMs)`: a signed attestation.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_attest0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    cluster: JString<'l>,
    t_ms: jlong,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let a = e.attest(&convert::string(env, "cluster", &cluster)?, convert::unsigned("tMs", t_ms)?)?;
        env.with_local_frame_returning_local(crate::construct::LOCAL_FRAME, |env| records::attestation(env, &a))
            .map(|o| o.into_raw())
    })
}

/// `FleetEngine.history(node, fromMs, toMs)`: the node's changes, oldest first.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_history0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    node: JString<'l>,
    from_ms: jlong,
    to_ms: jlong,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let node = convert::string(env, "node", &node)?;
        let changes = e.history(&node, convert::unsigned("fromMs", from_ms)?, convert::unsigned("toMs", to_ms)?)?;
        Ok(records::applied_changes(env, &changes)?.into_raw())
    })
}

/// `FleetEngine.historyStartMs()`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_historyStartMs0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
) -> jlong {
    with_engine(&mut env, engine, |_, e| Ok(i64::try_from(e.history_start_ms()).unwrap_or(i64::MAX)))
}

/// `FleetEngine.syncJournal()`: returns once the journal so far is on disk.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_syncJournal0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
) {
    with_engine(&mut env, engine, |_, e| Ok(e.sync_journal()?))
}

/// `FleetEngine.journalFailure()`: why the journal writer last failed, or null.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_journalFailure0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
) -> jstring {
    with_engine(&mut env, engine, |env, e| {
        Ok(match e.journal_failure() {
            Some(why) => env.new_string(why)?.into_raw(),
            None => std::ptr::null_mut(),
        })
    })
}

/// `FleetEngine.verifyJournal()`: every sealed segment against its seal.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_verifyJournal0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
) -> jobject {
    with_engine(&mut env, engine, |env, e| Ok(records::journal_verification(env, &e.verify_journal()?)?.into_raw()))
}
