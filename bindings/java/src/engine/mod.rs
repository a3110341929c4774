//! Native methods of `FleetEngine.java`: the engine a JVM control plane
//! embeds to track its fleet.
//!
//! Every `engine` argument is the handle the Java object holds; the Java
//! side keeps it alive for the call (see `handle.rs`). The history and
//! journal methods are in [`history`], the audit log and its proofs in
//! [`audit`].

/// Exports a `FleetEngine` native of the [`ask_at`] shape: `(engine, id,
/// ms)`, the id and time named as in Java, the engine's question and the
/// Java value built from its answer.
macro_rules! ask_at_native {
    ($(#[$doc:meta])* $name:ident($id:literal, $time:literal) -> $ret:ty = $ask:expr, $build:expr) => {
        $(#[$doc])*
        #[unsafe(no_mangle)]
        pub extern "system" fn $name<'l>(
            mut env: JNIEnv<'l>,
            _class: JClass<'l>,
            engine: jlong,
            id: JString<'l>,
            ms: jlong,
        ) -> $ret {
            $crate::engine::ask_at(&mut env, engine, ($id, &id), ($time, ms), $ask, $build)
        }
    };
}

mod audit;
mod by_id;
mod history;
mod rollout;

use std::cell::Cell;

use fleetgov::{
    AuthorityMode, ClusterSpec, ContentHash, Engine, EngineConfig, Environment, ForceTarget, Heartbeat, Metrics,
    NodeHandle, Override, ProcessStatus, Received, Role, RuntimeVersion, WorkspaceSpec,
};
use jni::JNIEnv;
use jni::objects::{JByteArray, JByteBuffer, JClass, JObject, JObjectArray, JString};
use jni::sys::{jboolean, jfloat, jint, jlong, jlongArray, jobject, jstring};

use crate::convert::{self, Ascii, Memo};
use crate::error::{Error, Fallback, Result, shim};
use crate::handle;
use crate::records;

/// Runs a `FleetEngine` native method on the engine behind `engine`.
fn with_engine<'l, R: Fallback>(
    env: &mut JNIEnv<'l>,
    engine: jlong,
    body: impl FnOnce(&mut JNIEnv<'l>, &Engine) -> Result<R>,
) -> R {
    // SAFETY: only `FleetEngine`'s native methods call this, with the handle
    // `FleetEngine` holds: an `Engine` from `new0`, alive for the call (the
    // object's read lock is held around every native call; see handle.rs).
    unsafe { handle::with(env, engine, body) }
}

/// The shape of the natives that ask about one thing at one moment: read an
/// id and a time, ask the engine, and build the Java value in a local frame
/// of its own (a view makes dozens of local references).
fn ask_at<'l, T>(
    env: &mut JNIEnv<'l>,
    engine: jlong,
    (id_name, id): (&str, &JString<'l>),
    (time_name, ms): (&str, jlong),
    ask: impl FnOnce(&Engine, &str, u64) -> fleetgov::Result<T>,
    build: impl for<'f> FnOnce(&mut JNIEnv<'f>, &T) -> Result<JObject<'f>>,
) -> jobject {
    with_engine(env, engine, |env, e| {
        let answer = ask(e, &convert::string(env, id_name, id)?, convert::unsigned(time_name, ms)?)?;
        env.with_local_frame_returning_local(crate::construct::LOCAL_FRAME, |env| build(env, &answer))
            .map(|o| o.into_raw())
    })
}

