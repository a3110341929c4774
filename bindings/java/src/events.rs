//! Native methods of `EventStream.java`: a subscription to an engine's change
//! feed, read one event per call.
//!
//! The stream owns a boxed [`Stream`]: the core's [`Subscription`] behind a
//! mutex, because `EventStream.poll` may be called from several threads at
//! once (each event goes to one of them) while the Java object only holds its
//! read lock around a call. The subscription shares the feed with the engine,
//! not the engine itself, so the stream stays sound whatever the engine's
//! state; `FleetEngine.close()` closes its streams anyway.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use fleetgov::{AuditChange, Change, ClusterChange, Engine, FeedItem, NodeChange, Subscription};
use jni::JNIEnv;
use jni::objects::{JClass, JObject};
use jni::sys::{jlong, jobject};

use crate::construct::{LOCAL_FRAME, New};
use crate::error::Result;
use crate::handle;

/// What an `EventStream` handle points to.
pub(crate) struct Stream(Mutex<Subscription>);

impl Stream {
    /// The subscription, for one poll. A panic while it was held (a bug)
    /// leaves it consistent: its cursor moves only after an item is read.
    fn lock(&self) -> MutexGuard<'_, Subscription> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Opens a stream on `engine` from event `from` (`None`: the next event);
/// the handle `EventStream` holds.
pub(crate) fn open(engine: &Engine, from: Option<u64>) -> Result<jlong> {
    Ok(handle::into_handle(Stream(Mutex::new(engine.subscribe(from)?))))
}

/// Runs an `EventStream` native method on the stream behind `stream`.
fn with_stream<'l, R: crate::error::Fallback>(
    env: &mut JNIEnv<'l>,
    stream: jlong,
    body: impl FnOnce(&mut JNIEnv<'l>, &Stream) -> Result<R>,
) -> R {
    // SAFETY: only `EventStream`'s native methods call this, with the handle
    // `EventStream` holds: a `Stream` from `open`, alive for the call (the
    // object's read lock is held around every native call; see handle.rs).
    unsafe { handle::with(env, stream, body) }
}

/// `EventStream.close()`: drops the subscription.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_EventStream_dispose0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    stream: jlong,
) {
    crate::error::shim(&mut env, |_| {
        // SAFETY: `NativeHandle.close()` calls this once, under its write
        // lock, after zeroing its field: no call borrows the stream any more.
        unsafe { handle::free::<Stream>(stream) };
        Ok(())
    })
}

/// `EventStream.poll(Duration)`, one slice of it: the next event, waiting at
/// most `wait_nanos`, or null. Events of a kind this binding does not know
/// (the core's `Change` may grow) are skipped.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_EventStream_poll0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    stream: jlong,
    wait_nanos: jlong,
) -> jobject {
    with_stream(&mut env, stream, |env, s| {
        let wait = Duration::from_nanos(crate::convert::unsigned("waitNanos", wait_nanos)?);
        let deadline = Instant::now() + wait;
        let mut subscription = s.lock();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(item) = subscription.next_timeout(left) else { return Ok(std::ptr::null_mut()) };
            let event = env.with_local_frame_returning_local(LOCAL_FRAME, |env| event(env, &item))?;
            if !event.is_null() {
                return Ok(event.into_raw());
            }
        }
    })
}

/// `EventStream.position()`: the sequence number of the next event it reads.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_EventStream_position0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    stream: jlong,
) -> jlong {
    with_stream(&mut env, stream, |_, s| Ok(i64::try_from(s.lock().position()).unwrap_or(i64::MAX)))
}

/// The Java `FleetEvent` for `item`; null for a change of a kind this
/// binding does not know.
fn event<'l>(env: &mut JNIEnv<'l>, item: &FeedItem) -> Result<JObject<'l>> {
    match item {
        FeedItem::Lagged { missed } => New::args().long(*missed).build(env, "dev/fleetgov/FleetEvent$Lagged"),
        FeedItem::Change(event) => match &event.change {
            Change::Node(n) => node_event(env, event.seq, n),
            Change::Cluster(c) => cluster_event(env, event.seq, c),
            Change::Audit(a) => audit_event(env, event.seq, a),
            _ => Ok(JObject::null()),
        },
    }
}

/// `new FleetEvent.NodeEvent(seq, node, cluster, atMs, appliedRevision, appliedHash, inSync, syncError)`.
fn node_event<'l>(env: &mut JNIEnv<'l>, seq: u64, n: &NodeChange) -> Result<JObject<'l>> {
    New::args()
        .long(seq)
        .str(env, &n.node)?
        .str(env, &n.cluster)?
        .long(n.at_ms)
        .optional_int(env, n.applied_revision.map(crate::records::revision))?
        .opt_str(env, n.applied_hash.map(|h| h.to_string()).as_deref())?
        .boolean(n.in_sync)
        .opt_constant(env, crate::records::SYNC_ERROR_CODE, n.sync_error.map(|c| c.as_str()))?
        .build(env, "dev/fleetgov/FleetEvent$NodeEvent")
}

/// `new FleetEvent.ClusterEvent(seq, cluster, workspace, desiredRevision, enrolled, inSync, cohesion, status)`.
fn cluster_event<'l>(env: &mut JNIEnv<'l>, seq: u64, c: &ClusterChange) -> Result<JObject<'l>> {
    New::args()
        .long(seq)
        .str(env, &c.cluster)?
        .str(env, &c.workspace)?
        .int(crate::records::revision(c.desired_revision))
        .long(c.enrolled)
        .long(c.in_sync)
        .int(i32::from(c.cohesion))
        .constant(env, "dev/fleetgov/ClusterStatus", c.status.as_str())?
        .build(env, "dev/fleetgov/FleetEvent$ClusterEvent")
}

/// `new FleetEvent.AuditEvent(seq, auditSeq, atMs, actor, action, target)`.
fn audit_event<'l>(env: &mut JNIEnv<'l>, seq: u64, a: &AuditChange) -> Result<JObject<'l>> {
    New::args()
        .long(seq)
        .long(a.audit_seq)
        .long(a.at_ms)
        .str(env, &a.actor)?
        .constant(env, "dev/fleetgov/AuditAction", a.action.as_str())?
        .str(env, &a.target)?
        .build(env, "dev/fleetgov/FleetEvent$AuditEvent")
}
