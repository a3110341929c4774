//! JNI binding of the fleetgov engine: the native half of the Java package
//! `dev.fleetgov`.
//!
//! One file per Java class (`fleet_gov.rs` ↔ `FleetGov.java`, ...). Each
//! native method is a thin shim: unpack the arguments, call an `intern_*`
//! function that returns a `Result`, and let [`error::shim`] turn an error or
//! a panic into a Java exception. Nothing unwinds across the boundary.
#![warn(missing_docs, unsafe_op_in_unsafe_fn)]

mod agent;
mod construct;
mod convert;
mod engine;
mod error;
mod events;
mod fleet_gov;
mod handle;
mod native_library;
mod records;
