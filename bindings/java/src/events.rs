//! Native methods of `EventStream.java`: a subscription to an engine's change
//! feed, read one event per call.
//!
//! The stream owns a boxed [`Stream`]: the core's [`Subscription`] behind a
//! mutex, because `EventStream.poll` may be called from several threads at
//! once (each event goes to one of them) while the Java object only holds its
//! read lock around a call. The subscription shares the feed with the engine,
//! not the engine itself, so the stream stays sound whatever the engine's
//! state; `FleetEngine.close()` closes its streams anyway.

use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use fleetgov::{AuditChange, Change, ClusterChange, Engine, FeedItem, NodeChange, Subscription};
use jni::JNIEnv;
use jni::objects::{GlobalRef, JClass, JMethodID, JObject, JObjectArray, JStaticMethodID, JString};
use jni::signature::ReturnType;
use jni::sys::{jlong, jobject, jvalue};

use crate::construct::LOCAL_FRAME;
use crate::error::{Error, Result};
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

/// Classes, constructors and enum constants the events are built from,
/// looked up once: a poll then makes no class or member lookup by name.
struct Lookups {
    node: Ctor,
    cluster: Ctor,
    audit: Ctor,
    lagged: Ctor,
    optional_int: GlobalRef,
    optional_int_of: JStaticMethodID,
    optional_int_empty: GlobalRef,
    sync_error_codes: Constants,
    cluster_statuses: Constants,
    audit_actions: Constants,
}

/// A class and one of its constructors.
struct Ctor {
    class: GlobalRef,
    id: JMethodID,
}

/// Every constant of a Java enum, by name.
struct Constants(Vec<(String, GlobalRef)>);

static LOOKUPS: OnceLock<Lookups> = OnceLock::new();

impl Lookups {
    /// The lookups, made on first use (a race makes them twice and keeps one).
    fn get(env: &mut JNIEnv<'_>) -> Result<&'static Lookups> {
        if let Some(l) = LOOKUPS.get() {
            return Ok(l);
        }
        let made = env.with_local_frame(LOCAL_FRAME, Lookups::make)?;
        Ok(LOOKUPS.get_or_init(|| made))
    }

    fn make(env: &mut JNIEnv<'_>) -> Result<Lookups> {
        let class = env.find_class("java/util/OptionalInt")?;
        let optional_int = env.new_global_ref(class)?;
        let class: &JClass<'_> = optional_int.as_obj().into();
        let optional_int_of = env.get_static_method_id(class, "of", "(I)Ljava/util/OptionalInt;")?;
        let empty = env.call_static_method(class, "empty", "()Ljava/util/OptionalInt;", &[])?.l()?;
        Ok(Lookups {
            node: Ctor::new(env, NODE_EVENT, NODE_EVENT_SIGNATURE)?,
            cluster: Ctor::new(env, CLUSTER_EVENT, CLUSTER_EVENT_SIGNATURE)?,
            audit: Ctor::new(env, AUDIT_EVENT, AUDIT_EVENT_SIGNATURE)?,
            lagged: Ctor::new(env, LAGGED, "(J)V")?,
            optional_int_empty: env.new_global_ref(empty)?,
            optional_int,
            optional_int_of,
            sync_error_codes: Constants::new(env, crate::records::SYNC_ERROR_CODE)?,
            cluster_statuses: Constants::new(env, CLUSTER_STATUS)?,
            audit_actions: Constants::new(env, AUDIT_ACTION)?,
        })
    }

    /// `OptionalInt.of(v)`, or the empty one.
    fn optional_int<'l>(&self, env: &mut JNIEnv<'l>, value: Option<u32>) -> Result<JObject<'l>> {
        let Some(v) = value else { return Ok(env.new_local_ref(&self.optional_int_empty)?) };
        let class: &JClass<'_> = self.optional_int.as_obj().into();
        let args = [jvalue { i: crate::records::revision(v) }];
        // SAFETY: `optional_int_of` is `OptionalInt.of(int)` of this class, and `args` is one int.
        let of = unsafe { env.call_static_method_unchecked(class, self.optional_int_of, ReturnType::Object, &args) };
        Ok(of?.l()?)
    }
}

impl Ctor {
    fn new(env: &mut JNIEnv<'_>, class: &str, signature: &str) -> Result<Ctor> {
        let class = env.find_class(class)?;
        let class = env.new_global_ref(class)?;
        let id = env.get_method_id(<&JClass<'_>>::from(class.as_obj()), "<init>", signature)?;
        Ok(Ctor { class, id })
    }

    /// `new Class(args...)`.
    ///
    /// # Safety
    /// `args` match the constructor's signature given to [`Ctor::new`], each
    /// object a live reference of the declared type (or null where allowed).
    unsafe fn build<'l>(&self, env: &mut JNIEnv<'l>, args: &[jvalue]) -> Result<JObject<'l>> {
        // SAFETY: forwarded from the caller; `id` is a constructor of `class`.
        Ok(unsafe { env.new_object_unchecked(<&JClass<'_>>::from(self.class.as_obj()), self.id, args) }?)
    }
}

impl Constants {
    fn new(env: &mut JNIEnv<'_>, class: &str) -> Result<Constants> {
        let values = env.call_static_method(class, "values", format!("()[L{class};"), &[])?.l()?;
        let values = JObjectArray::from(values);
        let mut all = Vec::new();
        for i in 0..env.get_array_length(&values)? {
            let named = env.with_local_frame(4, |env| -> Result<(String, GlobalRef)> {
                let constant = env.get_object_array_element(&values, i)?;
                let name = env.call_method(&constant, "name", "()Ljava/lang/String;", &[])?.l()?;
                let name: String = env.get_string(&JString::from(name))?.into();
                Ok((name, env.new_global_ref(constant)?))
            })?;
            all.push(named);
        }
        Ok(Constants(all))
    }

    /// The constant named `name` in the engine's spelling (`needs_reconcile`
    /// or `NEEDS_RECONCILE`: the Java name is its upper case).
    fn get(&self, name: &str) -> Result<jobject> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, c)| c.as_obj().as_raw())
            .ok_or_else(|| Error::Internal(format!("no Java constant {name}")))
    }
}