/// `new FleetEngine(Options)`: a new engine, in memory, with an audit log
/// file or on a data directory. A cadence or retention of 0 keeps the core's default.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments, reason = "a JNI entry point takes the options flat")]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_new0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    capacity: jlong,
    feed_capacity: jint,
    manual_clock: jboolean,
    clock_ms: jlong,
    audit_path: JString<'l>,
    data_dir: JString<'l>,
    journal_interval_ms: jlong,
    checkpoint_interval_ms: jlong,
    journal_segment_len: jlong,
    retention_ms: jlong,
    signing_seed: JByteArray<'l>,
    origin: JString<'l>,
) -> jlong {
    shim(&mut env, |env| {
        let capacity = usize::try_from(convert::unsigned("capacity", capacity)?)
            .map_err(|_| Error::IllegalArgument("capacity does not fit this platform".into()))?;
        let feed_capacity = usize::try_from(feed_capacity)
            .map_err(|_| Error::IllegalArgument(format!("feedCapacity must not be negative, got {feed_capacity}")))?;
        let clock = if manual_clock != 0 {
            fleetgov::Clock::manual(convert::unsigned("manual clock", clock_ms)?)
        } else {
            fleetgov::Clock::System
        };
        let signing_seed = if signing_seed.is_null() {
            None
        } else {
            let seed = convert::bytes(env, "signingSeed", &signing_seed)?;
            Some(
                <[u8; 32]>::try_from(seed.as_slice())
                    .map_err(|_| Error::IllegalArgument(format!("signingSeed must be 32 bytes, got {}", seed.len())))?,
            )
        };
        let mut config = EngineConfig {
            clock,
            capacity,
            audit_path: convert::optional_string(env, "auditPath", &audit_path)?.map(Into::into),
            data_dir: convert::optional_string(env, "dataDir", &data_dir)?.map(Into::into),
            signing_seed,
            origin: convert::string(env, "origin", &origin)?,
            feed_capacity,
            ..EngineConfig::default()
        };
        // Zero keeps the core's default.
        let millis = |what: &str, ms: jlong| convert::unsigned(what, ms).map(std::time::Duration::from_millis);
        match millis("journalInterval", journal_interval_ms)? {
            std::time::Duration::ZERO => {}
            interval => config.journal_interval = interval,
        }
        match millis("checkpointInterval", checkpoint_interval_ms)? {
            std::time::Duration::ZERO => {}
            interval => config.checkpoint_interval = interval,
        }
        match convert::unsigned("journalSegmentLength", journal_segment_len)? {
            0 => {}
            n => config.journal_segment_len = n,
        }
        match millis("retention", retention_ms)? {
            std::time::Duration::ZERO => {}
            retention => config.retention = retention,
        }
        Ok(handle::into_handle(Engine::with_config(config)?))
    })
}

/// `FleetEngine.close()`: frees the engine.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_dispose0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
) {
    shim(&mut env, |_| {
        // SAFETY: `NativeHandle.close()` calls this once, under its write
        // lock, after zeroing its field: no call borrows the engine any more.
        unsafe { handle::free::<Engine>(engine) };
        Ok(())
    })
}

/// `FleetEngine.clockMs()`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_clockMs0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
) -> jlong {
    with_engine(&mut env, engine, |_, e| Ok(i64::try_from(e.clock().now_ms()).unwrap_or(i64::MAX)))
}

/// `FleetEngine.setClock(ms)`: moves a manual clock.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_setClock0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    ms: jlong,
) {
    with_engine(&mut env, engine, |_, e| {
        e.clock().set(convert::unsigned("ms", ms)?);
        Ok(())
    })
}

/// `FleetEngine.upsertWorkspace(WorkspaceSpec)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_upsertWorkspace0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    id: JString<'l>,
    authority_mode: JString<'l>,
    min_runtime_version: JString<'l>,
) {
    with_engine(&mut env, engine, |env, e| {
        let spec = WorkspaceSpec::new(convert::string(env, "id", &id)?)
            .authority_mode(AuthorityMode::parse(&convert::string(env, "authorityMode", &authority_mode)?)?)
            .min_runtime_version(convert::string(env, "minRuntimeVersion", &min_runtime_version)?.parse()?);
        Ok(e.upsert_workspace(spec)?)
    })
}

