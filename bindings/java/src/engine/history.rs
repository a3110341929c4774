//! `FleetEngine`'s history: what ran when (`whatRan`, `fleetAt`,
//! `history`, `attest`) from the journal of applied-state transitions, and
//! the data directory's journal (`syncJournal`, `journalFailure`,
//! `verifyJournal`).

use fleetgov::Engine;
use jni::JNIEnv;
use jni::objects::{JClass, JObject, JString};
use jni::sys::{jlong, jobject, jstring};

use super::with_engine;
use crate::{convert, records};

ask_at_native! {
    /// `FleetEngine.whatRan(node, tMs)`: what the node ran then, or null.
    Java_dev_fleetgov_FleetEngine_whatRan0("node", "tMs") -> jobject = Engine::what_ran,
        |env, ran| ran.as_ref().map_or_else(|| Ok(JObject::null()), |a| records::applied_at(env, a))
}

ask_at_native! {
    /// `FleetEngine.fleetAt(cluster, tMs)`.
    Java_dev_fleetgov_FleetEngine_fleetAt0("cluster", "tMs") -> jobject = Engine::fleet_at, |env, all| records::applied_ats(env, all)
}

ask_at_native! {
    /// `FleetEngine.attest(cluster, tMs)`: a signed attestation.
    Java_dev_fleetgov_FleetEngine_attest0("cluster", "tMs") -> jobject = Engine::attest, records::attestation
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