const NODE_EVENT: &str = "dev/fleetgov/FleetEvent$NodeEvent";
const NODE_EVENT_SIGNATURE: &str =
    "(JLjava/lang/String;Ljava/lang/String;JLjava/util/OptionalInt;Ljava/lang/String;ZLdev/fleetgov/SyncErrorCode;)V";
const CLUSTER_EVENT: &str = "dev/fleetgov/FleetEvent$ClusterEvent";
const CLUSTER_EVENT_SIGNATURE: &str = "(JLjava/lang/String;Ljava/lang/String;IJJIILdev/fleetgov/ClusterStatus;)V";
const AUDIT_EVENT: &str = "dev/fleetgov/FleetEvent$AuditEvent";
const AUDIT_EVENT_SIGNATURE: &str = "(JJJLjava/lang/String;Ldev/fleetgov/AuditAction;Ljava/lang/String;)V";
const LAGGED: &str = "dev/fleetgov/FleetEvent$Lagged";
const CLUSTER_STATUS: &str = "dev/fleetgov/ClusterStatus";
const AUDIT_ACTION: &str = "dev/fleetgov/AuditAction";

fn long(v: u64) -> jvalue {
    jvalue { j: i64::try_from(v).unwrap_or(i64::MAX) }
}

fn object(o: &JObject<'_>) -> jvalue {
    jvalue { l: o.as_raw() }
}

/// The Java `FleetEvent` for `item`; null for a change of a kind this
/// binding does not know.
fn event<'l>(env: &mut JNIEnv<'l>, item: &FeedItem) -> Result<JObject<'l>> {
    let lookups = Lookups::get(env)?;
    match item {
        // SAFETY: one long, as `(J)V` says.
        FeedItem::Lagged { missed } => unsafe { lookups.lagged.build(env, &[long(*missed)]) },
        FeedItem::Change(event) => match &event.change {
            Change::Node(n) => node_event(env, lookups, event.seq, n),
            Change::Cluster(c) => cluster_event(env, lookups, event.seq, c),
            Change::Audit(a) => audit_event(env, lookups, event.seq, a),
            _ => Ok(JObject::null()),
        },
    }
}

/// `new FleetEvent.NodeEvent(seq, node, cluster, atMs, appliedRevision, appliedHash, inSync, syncError)`.
fn node_event<'l>(env: &mut JNIEnv<'l>, l: &Lookups, seq: u64, n: &NodeChange) -> Result<JObject<'l>> {
    let node = env.new_string(&n.node)?;
    let cluster = env.new_string(&*n.cluster)?;
    let revision = l.optional_int(env, n.applied_revision)?;
    let hash = match &n.applied_hash {
        Some(h) => env.new_string(h.to_string())?.into(),
        None => JObject::null(),
    };
    let error = n.sync_error.map(|c| l.sync_error_codes.get(c.as_str())).transpose()?.unwrap_or(std::ptr::null_mut());
    let args = [
        long(seq),
        object(&node),
        object(&cluster),
        long(n.at_ms),
        object(&revision),
        object(&hash),
        jvalue { z: u8::from(n.in_sync) },
        jvalue { l: error },
    ];
    // SAFETY: `args` follow NODE_EVENT_SIGNATURE; every object is a live
    // local or global reference of the declared type, or null where the
    // record allows it.
    unsafe { l.node.build(env, &args) }
}

/// `new FleetEvent.ClusterEvent(seq, cluster, workspace, desiredRevision, enrolled, inSync, cohesion,
/// cohesionBasisPoints, status)`.
fn cluster_event<'l>(env: &mut JNIEnv<'l>, l: &Lookups, seq: u64, c: &ClusterChange) -> Result<JObject<'l>> {
    let cluster = env.new_string(&*c.cluster)?;
    let workspace = env.new_string(&*c.workspace)?;
    let args = [
        long(seq),
        object(&cluster),
        object(&workspace),
        jvalue { i: crate::records::revision(c.desired_revision) },
        long(c.enrolled),
        long(c.in_sync),
        jvalue { i: i32::from(c.cohesion) },
        jvalue { i: i32::from(c.cohesion_bp) },
        jvalue { l: l.cluster_statuses.get(c.status.as_str())? },
    ];
    // SAFETY: `args` follow CLUSTER_EVENT_SIGNATURE, with live references.
    unsafe { l.cluster.build(env, &args) }
}

/// `new FleetEvent.AuditEvent(seq, auditSeq, atMs, actor, action, target)`.
fn audit_event<'l>(env: &mut JNIEnv<'l>, l: &Lookups, seq: u64, a: &AuditChange) -> Result<JObject<'l>> {
    let actor = env.new_string(&a.actor)?;
    let target = env.new_string(&a.target)?;
    let args = [
        long(seq),
        long(a.audit_seq),
        long(a.at_ms),
        object(&actor),
        jvalue { l: l.audit_actions.get(a.action.as_str())? },
        object(&target),
    ];
    // SAFETY: `args` follow AUDIT_EVENT_SIGNATURE, with live references.
    unsafe { l.audit.build(env, &args) }
}