/// `FleetEngine.upsertCluster(ClusterSpec)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_upsertCluster0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    id: JString<'l>,
    workspace: JString<'l>,
    environment: JString<'l>,
    owner_team: JString<'l>,
    auto_reconcile: jboolean,
) {
    with_engine(&mut env, engine, |env, e| {
        let spec = ClusterSpec::new(
            convert::string(env, "id", &id)?,
            convert::string(env, "workspace", &workspace)?,
            Environment::parse(&convert::string(env, "environment", &environment)?)?,
        )
        .owner_team(convert::string(env, "ownerTeam", &owner_team)?)
        .auto_reconcile(auto_reconcile != 0);
        Ok(e.upsert_cluster(spec)?)
    })
}

/// `FleetEngine.publish(cluster, byte[], author, atMs)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_publish0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    cluster: JString<'l>,
    config: JByteArray<'l>,
    author: JString<'l>,
    at_ms: jlong,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let bytes = convert::bytes(env, "config", &config)?;
        intern_publish(env, e, &cluster, &bytes, &author, at_ms)
    })
}

/// `FleetEngine.publish(cluster, ByteBuffer, author, atMs)` for a direct
/// buffer: the bytes `[offset, offset + len)` are read in place.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_publishDirect0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    cluster: JString<'l>,
    config: JByteBuffer<'l>,
    offset: jint,
    len: jint,
    author: JString<'l>,
    at_ms: jlong,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        // SAFETY: the local reference keeps the buffer alive for the call;
        // `FleetEngine.publish` documents that it must not be written meanwhile.
        let bytes = unsafe { convert::direct_slice(env, "config", &config, offset, len) }?;
        intern_publish(env, e, &cluster, bytes, &author, at_ms)
    })
}

fn intern_publish(
    env: &mut JNIEnv<'_>,
    engine: &Engine,
    cluster: &JString<'_>,
    bytes: &[u8],
    author: &JString<'_>,
    at_ms: jlong,
) -> Result<jobject> {
    let cluster = convert::string(env, "cluster", cluster)?;
    let author = convert::string(env, "author", author)?;
    let snapshot = engine.publish(&cluster, bytes, &author, convert::unsigned("atMs", at_ms)?)?;
    Ok(records::snapshot(env, &snapshot)?.into_raw())
}

/// `FleetEngine.snapshot(id)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_snapshot0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    id: JString<'l>,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let snapshot = e.snapshot(&convert::string(env, "id", &id)?)?;
        Ok(records::snapshot(env, &snapshot)?.into_raw())
    })
}

/// `FleetEngine.desired(cluster)`: the desired snapshot, or null.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_desired0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    cluster: JString<'l>,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let desired = e.desired(&convert::string(env, "cluster", &cluster)?)?;
        Ok(records::opt_snapshot(env, desired.as_ref())?.into_raw())
    })
}

/// `FleetEngine.artifact(hash)`: the published bytes with that hash.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_artifact0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    hash: JString<'l>,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let hash = ContentHash::from_hex(Ascii::new().read(env, "hash", &hash)?)?;
        let bytes = e.artifact(&hash)?;
        Ok(env.byte_array_from_slice(&bytes)?.into_raw())
    })
}

/// `FleetEngine.enroll(node, cluster, atMs)`: the node's handle.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_enroll0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    node: JString<'l>,
    cluster: JString<'l>,
    at_ms: jlong,
) -> jlong {
    with_engine(&mut env, engine, |env, e| {
        let node = convert::string(env, "node", &node)?;
        let cluster = convert::string(env, "cluster", &cluster)?;
        let handle = e.enroll(&node, &cluster, convert::unsigned("atMs", at_ms)?)?;
        Ok(node_handle_to_java(handle))
    })
}

/// `FleetEngine.enrollMany(List<Enrolment>, atMs)`: the enrolments cross
/// as two parallel arrays of node and cluster ids; returns the handles in
/// order. The core checks every pair before it enrols any.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_enrollMany0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    nodes: JObjectArray<'l>,
    clusters: JObjectArray<'l>,
    at_ms: jlong,
) -> jlongArray {
    with_engine(&mut env, engine, |env, e| {
        let (nodes, clusters) = (convert::strings(env, "node", &nodes)?, convert::strings(env, "cluster", &clusters)?);
        if nodes.len() != clusters.len() {
            return Err(Error::Internal("enrollMany0: arrays of different lengths".into()));
        }
        let pairs = nodes.iter().map(String::as_str).zip(clusters.iter().map(String::as_str));
        let handles: Vec<jlong> =
            e.enroll_many(pairs, convert::unsigned("atMs", at_ms)?)?.into_iter().map(node_handle_to_java).collect();
        let len = i32::try_from(handles.len()).map_err(|_| Error::Internal("too many enrolments".into()))?;
        let array = env.new_long_array(len)?;
        env.set_long_array_region(&array, 0, &handles)?;
        Ok(array.into_raw())
    })
}

