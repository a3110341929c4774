//! The one error policy of the Java binding.
//!
//! Every native method is a shim around an `intern_*` function returning
//! [`Result`]. [`shim`] runs it under [`std::panic::catch_unwind`] and turns
//! what comes back into the Java world:
//!
//! | Rust                                   | Java                                                |
//! |----------------------------------------|-----------------------------------------------------|
//! | `Ok(v)`                                | `v`                                                 |
//! | [`ErrorKind::JustificationRequired`]   | `JustificationRequiredException`                    |
//! | a value JSON cannot express            | `FleetException(Code.INVALID_INPUT)`, as in Python  |
//! | [`ErrorKind::PermissionDenied`]        | `PermissionDeniedException`                         |
//! | [`ErrorKind::Future`]                  | `FutureTimeException`                               |
//! | [`ErrorKind::HistoryUnavailable`]      | `HistoryUnavailableException`                       |
//! | [`ErrorKind::StaleHeartbeat`]          | `StaleHeartbeatException.INSTANCE`, preallocated    |
//! | any other [`ErrorKind`]                | `FleetException` with the matching `Code`           |
//! | [`Error::HashMismatch`]                | `FleetException(Code.HASH_MISMATCH)`                |
//! | [`Error::IllegalArgument`]             | `IllegalArgumentException`                          |
//! | [`Error::IllegalState`]                | `IllegalStateException`                             |
//! | a JNI failure with a Java exception    | that exception, left pending                        |
//! | [`Error::Internal`], other JNI failures | `FleetException(Code.INTERNAL)`                     |
//! | [`Error::Caused`]                      | the inner error's exception, with the Java cause    |
//! | a panic                                | `FleetException(Code.PANIC)`                        |
//! | an unwind carrying a [`Rethrow`]       | that Java exception, as it is                       |
//!
//! This file is the only place that turns errors into Java exceptions; nothing
//! unwinds across the JNI boundary.

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use fleetgov::ErrorKind;
use jni::JNIEnv;
use jni::objects::{GlobalRef, JObject, JThrowable, JValue};
use jni::sys::{jint, jlong, jobject};

/// Why a native call failed.
pub(crate) enum Error {
    /// The engine refused the call.
    Core(fleetgov::Error),
    /// An agent refused configuration bytes that do not hash to the
    /// expected hash (the core reports it as `InvalidInput`; Java gives it
    /// a code of its own).
    HashMismatch(String),
    /// A Java argument the engine cannot take (a null where a value is
    /// required, a buffer range outside its buffer, ...).
    IllegalArgument(String),
    /// The object is not in a state for the call (a zero handle).
    IllegalState(String),
    /// A failure inside the binding itself.
    Internal(String),
    /// An error caused by a Java exception (a validator's), attached as the
    /// thrown exception's cause.
    Caused(Box<Error>, GlobalRef),
    /// A JNI call failed; for [`jni::errors::Error::JavaException`] a Java
    /// exception is already pending and is what the caller sees.
    Jni(jni::errors::Error),
}

/// The payload of an unwind that carries a Java exception back to the shim,
/// which throws it as it is: a validator's programming error (see agent.rs),
/// which must reach the caller without the core agent recording it.
pub(crate) struct Rethrow(pub(crate) GlobalRef);

/// `Result` with the binding's [`Error`].
pub(crate) type Result<T> = std::result::Result<T, Error>;

impl From<fleetgov::Error> for Error {
    fn from(e: fleetgov::Error) -> Self {
        Error::Core(e)
    }
}

/// A value the engine returned that JSON cannot express: a failure of the
/// binding, not of the caller's input (the server reports it as a 500).
impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(format!("cannot serialise to JSON: {e}"))
    }
}

impl From<jni::errors::Error> for Error {
    fn from(e: jni::errors::Error) -> Self {
        Error::Jni(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Core(e) => e.fmt(f),
            Error::IllegalArgument(m) | Error::IllegalState(m) | Error::Internal(m) | Error::HashMismatch(m) => {
                f.write_str(m)
            }
            Error::Jni(e) => write!(f, "JNI call failed: {e}"),
            Error::Caused(e, _) => e.fmt(f),
        }
    }
}

