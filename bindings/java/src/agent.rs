//! Native methods of `ConfigAgent.java`: the agent a JVM gateway embeds to
//! hot-swap verified configuration and report what it really applied.
//!
//! # The validator
//!
//! The core agent takes one [`Reloader`] for its lifetime; the Java API takes
//! a `Validator` per `apply`. The bridge is [`JavaValidator`], the reloader of
//! every agent made here: for the duration of an `apply` or `rollback` shim,
//! the calling thread pushes its `JNIEnv` and the validator onto [`HOOKS`];
//! the agent runs its reloader synchronously on that same thread, and
//! `JavaValidator` calls the Java validator found on top of the stack. A Java
//! exception from the validator becomes the reload failure (a
//! `ConfigRejectedException` keeps its code and detail) and then the cause of
//! the `FleetException` the Java caller sees. A Java `Error` or a misuse of
//! the binding (`MisuseException`) is a programming error, not a refusal: the
//! validator unwinds with [`Rethrow`], so the core agent records nothing, and
//! the shim throws that very exception to the caller.

use std::cell::RefCell;
use std::sync::Arc;

use fleetgov::agent::{Agent, AppliedConfig, OwnedHeartbeat, PullRequest, Reloader};
use fleetgov::record::{OUTCOME_SIZE, OutcomeRecord, RECORD_SIZE};
use fleetgov::{
    ContentHash, Directive, DirectiveKind, Metrics, NodeHandle, ProcessStatus, RuntimeVersion, Snapshot, SyncError,
    SyncErrorCode,
};
use jni::JNIEnv;
use jni::objects::{GlobalRef, JByteArray, JByteBuffer, JClass, JObject, JString, JThrowable, JValue};
use jni::sys::{jboolean, jfloat, jint, jlong, jobject};

use crate::construct::New;
use crate::convert;
use crate::error::{Error, Fallback, Result, Rethrow, shim};
use crate::handle;
use crate::records;

/// Runs a `ConfigAgent` native method on the agent behind `agent`.
fn with_agent<'l, R: Fallback>(
    env: &mut JNIEnv<'l>,
    agent: jlong,
    body: impl FnOnce(&mut JNIEnv<'l>, &Agent) -> Result<R>,
) -> R {
    // SAFETY: only `ConfigAgent`'s native methods call this, with the handle
    // `ConfigAgent` holds: an `Agent` from `new0`, alive for the call (the
    // object's read lock is held around every native call; see handle.rs).
    unsafe { handle::with(env, agent, body) }
}

/// One `apply` or `rollback` in progress on this thread.
struct Hook {
    /// The calling thread's JNI environment, valid for the whole native call.
    env: *mut jni::sys::JNIEnv,
    /// A local reference to the Java validator (the native call's argument).
    validator: jni::sys::jobject,
    /// The exception the validator threw, if it refused.
    thrown: Option<GlobalRef>,
}

thread_local! {
    /// The hooks of the native calls in progress on this thread, innermost
    /// last (a validator may apply to *another* agent).
    static HOOKS: RefCell<Vec<Hook>> = const { RefCell::new(Vec::new()) };
}

/// Pushes a hook for the current native call and pops it when dropped, also
/// when a panic unwinds to the shim.
struct HookGuard;

impl HookGuard {
    fn push(env: &JNIEnv<'_>, validator: &JObject<'_>) -> HookGuard {
        HOOKS.with(|h| h.borrow_mut().push(Hook { env: env.get_raw(), validator: validator.as_raw(), thrown: None }));
        HookGuard
    }

    /// The exception the validator threw during this call, if any.
    fn take_thrown(&self) -> Option<GlobalRef> {
        HOOKS.with(|h| h.borrow_mut().last_mut().and_then(|hook| hook.thrown.take()))
    }
}

impl Drop for HookGuard {
    fn drop(&mut self) {
        HOOKS.with(|h| h.borrow_mut().pop());
    }
}

/// The reloader of every agent made by this binding: calls the Java
/// validator of the innermost hook on the calling thread.
struct JavaValidator;