/// `FleetEngine.nodeHandle(node)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_nodeHandle0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    node: JString<'l>,
) -> jlong {
    with_engine(&mut env, engine, |env, e| {
        Ok(node_handle_to_java(e.node_handle(Ascii::new().read(env, "node", &node)?)?))
    })
}

/// Node handles cross as Java `long`s, bit for bit.
fn node_handle_to_java(handle: NodeHandle) -> jlong {
    handle.to_raw() as jlong
}

/// `FleetEngine.heartbeat(long node | String nodeId, Heartbeat)`: the
/// directive, null, or for a stale heartbeat `StaleHeartbeatException.INSTANCE`
/// (returned, not thrown). `node_id` non-null selects the by-id path. The
/// applied hash comes as text (`applied_hash` non-null), as four
/// little-endian words (`hash_as_words`) or not at all; the runtime version
/// as text (`runtime_version` non-null) or as its packed bits: the Java side
/// sends numbers for what it parsed already (`LastParsed.java`).
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments, reason = "a JNI entry point takes the heartbeat's fields flat")]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_heartbeat0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    node: jlong,
    node_id: JString<'l>,
    at_ms: jlong,
    applied_snapshot: JString<'l>,
    applied_hash: JString<'l>,
    hash_as_words: jboolean,
    hash0: jlong,
    hash1: jlong,
    hash2: jlong,
    hash3: jlong,
    runtime_version: JString<'l>,
    runtime_version_bits: jint,
    status: jint,
    cpu: jfloat,
    memory: jfloat,
    tps: jfloat,
    heap: jfloat,
    hot_swap_errors: jint,
    sync_error: JString<'l>,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let (mut snapshot_buf, mut hash_buf, mut version_buf) = (Ascii::new(), Ascii::new(), Ascii::new());
        let applied_snapshot = snapshot_buf.read_optional(env, "appliedSnapshot", &applied_snapshot)?;
        let applied_hash = match hash_buf.read_optional(env, "appliedHash", &applied_hash)? {
            Some(hex) => Some(Memo::parse(&LAST_HASH, hex, ContentHash::from_hex)?),
            None if hash_as_words != 0 => Some(hash_from_words([hash0, hash1, hash2, hash3])),
            None => None,
        };
        let runtime_version = if runtime_version.is_null() {
            // The packed value is a bit pattern; Java holds it in an `int` as is.
            RuntimeVersion::from_bits(runtime_version_bits as u32)?
        } else {
            Memo::parse(&LAST_VERSION, version_buf.read(env, "runtimeVersion", &runtime_version)?, str::parse)?
        };
        let sync_error = convert::sync_error(env, &sync_error)?;
        let hb = Heartbeat {
            at_ms: convert::unsigned("atMs", at_ms)?,
            applied_snapshot,
            applied_hash,
            runtime_version,
            status: process_status(status)?,
            metrics: Metrics {
                cpu,
                memory,
                tps,
                heap,
                hot_swap_errors: u32::try_from(hot_swap_errors)
                    .map_err(|_| Error::IllegalArgument("hotSwapErrors must not be negative".into()))?,
            },
            sync_error: sync_error.as_ref(),
        };
        let handle = if node_id.is_null() {
            NodeHandle::from_raw(node as u64)
        } else {
            e.node_handle(Ascii::new().read(env, "nodeId", &node_id)?)?
        };
        match e.receive(handle, &hb)? {
            Received::Accepted(directive) => Ok(records::directive(env, directive)?.into_raw()),
            // An expected outcome, with no message built for it: returned,
            // and thrown by the Java side.
            Received::Stale => Ok(crate::error::stale_heartbeat(env)?.into_raw()),
        }
    })
}