/// The value a native method returns when it has thrown: Java ignores it.
pub(crate) trait Fallback {
    /// Zero, false or null.
    fn fallback() -> Self;
}

impl Fallback for () {
    fn fallback() -> Self {}
}

impl Fallback for jlong {
    fn fallback() -> Self {
        0
    }
}

impl Fallback for jint {
    fn fallback() -> Self {
        0
    }
}

impl Fallback for jobject {
    fn fallback() -> Self {
        std::ptr::null_mut()
    }
}

/// Runs the body of a native method: a panic or an `Err` becomes a pending
/// Java exception and the method returns [`Fallback::fallback`].
pub(crate) fn shim<'local, R: Fallback>(
    env: &mut JNIEnv<'local>,
    body: impl FnOnce(&mut JNIEnv<'local>) -> Result<R>,
) -> R {
    // The closure only borrows `env`; after a panic nothing of its state is
    // used again except `env`, whose JNI functions stay valid.
    match catch_unwind(AssertUnwindSafe(|| body(&mut *env))) {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => {
            throw(env, &error);
            R::fallback()
        }
        Err(payload) => {
            match payload.downcast::<Rethrow>() {
                Ok(rethrow) => rethrow_java(env, &rethrow.0),
                Err(payload) => throw_panic(env, payload.as_ref()),
            }
            R::fallback()
        }
    }
}

/// Makes `exception` the pending Java exception again.
fn rethrow_java(env: &mut JNIEnv<'_>, exception: &GlobalRef) {
    let thrown = env.new_local_ref(exception).and_then(|local| env.throw(JThrowable::from(local)));
    if thrown.is_err() {
        last_resort(env, "cannot rethrow the validator's exception");
    }
}

/// Makes `error` the pending Java exception.
fn throw(env: &mut JNIEnv<'_>, error: &Error) {
    let thrown = exception(env, error).and_then(|e| match e {
        Some(e) => env.throw(e),
        None => Ok(()),
    });
    if thrown.is_err() {
        last_resort(env, &error.to_string());
    }
}

/// The Java exception for `error`; `None` when a Java exception is already
/// pending and is the one to keep.
fn exception<'l>(env: &mut JNIEnv<'l>, error: &Error) -> jni::errors::Result<Option<JThrowable<'l>>> {
    let e = match error {
        Error::Core(e) => core_exception(env, e)?,
        Error::IllegalArgument(m) => with_message(env, "java/lang/IllegalArgumentException", m)?,
        Error::IllegalState(m) => with_message(env, "dev/fleetgov/MisuseException", m)?,
        Error::Internal(m) => fleet_exception(env, "INTERNAL", m)?,
        Error::HashMismatch(m) => fleet_exception(env, "HASH_MISMATCH", m)?,
        Error::Jni(jni::errors::Error::JavaException) => return Ok(None),
        Error::Jni(e) => fleet_exception(env, "INTERNAL", &format!("JNI call failed: {e}"))?,
        Error::Caused(inner, cause) => {
            let Some(e) = exception(env, inner)? else { return Ok(None) };
            env.call_method(
                &e,
                "initCause",
                "(Ljava/lang/Throwable;)Ljava/lang/Throwable;",
                &[JValue::Object(cause.as_obj())],
            )?;
            e
        }
    };
    Ok(Some(e))
}

/// Maps an engine error kind to its Java exception.
fn core_exception<'l>(env: &mut JNIEnv<'l>, e: &fleetgov::Error) -> jni::errors::Result<JThrowable<'l>> {
    let code = match e.kind() {
        ErrorKind::StaleHeartbeat => return stale_heartbeat(env),
        ErrorKind::JustificationRequired => {
            return with_message(env, "dev/fleetgov/JustificationRequiredException", e.message());
        }
        ErrorKind::PermissionDenied => return with_message(env, "dev/fleetgov/PermissionDeniedException", e.message()),
        ErrorKind::Future => return with_message(env, "dev/fleetgov/FutureTimeException", e.message()),
        ErrorKind::HistoryUnavailable => {
            return with_message(env, "dev/fleetgov/HistoryUnavailableException", e.message());
        }
        ErrorKind::InvalidInput => "INVALID_INPUT",
        ErrorKind::NotFound => "NOT_FOUND",
        ErrorKind::Conflict => "CONFLICT",
        ErrorKind::FutureHeartbeat => "FUTURE_HEARTBEAT",
        ErrorKind::AuditTampered => "AUDIT_TAMPERED",
        ErrorKind::Io => "IO",
        ErrorKind::ReloadFailure => "RELOAD_FAILURE",
        // A kind newer than this binding: keep its name in the message.
        other => return fleet_exception(env, "INTERNAL", &format!("{}: {}", other.code(), e.message())),
    };
    fleet_exception(env, code, &in_java_terms(e.message()))
}