impl Reloader for JavaValidator {
    fn reload(&self, candidate: &AppliedConfig) -> std::result::Result<(), SyncError> {
        // Copy out of the RefCell before calling Java: the validator may run
        // another agent's apply on this thread, which pushes a hook.
        let Some((env, validator)) = HOOKS.with(|h| h.borrow().last().map(|hook| (hook.env, hook.validator))) else {
            return Err(SyncError::new(SyncErrorCode::ReloadFailure, "no validator on the applying thread"));
        };
        // SAFETY: `env` is this thread's JNIEnv, taken by the shim that is
        // still running below us on the stack (the agent calls its reloader
        // synchronously), so it is valid here.
        let mut env = match unsafe { JNIEnv::from_raw(env) } {
            Ok(env) => env,
            Err(e) => return Err(SyncError::new(SyncErrorCode::ReloadFailure, format!("no JNI environment: {e}"))),
        };
        // SAFETY: `validator` is a local reference owned by the same native
        // call, alive until it returns; the wrapper does not delete it.
        let validator = unsafe { JObject::from_raw(validator) };
        let outcome = env.with_local_frame(crate::construct::LOCAL_FRAME, |env| -> Result<Option<Thrown>> {
            let candidate = applied_config(env, candidate)?;
            let called = env.call_method(
                &validator,
                "validate",
                "(Ldev/fleetgov/AppliedConfig;)V",
                &[JValue::Object(&candidate)],
            );
            match called {
                Ok(_) => Ok(None),
                Err(jni::errors::Error::JavaException) => refusal(env).map(Some),
                Err(e) => Err(e.into()),
            }
        });
        match outcome {
            Ok(None) => Ok(()),
            Ok(Some(Thrown::Refusal(error))) => Err(error),
            // Outside the local frame, which must not be left by unwinding.
            Ok(Some(Thrown::Bug(exception))) => std::panic::resume_unwind(Box::new(Rethrow(exception))),
            Err(e) => {
                // Nothing may stay pending: the shim still has to make its own exception.
                if env.exception_check().unwrap_or(true) {
                    let _ = env.exception_clear();
                }
                Err(SyncError::new(SyncErrorCode::ReloadFailure, format!("calling the validator failed: {e}")))
            }
        }
    }
}

/// What a validator's exception means.
enum Thrown {
    /// A refusal: the node's sync error, reported to the fleet.
    Refusal(SyncError),
    /// A programming error (a Java `Error`, a misuse of the binding):
    /// rethrown to the caller as it is, never reported.
    Bug(GlobalRef),
}

/// Takes the validator's pending exception. A refusal is kept for the
/// caller's exception cause and turned into the node's sync error.
fn refusal(env: &mut JNIEnv<'_>) -> Result<Thrown> {
    let thrown: JThrowable<'_> = env.exception_occurred()?;
    env.exception_clear()?;
    let global = env.new_global_ref(&thrown)?;
    if env.is_instance_of(&thrown, "java/lang/Error")? || env.is_instance_of(&thrown, "dev/fleetgov/MisuseException")? {
        return Ok(Thrown::Bug(global));
    }
    HOOKS.with(|h| {
        if let Some(hook) = h.borrow_mut().last_mut() {
            hook.thrown = Some(global);
        }
    });
    if env.is_instance_of(&thrown, "dev/fleetgov/ConfigRejectedException")? {
        let error = env.call_method(&thrown, "syncError", "()Ldev/fleetgov/SyncError;", &[])?.l()?;
        let text = env.call_method(&error, "toString", "()Ljava/lang/String;", &[])?.l()?;
        let parsed = convert::sync_error(env, &JString::from(text))?;
        return parsed.map(Thrown::Refusal).ok_or_else(|| Error::Internal("SyncError.toString() returned null".into()));
    }
    let text = env.call_method(&thrown, "toString", "()Ljava/lang/String;", &[])?.l()?;
    let text = convert::string(env, "exception text", &JString::from(text))?;
    Ok(Thrown::Refusal(SyncError::new(SyncErrorCode::ReloadFailure, format!("validator threw {text}"))))
}

/// `new AppliedConfig(snapshotId, revision, hash, bytes, appliedAtMs)`; the bytes are copied.
fn applied_config<'l>(env: &mut JNIEnv<'l>, c: &AppliedConfig) -> Result<JObject<'l>> {
    let bytes = env.byte_array_from_slice(c.bytes())?;
    New::args()
        .str(env, c.snapshot_id())?
        .int(c.revision().map_or(0, |r| i32::try_from(r).unwrap_or(i32::MAX)))
        .str(env, &c.hash().to_string())?
        .object("[B", bytes.into())
        .long(c.applied_at_ms())
        .build(env, "dev/fleetgov/AppliedConfig")
}

