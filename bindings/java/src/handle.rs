//! Native references held by Java objects (`NativeHandle.java`).
//!
//! A Java object that owns a Rust value keeps it as a `long`: the address of
//! a boxed value. The Java side (`NativeHandle`) guarantees that a handle
//! passed to a native method is live for the whole call (every call holds
//! the object's read lock; `close()` takes the write lock, zeroes the field
//! and only then frees), and that it is freed exactly once.

use jni::JNIEnv;
use jni::sys::jlong;

use crate::error::{Error, Fallback, Result, shim};

/// Moves `value` to the heap and returns its address for a Java `long` field.
pub(crate) fn into_handle<T>(value: T) -> jlong {
    Box::into_raw(Box::new(value)) as jlong
}

/// Borrows the value behind `handle`; a zero handle is an
/// `IllegalStateException` (the Java side already checks, this is a second
/// line of defence).
///
/// # Safety
/// `handle` is zero or was returned by [`into_handle::<T>`] and has not been
/// passed to [`free`]; the value stays alive for `'a` (the duration of the
/// native call, guaranteed by the Java object's read lock).
pub(crate) unsafe fn borrow<'a, T>(handle: jlong) -> Result<&'a T> {
    let ptr = handle as *const T;
    // SAFETY: by the contract above a non-null `ptr` points to a live `T`
    // that nobody frees or mutates through a unique reference while `'a` lasts.
    unsafe { ptr.as_ref() }.ok_or_else(|| Error::IllegalState("native object is closed".into()))
}

/// Drops the value behind `handle`; zero is a no-op.
///
/// # Safety
/// `handle` is zero or was returned by [`into_handle::<T>`], is freed at most
/// once, and no call borrows it any more (the Java object holds its write
/// lock and has zeroed its field).
pub(crate) unsafe fn free<T>(handle: jlong) {
    if handle != 0 {
        // SAFETY: by the contract above `handle` came from `Box::into_raw` of
        // a `Box<T>` and this is its only release.
        drop(unsafe { Box::from_raw(handle as *mut T) });
    }
}

/// Runs a native method of a Java object that owns a `T`: [`shim`] with the
/// value behind `handle` borrowed for the call.
///
/// # Safety
/// As [`borrow`]: `handle` is zero or a live handle to a `T`, kept alive for
/// the whole call (the Java object holds its read lock around it).
pub(crate) unsafe fn with<'l, T, R: Fallback>(
    env: &mut JNIEnv<'l>,
    handle: jlong,
    body: impl FnOnce(&mut JNIEnv<'l>, &T) -> Result<R>,
) -> R {
    shim(env, |env| {
        // SAFETY: forwarded from the caller.
        let value = unsafe { borrow::<T>(handle) }?;
        body(env, value)
    })
}