/// The engine's message with its Rust configuration names replaced by the
/// Java API's (`EngineConfig::capacity` is `FleetEngine.Options.withCapacity`).
fn in_java_terms(message: &str) -> std::borrow::Cow<'_, str> {
    const RUST: &str = "EngineConfig::capacity";
    if message.contains(RUST) {
        message.replace(RUST, "FleetEngine.Options.withCapacity").into()
    } else {
        message.into()
    }
}

/// `StaleHeartbeatException.INSTANCE`: an expected outcome, thrown without
/// allocating or filling in a stack trace. The instance is looked up once.
pub(crate) fn stale_heartbeat<'l>(env: &mut JNIEnv<'l>) -> jni::errors::Result<JThrowable<'l>> {
    static INSTANCE: OnceLock<GlobalRef> = OnceLock::new();
    const CLASS: &str = "dev/fleetgov/StaleHeartbeatException";
    let instance = match INSTANCE.get() {
        Some(instance) => instance,
        None => {
            let local = env.get_static_field(CLASS, "INSTANCE", format!("L{CLASS};"))?.l()?;
            let global = env.new_global_ref(&local)?;
            env.delete_local_ref(local)?;
            // Two threads may both look it up; either global reference will do.
            INSTANCE.get_or_init(|| global)
        }
    };
    Ok(JThrowable::from(env.new_local_ref(instance)?))
}

fn throw_panic(env: &mut JNIEnv<'_>, payload: &(dyn Any + Send)) {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    let message = format!("native panic: {what}");
    // A panic is a bug in the native code; whatever Java exception was
    // pending when it happened is replaced by the one that names the bug.
    if env.exception_check().unwrap_or(false) {
        let _ = env.exception_clear();
    }
    if fleet_exception(env, "PANIC", &message).and_then(|e| env.throw(e)).is_err() {
        last_resort(env, &message);
    }
}

/// `new FleetException(Code.<code>, message)`.
fn fleet_exception<'l>(env: &mut JNIEnv<'l>, code: &str, message: &str) -> jni::errors::Result<JThrowable<'l>> {
    const CODE: &str = "Ldev/fleetgov/FleetException$Code;";
    let code = env.get_static_field("dev/fleetgov/FleetException$Code", code, CODE)?.l()?;
    let message = env.new_string(message)?;
    let exception = env.new_object(
        "dev/fleetgov/FleetException",
        format!("({CODE}Ljava/lang/String;)V"),
        &[JValue::Object(&code), JValue::Object(&message)],
    )?;
    Ok(JThrowable::from(exception))
}

/// `new <class>(message)`.
fn with_message<'l>(env: &mut JNIEnv<'l>, class: &str, message: &str) -> jni::errors::Result<JThrowable<'l>> {
    let message = env.new_string(message)?;
    let exception = env.new_object(class, "(Ljava/lang/String;)V", &[JValue::Object(&message)])?;
    Ok(JThrowable::from(exception))
}

/// When building the proper exception failed: keep a pending exception if
/// there is one (an `OutOfMemoryError`, say), else throw a plain `Error`.
fn last_resort(env: &mut JNIEnv<'_>, message: &str) {
    if !env.exception_check().unwrap_or(true) {
        let _ = env.throw_new("java/lang/Error", message);
    }
}

/// A Java `null` reference where a value is required.
pub(crate) fn require_non_null(what: &str, object: &JObject<'_>) -> Result<()> {
    if object.is_null() { Err(Error::IllegalArgument(format!("{what} must not be null"))) } else { Ok(()) }
}