/// An applied config or null.
fn opt_applied_config<'l>(env: &mut JNIEnv<'l>, c: Option<&AppliedConfig>) -> Result<jobject> {
    Ok(match c {
        Some(c) => applied_config(env, c)?.into_raw(),
        None => std::ptr::null_mut(),
    })
}

/// Runs an apply or rollback with `validator` on the hook stack; a refusal
/// carries the validator's exception as the cause.
fn with_validator<T>(
    env: &mut JNIEnv<'_>,
    validator: &JObject<'_>,
    run: impl FnOnce() -> fleetgov::Result<T>,
) -> Result<T> {
    crate::error::require_non_null("validator", validator)?;
    let guard = HookGuard::push(env, validator);
    run().map_err(|e| match guard.take_thrown() {
        Some(cause) => Error::Caused(Box::new(e.into()), cause),
        None => e.into(),
    })
}

/// `new ConfigAgent(runtimeVersion)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_ConfigAgent_new0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    runtime_version: JString<'l>,
) -> jlong {
    shim(&mut env, |env| {
        let version: RuntimeVersion = convert::string(env, "runtimeVersion", &runtime_version)?.parse()?;
        Ok(handle::into_handle(Agent::new(version, JavaValidator)))
    })
}

/// `ConfigAgent.close()`: frees the agent.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_ConfigAgent_dispose0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    agent: jlong,
) {
    shim(&mut env, |_| {
        // SAFETY: `NativeHandle.close()` calls this once, under its write
        // lock, after zeroing its field: no call borrows the agent any more.
        unsafe { handle::free::<Agent>(agent) };
        Ok(())
    })
}

/// `ConfigAgent.apply(...)`: `config` (a `byte[]`) or `direct[offset..offset + len)`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments, reason = "a JNI entry point takes the two config forms flat")]
pub extern "system" fn Java_dev_fleetgov_ConfigAgent_apply0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    agent: jlong,
    snapshot_id: JString<'l>,
    config: JByteArray<'l>,
    direct: JByteBuffer<'l>,
    offset: jint,
    len: jint,
    expected_hash: JString<'l>,
    at_ms: jlong,
    validator: JObject<'l>,
) -> jobject {
    with_agent(&mut env, agent, |env, a| {
        let snapshot_id = convert::string(env, "snapshotId", &snapshot_id)?;
        let expected = ContentHash::from_hex(convert::Ascii::new().read(env, "expectedHash", &expected_hash)?)?;
        let bytes: Arc<[u8]> = if config.is_null() {
            // SAFETY: the local reference keeps the buffer alive for the call;
            // `ConfigAgent.apply` documents that it must not be written meanwhile.
            unsafe { convert::direct_slice(env, "config", &direct, offset, len) }?.into()
        } else {
            convert::bytes(env, "config", &config)?.into()
        };
        let at_ms = convert::unsigned("atMs", at_ms)?;
        let applied = with_validator(env, &validator, || a.apply(&snapshot_id, Arc::clone(&bytes), expected, at_ms))
            .map_err(|e| hash_mismatch(e, &bytes, expected))?;
        Ok(applied_config(env, &applied)?.into_raw())
    })
}

/// The agent checks the bytes' hash before anything else and reports a
/// mismatch as `InvalidInput`; Java gives it its own code. Hashing again on
/// that error path tells it from the other invalid inputs without reading
/// the message.
fn hash_mismatch(e: Error, bytes: &[u8], expected: ContentHash) -> Error {
    match e {
        Error::Core(core) if core.kind() == fleetgov::ErrorKind::InvalidInput && ContentHash::of(bytes) != expected => {
            Error::HashMismatch(core.message().to_owned())
        }
        other => other,
    }
}

/// `ConfigAgent.rollback(atMs, validator)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_ConfigAgent_rollback0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    agent: jlong,
    at_ms: jlong,
    validator: JObject<'l>,
) -> jobject {
    with_agent(&mut env, agent, |env, a| {
        let at_ms = convert::unsigned("atMs", at_ms)?;
        let applied = with_validator(env, &validator, || a.rollback(at_ms))?;
        Ok(applied_config(env, &applied)?.into_raw())
    })
}

