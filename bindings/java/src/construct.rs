//! Calls Java constructors from Rust: arguments are pushed in order and the
//! JNI signature is built from them, so no hand-written signature can drift
//! from the values passed.

use jni::JNIEnv;
use jni::objects::{JObject, JValue, JValueOwned};

use crate::error::Result;

/// The arguments of one Java constructor call.
///
/// ```ignore
/// let snapshot = New::args()
///     .str(env, &s.id)?
///     .int(s.revision as i32)
///     .build(env, "dev/fleetgov/Snapshot")?;
/// ```
pub(crate) struct New<'l> {
    signature: String,
    args: Vec<JValueOwned<'l>>,
}

impl<'l> New<'l> {
    /// No arguments yet.
    pub(crate) fn args() -> Self {
        New { signature: String::from("("), args: Vec::with_capacity(20) }
    }

    /// A `String` argument.
    pub(crate) fn str(self, env: &mut JNIEnv<'l>, value: &str) -> Result<Self> {
        let s = env.new_string(value)?;
        Ok(self.object("Ljava/lang/String;", s.into()))
    }

    /// A `String` argument that is null for `None`.
    pub(crate) fn opt_str(self, env: &mut JNIEnv<'l>, value: Option<&str>) -> Result<Self> {
        match value {
            Some(v) => self.str(env, v),
            None => Ok(self.object("Ljava/lang/String;", JObject::null())),
        }
    }

    /// An `int` argument.
    pub(crate) fn int(self, value: i32) -> Self {
        self.push("I", JValueOwned::Int(value))
    }

    /// A `long` argument; counts above `i64::MAX` (never reached) saturate.
    pub(crate) fn long(self, value: u64) -> Self {
        self.push("J", JValueOwned::Long(i64::try_from(value).unwrap_or(i64::MAX)))
    }

    /// A `float` argument.
    pub(crate) fn float(self, value: f32) -> Self {
        self.push("F", JValueOwned::Float(value))
    }

    /// A `double` argument.
    pub(crate) fn double(self, value: f64) -> Self {
        self.push("D", JValueOwned::Double(value))
    }

    /// An `int[]` argument.
    pub(crate) fn ints(self, env: &mut JNIEnv<'l>, values: &[i32]) -> Result<Self> {
        let len = i32::try_from(values.len()).unwrap_or(i32::MAX);
        let array = env.new_int_array(len)?;
        env.set_int_array_region(&array, 0, values)?;
        Ok(self.object("[I", array.into()))
    }

    /// A `boolean` argument.
    pub(crate) fn boolean(self, value: bool) -> Self {
        self.push("Z", JValueOwned::Bool(u8::from(value)))
    }

    /// A constant of the Java enum `class` (`dev/fleetgov/Health`) named
    /// `name` in upper snake case: the engine's name, upper-cased
    /// (`needs_reconcile` → `NEEDS_RECONCILE`).
    pub(crate) fn constant(self, env: &mut JNIEnv<'l>, class: &str, name: &str) -> Result<Self> {
        let value = enum_constant(env, class, name)?;
        Ok(self.object(&format!("L{class};"), value))
    }

    /// Like [`constant`](Self::constant), null for `None`.
    pub(crate) fn opt_constant(self, env: &mut JNIEnv<'l>, class: &str, name: Option<&str>) -> Result<Self> {
        match name {
            Some(n) => self.constant(env, class, n),
            None => Ok(self.object(&format!("L{class};"), JObject::null())),
        }
    }

    /// A `java.util.OptionalLong` argument.
    pub(crate) fn optional_long(self, env: &mut JNIEnv<'l>, value: Option<u64>) -> Result<Self> {
        const CLASS: &str = "java/util/OptionalLong";
        let optional = match value {
            Some(v) => env.call_static_method(
                CLASS,
                "of",
                "(J)Ljava/util/OptionalLong;",
                &[JValue::Long(i64::try_from(v).unwrap_or(i64::MAX))],
            )?,
            None => env.call_static_method(CLASS, "empty", "()Ljava/util/OptionalLong;", &[])?,
        }
        .l()?;
        Ok(self.object("Ljava/util/OptionalLong;", optional))
    }

    /// An object argument whose declared type is `descriptor` (`Ljava/util/List;`).
    pub(crate) fn object(self, descriptor: &str, value: JObject<'l>) -> Self {
        self.push(descriptor, JValueOwned::Object(value))
    }

    fn push(mut self, descriptor: &str, value: JValueOwned<'l>) -> Self {
        self.signature.push_str(descriptor);
        self.args.push(value);
        self
    }

    /// Calls `new class(args...)`.
    pub(crate) fn build(mut self, env: &mut JNIEnv<'l>, class: &str) -> Result<JObject<'l>> {
        self.signature.push_str(")V");
        let args: Vec<JValue<'_, '_>> = self.args.iter().map(JValueOwned::borrow).collect();
        Ok(env.new_object(class, &self.signature, &args)?)
    }
}

/// The constant `name` (engine spelling, upper-cased) of the Java enum `class`.
pub(crate) fn enum_constant<'l>(env: &mut JNIEnv<'l>, class: &str, name: &str) -> Result<JObject<'l>> {
    Ok(env.get_static_field(class, name.to_ascii_uppercase(), format!("L{class};"))?.l()?)
}

/// A `java.util.ArrayList` of `items`, each made by `make` inside its own
/// local frame so a list of a million elements does not exhaust local references.
pub(crate) fn list<'l, T>(
    env: &mut JNIEnv<'l>,
    items: impl ExactSizeIterator<Item = T>,
    mut make: impl for<'f> FnMut(&mut JNIEnv<'f>, T) -> Result<JObject<'f>>,
) -> Result<JObject<'l>> {
    let capacity = i32::try_from(items.len()).unwrap_or(i32::MAX);
    let list = env.new_object("java/util/ArrayList", "(I)V", &[JValue::Int(capacity)])?;
    for item in items {
        env.with_local_frame(LOCAL_FRAME, |env| -> Result<()> {
            let element = make(env, item)?;
            env.call_method(&list, "add", "(Ljava/lang/Object;)Z", &[JValue::Object(&element)])?;
            Ok(())
        })?;
    }
    Ok(list)
}

/// Local references one record needs at most (a node view makes about 25).
pub(crate) const LOCAL_FRAME: i32 = 64;