/// A hash from the four little-endian words `HeartbeatBatch.hashWords` gives.
fn hash_from_words(words: [jlong; 4]) -> ContentHash {
    let mut bytes = [0u8; 32];
    for (chunk, word) in bytes.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    ContentHash(bytes)
}

thread_local! {
    /// The last runtime version text this thread parsed: a fleet reports few
    /// distinct versions, so most heartbeats skip the semver parse.
    static LAST_VERSION: Cell<Memo<32, RuntimeVersion>> = const { Cell::new(Memo::EMPTY) };
    /// The last applied hash this thread parsed: in steady state a node
    /// reports the desired hash heartbeat after heartbeat.
    static LAST_HASH: Cell<Memo<64, ContentHash>> = const { Cell::new(Memo::EMPTY) };
}

/// `ProcessStatus.ordinal()`, which is the engine's wire value.
fn process_status(ordinal: jint) -> Result<ProcessStatus> {
    u8::try_from(ordinal)
        .ok()
        .and_then(ProcessStatus::from_u8)
        .ok_or_else(|| Error::IllegalArgument(format!("no process status {ordinal}")))
}

/// `FleetEngine.cohesion(cluster)`: at the engine clock's now, a few counter reads.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_cohesion0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    cluster: JString<'l>,
) -> jint {
    with_engine(&mut env, engine, |env, e| Ok(jint::from(e.cohesion(Ascii::new().read(env, "cluster", &cluster)?)?)))
}

ask_at_native! {
    /// `FleetEngine.cluster(id, nowMs)`.
    Java_dev_fleetgov_FleetEngine_cluster0("id", "nowMs") -> jobject = Engine::cluster, records::cluster_view
}

ask_at_native! {
    /// `FleetEngine.node(id, nowMs)`.
    Java_dev_fleetgov_FleetEngine_node0("id", "nowMs") -> jobject = Engine::node, records::node_view
}

/// `FleetEngine.clusterNodes(cluster, nowMs, offset, limit)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_clusterNodes0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    cluster: JString<'l>,
    now_ms: jlong,
    offset: jint,
    limit: jint,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let (Ok(offset), Ok(limit)) = (usize::try_from(offset), usize::try_from(limit)) else {
            return Err(Error::IllegalArgument("offset and limit must not be negative".into()));
        };
        let cluster = convert::string(env, "cluster", &cluster)?;
        let views = e.cluster_nodes(&cluster, convert::unsigned("nowMs", now_ms)?, offset, limit)?;
        Ok(records::node_views(env, &views)?.into_raw())
    })
}

ask_at_native! {
    /// `FleetEngine.fleet(workspace, nowMs)`: the inventory as Java records.
    Java_dev_fleetgov_FleetEngine_fleet0("workspace", "nowMs") -> jobject = Engine::fleet, records::fleet_inventory
}

ask_at_native! {
    /// `FleetEngine.fleetJson(workspace, nowMs)`: the inventory as JSON
    /// (camelCase, the fleet server's shape from `fleetgov-dto`).
    Java_dev_fleetgov_FleetEngine_fleetJson0("workspace", "nowMs") -> jstring = Engine::fleet, |env, inventory| {
        let json = serde_json::to_string(&fleetgov_dto::FleetInventoryJson::from(inventory.clone()))?;
        Ok(env.new_string(json)?.into())
    }
}

