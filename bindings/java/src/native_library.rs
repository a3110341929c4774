//! Native methods of `NativeLibrary.java`: what the loader asks the library
//! it has just loaded.

use jni::JNIEnv;
use jni::objects::JClass;
use jni::sys::jstring;

use crate::error::shim;

/// `NativeLibrary.version0()`: the version this library was built as, which
/// the loader compares with its jar's before any other native call.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_NativeLibrary_version0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
) -> jstring {
    shim(&mut env, |env| Ok(env.new_string(env!("CARGO_PKG_VERSION"))?.into_raw()))
}