/// `ConfigAgent.recordSyncError(SyncError)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_ConfigAgent_recordSyncError0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    agent: jlong,
    error: JString<'l>,
) {
    with_agent(&mut env, agent, |env, a| {
        let error =
            convert::sync_error(env, &error)?.ok_or_else(|| Error::IllegalArgument("error must not be null".into()))?;
        a.record_sync_error(error);
        Ok(())
    })
}

/// `ConfigAgent.current()` and `ConfigAgent.lastKnownGood()`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_ConfigAgent_current0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    agent: jlong,
    last_known_good: jboolean,
) -> jobject {
    with_agent(&mut env, agent, |env, a| {
        let config = if last_known_good != 0 { a.last_known_good() } else { a.current() };
        opt_applied_config(env, config.as_deref())
    })
}

/// `ConfigAgent.lastSyncError()`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_ConfigAgent_lastSyncError0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    agent: jlong,
) -> jobject {
    with_agent(&mut env, agent, |env, a| {
        Ok(match a.last_sync_error() {
            Some(e) => records::sync_error(env, &e)?.into_raw(),
            None => std::ptr::null_mut(),
        })
    })
}

/// `ConfigAgent.hotSwapErrors()`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_ConfigAgent_hotSwapErrors0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    agent: jlong,
) -> jint {
    with_agent(&mut env, agent, |_, a| Ok(i32::try_from(a.hot_swap_errors()).unwrap_or(i32::MAX)))
}

/// The agent's heartbeat from the Java arguments.
fn owned_heartbeat(
    a: &Agent,
    at_ms: jlong,
    (cpu, memory, tps, heap): (jfloat, jfloat, jfloat, jfloat),
    status: jint,
) -> Result<OwnedHeartbeat> {
    let status = u8::try_from(status)
        .ok()
        .and_then(ProcessStatus::from_u8)
        .ok_or_else(|| Error::IllegalArgument(format!("no process status {status}")))?;
    let metrics = Metrics { cpu, memory, tps, heap, hot_swap_errors: 0 };
    Ok(a.heartbeat(convert::unsigned("atMs", at_ms)?, metrics, status)?)
}

/// `ConfigAgent.heartbeat(atMs, metrics, status)`: a Java `Heartbeat`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments, reason = "a JNI entry point takes the metrics flat")]
pub extern "system" fn Java_dev_fleetgov_ConfigAgent_heartbeat0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    agent: jlong,
    at_ms: jlong,
    cpu: jfloat,
    memory: jfloat,
    tps: jfloat,
    heap: jfloat,
    status: jint,
) -> jobject {
    with_agent(&mut env, agent, |env, a| {
        let hb = owned_heartbeat(a, at_ms, (cpu, memory, tps, heap), status)?;
        env.with_local_frame_returning_local(crate::construct::LOCAL_FRAME, |env| heartbeat(env, &hb))
            .map(|o| o.into_raw())
    })
}

/// `ConfigAgent.heartbeatInto(batch, node, cluster, ...)`: writes the binary
/// record into `records[offset..offset + 128)`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments, reason = "a JNI entry point takes the metrics flat")]
pub extern "system" fn Java_dev_fleetgov_ConfigAgent_heartbeatRecord0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    agent: jlong,
    records: JByteBuffer<'l>,
    offset: jint,
    node: jlong,
    cluster: JString<'l>,
    at_ms: jlong,
    cpu: jfloat,
    memory: jfloat,
    tps: jfloat,
    heap: jfloat,
    status: jint,
) {
    with_agent(&mut env, agent, |env, a| {
        let cluster = convert::string(env, "cluster", &cluster)?;
        let hb = owned_heartbeat(a, at_ms, (cpu, memory, tps, heap), status)?;
        let record = hb.to_record(NodeHandle::from_raw(node as u64), &cluster);
        let len = i32::try_from(RECORD_SIZE).map_err(|_| Error::Internal("record size".into()))?;
        // SAFETY: the local reference keeps the batch buffer alive for the
        // call; `HeartbeatBatch` is documented as not thread-safe, so no other
        // thread touches this record's slot, which `reserve` handed to us.
        let out = unsafe { convert::direct_slice_mut(env, "records", &records, offset, len) }?;
        out.copy_from_slice(zerocopy::IntoBytes::as_bytes(&record));
        Ok(())
    })
}

