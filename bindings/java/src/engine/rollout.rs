//! Native methods of `FleetEngine.java` for controlled rollouts: publish
//! with a plan, the rollout's view, the gates on a timer, and the operator
//! actions; and the plan check `RolloutPlan`'s constructor runs.

use fleetgov::rollout::RolloutPlan;
use fleetgov::{By, Engine, Override, Role};
use jni::JNIEnv;
use jni::objects::{JByteArray, JClass, JIntArray, JString};
use jni::sys::{jboolean, jdouble, jlong, jobject};

use super::with_engine;
use crate::convert;
use crate::error::{Result, require_non_null};
use crate::records;

/// The plan of `RolloutPlan(waves, bakeMs, maxFailurePct, autoRollback)`,
/// checked by the engine's rules: a wave outside a byte is `INVALID_INPUT`
/// as any other wave the engine refuses.
pub(crate) fn plan(
    env: &mut JNIEnv<'_>,
    waves: &JIntArray<'_>,
    bake_ms: jlong,
    max_failure_pct: jdouble,
    auto_rollback: jboolean,
) -> Result<RolloutPlan> {
    require_non_null("waves", waves)?;
    let len = usize::try_from(env.get_array_length(waves)?).unwrap_or(0);
    let mut ints = vec![0; len];
    env.get_int_array_region(waves, 0, &mut ints)?;
    let percents = ints
        .iter()
        .map(|&w| {
            u8::try_from(w).map_err(|_| {
                fleetgov::Error::invalid(format!("a rollout wave is a whole percentage from 1 to 100, got {w}"))
            })
        })
        .collect::<std::result::Result<Vec<u8>, _>>()?;
    let bake_ms = convert::unsigned("bakeMs", bake_ms)?;
    Ok(RolloutPlan::new(percents, bake_ms, max_failure_pct, auto_rollback != 0)?)
}

/// `FleetGov.checkPlan0(waves, bakeMs, maxFailurePct, autoRollback)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetGov_checkPlan0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    waves: JIntArray<'l>,
    bake_ms: jlong,
    max_failure_pct: jdouble,
    auto_rollback: jboolean,
) {
    crate::error::shim(&mut env, |env| plan(env, &waves, bake_ms, max_failure_pct, auto_rollback).map(drop))
}

/// `FleetEngine.publish(cluster, config, author, atMs, plan)`: published by
/// `author` as an operator, rolled out in the plan's waves.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments, reason = "a JNI entry point takes the plan flat")]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_publishRollout0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    cluster: JString<'l>,
    config: JByteArray<'l>,
    author: JString<'l>,
    at_ms: jlong,
    waves: JIntArray<'l>,
    bake_ms: jlong,
    max_failure_pct: jdouble,
    auto_rollback: jboolean,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let plan = plan(env, &waves, bake_ms, max_failure_pct, auto_rollback)?;
        let bytes = convert::bytes(env, "config", &config)?;
        let cluster = convert::string(env, "cluster", &cluster)?;
        let author = convert::string(env, "author", &author)?;
        let by = By::new(&author, Role::Operator, convert::unsigned("atMs", at_ms)?);
        let snapshot = e.publish_with_rollout(&cluster, &bytes, &by, plan)?;
        Ok(records::snapshot(env, &snapshot)?.into_raw())
    })
}

ask_at_native! {
    /// `FleetEngine.rollout(cluster, nowMs)`: null when the cluster never had one.
    Java_dev_fleetgov_FleetEngine_rollout0("cluster", "nowMs") -> jobject = Engine::rollout, records::rollout_view
}

/// `FleetEngine.advanceRollouts(nowMs)`: the steps taken.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_advanceRollouts0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    now_ms: jlong,
) -> jlong {
    with_engine(&mut env, engine, |_, e| {
        let steps = e.advance_rollouts(convert::unsigned("nowMs", now_ms)?)?;
        Ok(jlong::try_from(steps).unwrap_or(jlong::MAX))
    })
}

/// `FleetEngine.pauseRollout / resumeRollout / abortRollout /
/// promoteRollout(cluster, by)`: `action` names which. Returns the audit record.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments, reason = "a JNI entry point takes the override flat")]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_rolloutAction0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    action: JString<'l>,
    cluster: JString<'l>,
    actor: JString<'l>,
    role: JString<'l>,
    justification: JString<'l>,
    at_ms: jlong,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let act = match convert::string(env, "action", &action)?.as_str() {
            "pause" => Engine::pause_rollout,
            "resume" => Engine::resume_rollout,
            "abort" => Engine::abort_rollout,
            "promote" => Engine::promote_rollout,
            other => return Err(crate::error::Error::Internal(format!("no rollout action {other:?}"))),
        };
        let cluster = convert::string(env, "cluster", &cluster)?;
        let actor = convert::string(env, "actor", &actor)?;
        let role = Role::parse(&convert::string(env, "role", &role)?)?;
        let justification = convert::string(env, "justification", &justification)?;
        let by = Override::new(&actor, role, &justification, convert::unsigned("atMs", at_ms)?);
        let record = act(e, &cluster, &by)?;
        Ok(records::audit_record(env, &record)?.into_raw())
    })
}