/// `FleetEngine.heartbeatBatch(ByteBuffer, ByteBuffer)`: applies the binary
/// heartbeat records in `records[r_offset..r_offset + r_len)` and writes one
/// outcome record each into `outcomes[o_offset..o_offset + o_len)`, both in
/// place; one JNI crossing for the whole batch.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments, reason = "a JNI entry point takes two buffer ranges flat")]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_heartbeatBatch0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    records: JByteBuffer<'l>,
    r_offset: jint,
    r_len: jint,
    outcomes: JByteBuffer<'l>,
    o_offset: jint,
    o_len: jint,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        // SAFETY: both buffers are reachable through their local references
        // for the call; `FleetEngine.heartbeatBatch` documents that no thread
        // may touch them meanwhile, and `disjoint` below rules out overlap
        // between the shared input and the exclusive output.
        let (input, output) = unsafe {
            let input = convert::direct_slice(env, "records", &records, r_offset, r_len)?;
            let output = convert::direct_slice_mut(env, "outcomes", &outcomes, o_offset, o_len)?;
            (input, output)
        };
        convert::disjoint("records", input, "outcomes", output)?;
        let summary = e.ingest_batch(input, output)?;
        Ok(records::batch_summary(env, &summary)?.into_raw())
    })
}

/// `FleetEngine.forceSync(ForceTarget, OverrideRequest)`: the target crosses
/// as its label (`node:<id>`, `cluster:<id>`, `workspace:<id>`, `fleet`),
/// read by the core's one parser. Returns the audit record.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_forceSync0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    target: JString<'l>,
    actor: JString<'l>,
    role: JString<'l>,
    justification: JString<'l>,
    at_ms: jlong,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let label = convert::string(env, "target", &target)?;
        let target = ForceTarget::from_label(&label)
            .ok_or_else(|| Error::IllegalArgument(format!("{label:?} names no force target")))?;
        let actor = convert::string(env, "actor", &actor)?;
        let role = Role::parse(&convert::string(env, "role", &role)?)?;
        let justification = convert::string(env, "justification", &justification)?;
        let by = Override::new(&actor, role, &justification, convert::unsigned("atMs", at_ms)?);
        let record = e.force_sync(target, &by)?;
        Ok(records::audit_record(env, &record)?.into_raw())
    })
}

/// `FleetEngine.unenroll(node, actor, role, atMs)`: removes the node from
/// its cluster (audited). Returns the audit record.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_unenroll0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    node: JString<'l>,
    actor: JString<'l>,
    role: JString<'l>,
    at_ms: jlong,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let node = convert::string(env, "node", &node)?;
        let actor = convert::string(env, "actor", &actor)?;
        let role = Role::parse(&convert::string(env, "role", &role)?)?;
        let record = e.unenroll(&node, &fleetgov::By::new(&actor, role, convert::unsigned("atMs", at_ms)?))?;
        Ok(records::audit_record(env, &record)?.into_raw())
    })
}

/// `FleetEngine.events(fromSeq)` and `FleetEngine.events()`: a new
/// `EventStream`'s handle, reading from event `from` (negative: from the next event).
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_events0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    from: jlong,
) -> jlong {
    with_engine(&mut env, engine, |_, e| crate::events::open(e, u64::try_from(from).ok()))
}

/// `FleetEngine.workspace(id)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_workspace0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    id: JString<'l>,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let spec = e.workspace(&convert::string(env, "id", &id)?)?;
        Ok(records::workspace_spec(env, &spec)?.into_raw())
    })
}

/// `FleetEngine.clusterIds()`: in creation order.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_clusterIds0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
) -> jobject {
    with_engine(&mut env, engine, |env, e| {
        let ids = e.cluster_ids();
        Ok(crate::construct::list(env, ids.iter(), |env, id| Ok(env.new_string(id)?.into()))?.into_raw())
    })
}

/// `FleetEngine.fleetConfigJson(workspace)`: what a runtime of the workspace
/// pulls (distribution mode, paths, authority mode, active policies, each
/// cluster's desired snapshot) as JSON.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_fleetgov_FleetEngine_fleetConfigJson0<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    engine: jlong,
    workspace: JString<'l>,
) -> jstring {
    with_engine(&mut env, engine, |env, e| {
        let config = e.fleet_config(&convert::string(env, "workspace", &workspace)?)?;
        let json = serde_json::to_string(&fleetgov_dto::FleetConfigJson::from(&config))?;
        Ok(env.new_string(json)?.into_raw())
    })
}