/// `ConfigAgent.onDirective(Directive)`: what to pull, or null.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments, reason = "a JNI entry point takes the directive's snapshot flat")]
pub extern "system" fn Java_dev_fleetgov_ConfigAgent_onDirective0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    agent: jlong,
    kind: JString<'l>,
    id: JString<'l>,
    cluster: JString<'l>,
    revision: jint,
    hash: JString<'l>,
    author: JString<'l>,
    published_at_ms: jlong,
    size_bytes: jlong,
) -> jobject {
    with_agent(&mut env, agent, |env, a| {
        let kind = match convert::string(env, "kind", &kind)?.as_str() {
            "RECONCILE" => DirectiveKind::Reconcile,
            "FORCE_SYNC" => DirectiveKind::ForceSync,
            other => return Err(Error::IllegalArgument(format!("no directive kind {other}"))),
        };
        let snapshot = Snapshot {
            id: convert::string(env, "id", &id)?,
            cluster: convert::string(env, "cluster", &cluster)?,
            revision: u32::try_from(revision).map_err(|_| Error::IllegalArgument("negative revision".into()))?,
            hash: ContentHash::from_hex(&convert::string(env, "hash", &hash)?)?,
            author: convert::string(env, "author", &author)?,
            published_at_ms: convert::unsigned("publishedAtMs", published_at_ms)?,
            size_bytes: convert::unsigned("sizeBytes", size_bytes)?,
        };
        pull_request(env, a.on_directive(&Directive { kind, snapshot: &snapshot }))
    })
}

/// `ConfigAgent.onOutcome(batch, index, cluster)`: what to pull, or null.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_ConfigAgent_onOutcome0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    agent: jlong,
    outcomes: JByteBuffer<'l>,
    offset: jint,
    cluster: JString<'l>,
) -> jobject {
    with_agent(&mut env, agent, |env, a| {
        let len = i32::try_from(OUTCOME_SIZE).map_err(|_| Error::Internal("outcome size".into()))?;
        // SAFETY: the local reference keeps the buffer alive for the call;
        // the batch is documented as not thread-safe, so nobody writes it now.
        let bytes = unsafe { convert::direct_slice(env, "outcomes", &outcomes, offset, len) }?;
        let mut copy = [0u8; OUTCOME_SIZE];
        copy.copy_from_slice(bytes);
        let outcome = OutcomeRecord::from_bytes_mut(&mut copy)?;
        let cluster = convert::string(env, "cluster", &cluster)?;
        pull_request(env, outcome.first().and_then(|o| a.on_outcome(o, &cluster)))
    })
}

/// `new Heartbeat(atMs, appliedSnapshot, appliedHash, runtimeVersion, status, metrics, syncError)`.
fn heartbeat<'l>(env: &mut JNIEnv<'l>, hb: &OwnedHeartbeat) -> Result<JObject<'l>> {
    let metrics = records::metrics(env, &hb.metrics)?;
    let sync_error = match &hb.sync_error {
        Some(e) => records::sync_error(env, e)?,
        None => JObject::null(),
    };
    New::args()
        .long(hb.at_ms)
        .opt_str(env, hb.applied_snapshot.as_deref())?
        .opt_str(env, hb.applied_hash.map(|h| h.to_string()).as_deref())?
        .str(env, &hb.runtime_version.to_string())?
        .constant(env, "dev/fleetgov/ProcessStatus", hb.status.as_str())?
        .object("Ldev/fleetgov/Metrics;", metrics)
        .object("Ldev/fleetgov/SyncError;", sync_error)
        .build(env, "dev/fleetgov/Heartbeat")
}

/// `new PullRequest(kind, snapshotId, hash)`, or null.
fn pull_request(env: &mut JNIEnv<'_>, pull: Option<PullRequest>) -> Result<jobject> {
    let Some(p) = pull else { return Ok(std::ptr::null_mut()) };
    Ok(New::args()
        .constant(env, "dev/fleetgov/DirectiveKind", p.kind.as_str())?
        .str(env, &p.snapshot_id)?
        .str(env, &p.hash.to_string())?
        .build(env, "dev/fleetgov/PullRequest")?
        .into_raw())
}
