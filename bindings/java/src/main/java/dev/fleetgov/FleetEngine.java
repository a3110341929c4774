package dev.fleetgov;

import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Instant;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The fleet-governance engine, embedded in a JVM control plane: what every gateway node
 * should run (published, content-hashed snapshots) beside what it does run (what it reports
 * it applied, with the hash it computed itself), with drift, cohesion, health and root causes
 * kept up to date as heartbeats arrive.
 *
 * <p>Thread-safe: every method may be called from many threads at once. {@link #close()}
 * waits for calls in flight, frees the native engine once, and makes every later call throw
 * {@link IllegalStateException}. Times are unix milliseconds and are arguments, so tests
 * never sleep.
 *
 * <pre>{@code
 * try (FleetEngine engine = new FleetEngine()) {
 *     engine.upsertWorkspace(WorkspaceSpec.of("ws-1"));
 *     engine.upsertCluster(ClusterSpec.of("eks-prod-us", "ws-1", Environment.PRODUCTION));
 *     Snapshot s = engine.publish("eks-prod-us", config, "alice", now);
 *     long gw = engine.enroll("gw-1", "eks-prod-us", now);
 *     engine.heartbeat(gw, Heartbeat.at(now, "3.5.0").withApplied(s.id(), s.hash()));
 *     assert engine.cluster("eks-prod-us", now).cohesion() == 100;
 * }
 * }</pre>
 */
public final class FleetEngine extends NativeHandle {
    static {
        NativeLibrary.load();
    }

    /**
     * How to build an engine: immutable, built from {@link #defaults()} with {@code with*}
     * methods.
     *
     * <pre>{@code
     * FleetEngine engine = new FleetEngine(FleetEngine.Options.defaults()
     *         .withManualClock(1_000)
     *         .withDataDir(Path.of("/var/lib/fleetgov")));
     * }</pre>
     */
    public static final class Options {
        /** The engine's default capacity: 2^24 nodes. */
        public static final long DEFAULT_CAPACITY = 1L << 24;
        /** The default name of the log in signed checkpoints. */
        public static final String DEFAULT_ORIGIN = "fleetgov";
        /** The change feed's default size: 2^16 events. */
        public static final int DEFAULT_FEED_CAPACITY = 1 << 16;

        /**
         * The settings. Written only while a with* method makes a new copy; the final field
         * publishes them safely with the Options that holds them.
         */
        private static final class Fields {
            long capacity = DEFAULT_CAPACITY;
            OptionalLong manualClockMs = OptionalLong.empty();
            Path auditLog;
            Path dataDir;
            /** 0: the engine's default, as for the two below. */
            long journalIntervalMs;
            long checkpointIntervalMs;
            long journalSegmentLength;
            /** 0: the engine's default, 30 days. */
            long retentionMs;
            byte[] signingSeed;
            String origin = DEFAULT_ORIGIN;
            int feedCapacity = DEFAULT_FEED_CAPACITY;

            Fields copy() {
                Fields c = new Fields();
                c.capacity = capacity;
                c.manualClockMs = manualClockMs;
                c.auditLog = auditLog;
                c.dataDir = dataDir;
                c.journalIntervalMs = journalIntervalMs;
                c.checkpointIntervalMs = checkpointIntervalMs;
                c.journalSegmentLength = journalSegmentLength;
                c.retentionMs = retentionMs;
                c.signingSeed = signingSeed;
                c.origin = origin;
                c.feedCapacity = feedCapacity;
                return c;
            }
        }

        private final Fields f;

        private Options(Fields f) {
            this.f = f;
        }

        /** These options with one setting changed by {@code change}. */
        private Options with(Consumer<Fields> change) {
            Fields c = f.copy();
            change.accept(c);
            return new Options(c);
        }

        /**
         * The default capacity, the system clock, everything in memory and a signing key
         * generated for the engine's lifetime.
         *
         * @return the options
         */
        public static Options defaults() {
            return new Options(new Fields());
        }

        /** The largest capacity, in nodes: 4,294,967,295 (node slots are 32-bit). */
        public static final long MAX_CAPACITY = 0xFFFF_FFFFL;

        /**
         * These options with another capacity: the engine holds exactly {@code nodes} nodes (the
         * default is 16,777,216); enrolling one more is {@code FleetException(INVALID_INPUT)}
         * naming this method. Memory grows as nodes enrol, in chunks of 65,536 node slots.
         *
         * @param nodes the most nodes the engine will hold, 1 to {@link #MAX_CAPACITY}
         * @return new options
         * @throws IllegalArgumentException if {@code nodes} is out of that range
         */
        public Options withCapacity(long nodes) {
            if (nodes < 1 || nodes > MAX_CAPACITY) {
                // The engine's own wording, as Python reports it.
                throw new IllegalArgumentException(
                        "capacity is " + nodes + " nodes; it must be between 1 and " + MAX_CAPACITY);
            }
            return with(c -> c.capacity = nodes);
        }

        /**
         * These options with a manual clock starting at {@code ms}; the clock is used only to
         * reject heartbeats from the far future.
         *
         * @param ms unix ms
         * @return new options
         */
        public Options withManualClock(long ms) {
            return with(c -> c.manualClockMs = OptionalLong.of(Args.time("manualClockMs", ms)));
        }

        /**
         * {@link #withManualClock(long)} starting at an {@link Instant}.
         *
         * @param t the clock's first reading
         * @return new options
         * @throws IllegalArgumentException if {@code t} is null or before 1970
         */
        public Options withManualClock(Instant t) {
            return withManualClock(Args.millis("t", t));
        }

        /**
         * These options with a durable audit log at {@code path}, and nothing else durable:
         * opened (verified, a torn tail cut) and replayed to restore the authority state if it
         * exists, created otherwise; checkpoints are signed with the ed25519 key from
         * {@code signingSeed} so they verify across restarts. {@link #withDataDir} keeps more.
         *
         * @param path the log file
         * @param signingSeed 32 bytes, or null for a key generated per engine
         * @return new options
         */
        public Options withAuditLog(Path path, byte @Nullable [] signingSeed) {
            if (signingSeed != null && signingSeed.length != 32) {
                throw new IllegalArgumentException("signingSeed must be 32 bytes, got " + signingSeed.length);
            }
            Path log = Args.present("path", path);
            byte[] seed = signingSeed == null ? null : signingSeed.clone();
            return with(c -> {
                c.auditLog = log;
                c.signingSeed = seed;
            });
        }

        /**
         * These options with a data directory: a durable engine. The directory keeps the audit
         * log, the signing key (made once, so {@link FleetEngine#checkpointVerifierKey()} never
         * changes), every enrolment, the journal of what each node ran and every node's last
         * report; an engine opened on it again restores them all, so cohesion, node views and
         * {@link FleetEngine#whatRan}, {@link FleetEngine#history} and {@link FleetEngine#attest}
         * about times before the restart answer as before. An authority change, override or
         * enrolment is on disk before its call returns; a crash loses at most the transitions
         * of the last journal interval and the heartbeat times and metrics since the last
         * checkpoint of node state. Exclusive with {@link #withAuditLog}: the engine's
         * constructor refuses both ({@code INVALID_INPUT}).
         *
         * @param dir the directory, created if absent
         * @return new options
         */
        public Options withDataDir(Path dir) {
            return with(c -> c.dataDir = Args.present("dir", dir));
        }

        /**
         * These options with another journal interval: how often the data directory's journal
         * writer makes new transitions durable (group commit). Needs {@link #withDataDir}.
         *
         * @param interval at least 1 ms (default 200 ms)
         * @return new options
         */
        public Options withJournalInterval(Duration interval) {
            return with(c -> c.journalIntervalMs = millis("journal interval", interval));
        }

        /**
         * These options with another checkpoint interval: how often every node's last report is
         * checkpointed in the data directory (it also is when the engine is closed). Needs
         * {@link #withDataDir}.
         *
         * @param interval at least 1 ms (default 60 s)
         * @return new options
         */
        public Options withCheckpointInterval(Duration interval) {
            return with(c -> c.checkpointIntervalMs = millis("checkpoint interval", interval));
        }

        /**
         * These options with another journal segment length: every this many transitions the
         * journal segment is sealed, its hash committed to the audit log (a {@code SEAL_JOURNAL}
         * record). Needs {@link #withDataDir}.
         *
         * @param transitions at least 1 (default 2^20)
         * @return new options
         */
        public Options withJournalSegmentLength(long transitions) {
            if (transitions <= 0) {
                throw new IllegalArgumentException("journal segment length must be positive, got " + transitions);
            }
            return with(c -> c.journalSegmentLength = transitions);
        }

        /**
         * These options with another retention: how long the execution history is kept. What ran
         * before the engine's clock less this throws {@code HistoryUnavailableException} naming the
         * horizon, and the journal is compacted behind it (each node's last transition before the
         * horizon is kept, so every answer within it stays exact; with a data directory the
         * sealed journal segments before it are replaced by one file of those transitions).
         *
         * @param retention at least 1 ms (default 30 days)
         * @return new options
         */
        public Options withRetention(Duration retention) {
            return with(c -> c.retentionMs = millis("retention", retention));
        }

        private static long millis(String what, Duration interval) {
            Args.present(what, interval);
            if (interval.isNegative() || interval.toMillis() < 1) {
                throw new IllegalArgumentException(what + " must be at least 1 ms, got " + interval);
            }
            return interval.toMillis();
        }

        /**
         * These options with another log name in signed checkpoints.
         *
         * @param name the origin line, e.g. {@code fleetgov.example/audit}
         * @return new options
         */
        public Options withOrigin(String name) {
            return with(c -> c.origin = Args.text("origin", name));
        }

        /**
         * These options with another change-feed size: how many events the feed holds for
         * {@link EventStream}s that fall behind (rounded up to a power of two, at least 2).
         *
         * <pre>{@code
         * FleetEngine small = new FleetEngine(FleetEngine.Options.defaults().withFeedCapacity(1024));
         * }</pre>
         *
         * @param events the most events held
         * @return new options
         */
        public Options withFeedCapacity(int events) {
            if (events <= 0) {
                throw new IllegalArgumentException("feedCapacity must be positive, got " + events);
            }
            return with(c -> c.feedCapacity = events);
        }

        /**
         * The change feed's size.
         *
         * @return the most events held for streams that fall behind
         */
        public int feedCapacity() {
            return f.feedCapacity;
        }

        /**
         * The capacity.
         *
         * @return the most nodes the engine will hold
         */
        public long capacity() {
            return f.capacity;
        }

        /**
         * The manual clock's start.
         *
         * @return unix ms, or empty for the system clock
         */
        public OptionalLong manualClockMs() {
            return f.manualClockMs;
        }

        /**
         * The durable audit log.
         *
         * @return its path, or empty for an in-memory log
         */
        public Optional<Path> auditLog() {
            return Optional.ofNullable(f.auditLog);
        }

        /**
         * The data directory.
         *
         * @return its path, or empty for an engine without one
         */
        public Optional<Path> dataDir() {
            return Optional.ofNullable(f.dataDir);
        }

        /**
         * The origin line of signed checkpoints.
         *
         * @return the name
         */
        public String origin() {
            return f.origin;
        }
    }

    private final boolean manualClock;
    /** The open event streams, closed with the engine. */
    private final Set<EventStream> streams = ConcurrentHashMap.newKeySet();
    /** The last few hashes and versions a single heartbeat parsed: repeated ones cross as numbers. */
    private final LastParsed lastParsed = new LastParsed();

    /** An in-memory engine with the default capacity on the system clock. */
    public FleetEngine() {
        this(Options.defaults());
    }

    /**
     * An engine built from {@code options}: in memory, with a durable audit log, or on a data
     * directory whose state it restores.
     *
     * @param options capacity, clock and where to keep state
     * @throws FleetException {@code CONFLICT} if another engine has the data directory open;
     *     {@code INVALID_INPUT} for both an audit log and a data directory, or a directory that
     *     is not an engine's; {@code AUDIT_TAMPERED} for a damaged log or journal; {@code IO} if
     *     a file cannot be read or written
     * @throws IllegalArgumentException for a journal or checkpoint setting without a data
     *     directory
     */
    public FleetEngine(Options options) {
        super(new0(
                checked(options).f.capacity,
                options.f.feedCapacity,
                options.f.manualClockMs.isPresent(),
                options.f.manualClockMs.orElse(0),
                options.f.auditLog == null ? null : options.f.auditLog.toString(),
                options.f.dataDir == null ? null : options.f.dataDir.toString(),
                options.f.journalIntervalMs,
                options.f.checkpointIntervalMs,
                options.f.journalSegmentLength,
                options.f.retentionMs,
                options.f.signingSeed,
                options.f.origin));
        this.manualClock = options.manualClockMs().isPresent();
    }

    private static Options checked(Options options) {
        Args.present("options", options);
        boolean cadence = options.f.journalIntervalMs != 0 || options.f.checkpointIntervalMs != 0
                || options.f.journalSegmentLength != 0;
        if (cadence && options.f.dataDir == null) {
            throw new IllegalArgumentException(
                    "the journal interval, checkpoint interval and segment length need a data directory");
        }
        return options;
    }

    @Override
    void dispose(long handle) {
        // Under the write lock: no events() call is in flight, so no stream is added meanwhile.
        for (EventStream stream : streams) {
            stream.close();
        }
        dispose0(handle);
    }

    /** Called by a stream as it is freed. */
    void forget(EventStream stream) {
        streams.remove(stream);
    }

    // ---- clock -------------------------------------------------------------------------

    /**
     * The engine's clock.
     *
     * @return unix ms now, by the engine's clock
     */
    public long clockMs() {
        long h = acquire();
        try {
            return clockMs0(h);
        } finally {
            release();
        }
    }

    /**
     * Moves the manual clock.
     *
     * @param ms unix ms
     * @throws IllegalStateException if the engine runs on the system clock
     */
    public void setClock(long ms) {
        Args.time("ms", ms);
        if (!manualClock) {
            throw new MisuseException("the engine runs on the system clock");
        }
        long h = acquire();
        try {
            setClock0(h, ms);
        } finally {
            release();
        }
    }

    /**
     * {@link #setClock(long)} to an {@link Instant}.
     *
     * @param t the new reading
     * @throws IllegalArgumentException if {@code t} is null or before 1970
     * @throws IllegalStateException if the engine runs on the system clock
     */
    public void setClock(Instant t) {
        setClock(Args.millis("t", t));
    }

    // ---- authority -----------------------------------------------------------------------

    /**
     * Creates or updates a workspace.
     *
     * @param spec the workspace
     * @throws FleetException {@code INVALID_INPUT} for a malformed id or version;
     *     {@code CONFLICT} when dev-override would cover a non-development cluster
     */
    public void upsertWorkspace(WorkspaceSpec spec) {
        Args.present("spec", spec);
        long h = acquire();
        try {
            upsertWorkspace0(h, spec.id(), spec.authorityMode().name(), spec.minRuntimeVersion());
        } finally {
            release();
        }
    }

    /**
     * The workspace {@code id} as it was declared.
     *
     * @param id the workspace id
     * @return its spec
     * @throws FleetException {@code NOT_FOUND} for an unknown workspace
     */
    public WorkspaceSpec workspace(String id) {
        Args.text("id", id);
        long h = acquire();
        try {
            return workspace0(h, id);
        } finally {
            release();
        }
    }

    /**
     * Every cluster id, in creation order.
     *
     * @return the ids
     */
    public List<String> clusterIds() {
        long h = acquire();
        try {
            return List.copyOf(clusterIds0(h));
        } finally {
            release();
        }
    }

    /**
     * What a runtime of the workspace pulls (distribution is pull), as JSON shaped like
     * {@code GET /api/v1/workspaces/{id}/fleet/config}: {@code distribution_mode},
     * {@code config_path}, {@code policies_path}, {@code authorityMode}, {@code activePolicies},
     * {@code cloudRules} and each cluster's desired snapshot.
     *
     * @param workspace the workspace id
     * @return a JSON object
     * @throws FleetException {@code NOT_FOUND} for an unknown workspace
     */
    public String fleetConfigJson(String workspace) {
        Args.text("workspace", workspace);
        long h = acquire();
        try {
            return fleetConfigJson0(h, workspace);
        } finally {
            release();
        }
    }

    /**
     * Creates or updates a cluster. Its workspace must exist and cannot change.
     *
     * @param spec the cluster
     * @throws FleetException {@code NOT_FOUND} for an unknown workspace; {@code CONFLICT} for a
     *     move to another workspace
     */
    public void upsertCluster(ClusterSpec spec) {
        Args.present("spec", spec);
        long h = acquire();
        try {
            upsertCluster0(h, spec.id(), spec.workspace(), spec.environment().name(), spec.ownerTeam(), spec.autoReconcile());
        } finally {
            release();
        }
    }

    /**
     * Publishes configuration bytes as the cluster's next snapshot and makes it the desired
     * state. The bytes are stored by their hash and can be fetched with {@link #artifact}.
     *
     * @param cluster the cluster id
     * @param config the configuration bytes
     * @param author who publishes: 1 to 256 UTF-8 bytes of visible text with no control
     *     character, stored unaltered
     * @param atMs when (unix ms)
     * @return the new snapshot
     * @throws FleetException {@code NOT_FOUND} for an unknown cluster; {@code INVALID_INPUT} for
     *     an author longer than 256 bytes, with a control character, without visible text, or
     *     holding a lone surrogate
     */
    public Snapshot publish(String cluster, byte[] config, String author, long atMs) {
        Args.text("cluster", cluster);
        Args.present("config", config);
        Args.text("author", author);
        Args.time("atMs", atMs);
        long h = acquire();
        try {
            return publish0(h, cluster, config, author, atMs);
        } finally {
            release();
        }
    }

    /**
     * {@link #publish(String, byte[], String, long)} at an {@link Instant}.
     *
     * @param cluster the cluster id
     * @param config the configuration bytes
     * @param author who publishes
     * @param at when
     * @return the new snapshot
     * @throws IllegalArgumentException if {@code at} is null or before 1970
     */
    public Snapshot publish(String cluster, byte[] config, String author, Instant at) {
        return publish(cluster, config, author, Args.millis("at", at));
    }

    /**
     * Publishes configuration bytes as the cluster's next snapshot, rolled out in the waves of
     * {@code plan}: the nodes of started waves should run it and are told to pull it, the others
     * keep the snapshot published before until their wave starts. Waves start, bake, halt and
     * roll back as {@link #rollout} shows, on heartbeats and on {@link #advanceRollouts}; the
     * publish record carries the plan. Audited as a publish by {@code author} (role operator).
     *
     * <pre>{@code
     * RolloutPlan plan = new RolloutPlan(List.of(10, 50, 100), 60_000, 5.0, true);
     * Snapshot v2 = engine.publish("eks-prod-us", "rate_limit: 800".getBytes(), "alice", now, plan);
     * RolloutView r = engine.rollout("eks-prod-us", now).orElseThrow();
     * assert r.state() == RolloutState.PROGRESSING && r.targetSnapshot().equals(v2.id());
     * }</pre>
     *
     * @param cluster the cluster id
     * @param config the configuration bytes
     * @param author who publishes, as for {@link #publish(String, byte[], String, long)}
     * @param atMs when (unix ms)
     * @param plan the waves, bake time and failure budget
     * @return the new snapshot, the rollout's target
     * @throws FleetException {@code NOT_FOUND} for an unknown cluster; {@code INVALID_INPUT} for
     *     a cluster with nothing published yet (nothing to roll out from) or an author breaking
     *     its rules
     */
    public Snapshot publish(String cluster, byte[] config, String author, long atMs, RolloutPlan plan) {
        Args.text("cluster", cluster);
        Args.present("config", config);
        Args.text("author", author);
        Args.time("atMs", atMs);
        Args.present("plan", plan);
        long h = acquire();
        try {
            return publishRollout0(h, cluster, config, author, atMs, plan.percents(), plan.bakeMs(),
                    plan.maxFailurePct(), plan.autoRollback());
        } finally {
            release();
        }
    }

    /**
     * {@link #publish(String, byte[], String, long, RolloutPlan)} at an {@link Instant}.
     *
     * @param cluster the cluster id
     * @param config the configuration bytes
     * @param author who publishes
     * @param at when
     * @param plan the waves, bake time and failure budget
     * @return the new snapshot
     * @throws IllegalArgumentException if {@code at} is null or before 1970
     */
    public Snapshot publish(String cluster, byte[] config, String author, Instant at, RolloutPlan plan) {
        return publish(cluster, config, author, Args.millis("at", at), plan);
    }

    /**
     * Publishes the remaining bytes of {@code config} (position to limit); a direct buffer is
     * read in place and must not be written while this runs. The position is not changed.
     *
     * @param cluster the cluster id
     * @param config the configuration bytes
     * @param author who publishes, as for {@link #publish(String, byte[], String, long)}
     * @param atMs when (unix ms)
     * @return the new snapshot
     */
    public Snapshot publish(String cluster, ByteBuffer config, String author, long atMs) {
        Args.present("config", config);
        if (!config.isDirect()) {
            byte[] copy = new byte[config.remaining()];
            config.duplicate().get(copy);
            return publish(cluster, copy, author, atMs);
        }
        Args.text("cluster", cluster);
        Args.text("author", author);
        Args.time("atMs", atMs);
        long h = acquire();
        try {
            return publishDirect0(h, cluster, config, config.position(), config.remaining(), author, atMs);
        } finally {
            release();
        }
    }

    /**
     * The snapshot {@code id} ({@code <cluster>@r<revision>}).
     *
     * @param id the snapshot id
     * @return the snapshot
     * @throws FleetException {@code NOT_FOUND} if there is none
     */
    public Snapshot snapshot(String id) {
        Args.text("id", id);
        long h = acquire();
        try {
            return snapshot0(h, id);
        } finally {
            release();
        }
    }

    /**
     * The desired snapshot of a cluster.
     *
     * @param cluster the cluster id
     * @return the snapshot, or null if nothing was published
     * @throws FleetException {@code NOT_FOUND} for an unknown cluster
     */
    public @Nullable Snapshot desired(String cluster) {
        Args.text("cluster", cluster);
        long h = acquire();
        try {
            return desired0(h, cluster);
        } finally {
            release();
        }
    }

    /**
     * The published configuration bytes with this hash: what a runtime pulls.
     *
     * @param hash 64 hex characters
     * @return a copy of the bytes
     * @throws FleetException {@code INVALID_INPUT} for a malformed hash, {@code NOT_FOUND} if no
     *     snapshot has these bytes
     */
    public byte[] artifact(String hash) {
        Args.text("hash", hash);
        long h = acquire();
        try {
            return artifact0(h, hash);
        } finally {
            release();
        }
    }

    // ---- execution -----------------------------------------------------------------------

    /**
     * Enrolls a node in a cluster. Enrolling again in the same cluster returns the same handle.
     *
     * @param node the node id
     * @param cluster the cluster id
     * @param atMs when (unix ms)
     * @return the node's handle, for {@link #heartbeat(long, Heartbeat)}; valid for this engine only
     * @throws FleetException {@code NOT_FOUND} for an unknown cluster; {@code CONFLICT} if the
     *     node is enrolled in another cluster
     */
    public long enroll(String node, String cluster, long atMs) {
        Args.text("node", node);
        Args.text("cluster", cluster);
        Args.time("atMs", atMs);
        long h = acquire();
        try {
            return enroll0(h, node, cluster, atMs);
        } finally {
            release();
        }
    }

    /**
     * Removes a node from its cluster, as {@code actor} in {@code role} asks: it leaves the
     * cluster's counts and members, and its heartbeats, by id or by its old handle, throw
     * {@code NOT_FOUND} until it is enrolled again (with a new handle). The removal is written
     * to the audit log ({@link AuditAction#REMOVE_NODE}) before it takes effect and, with a data
     * directory, is durable before this returns.
     *
     * <pre>{@code
     * AuditRecord removed = engine.unenroll("gw-1", "olga", Role.OPERATOR, now);
     * }</pre>
     *
     * @param node the node id
     * @param actor who removes it (1 to 256 UTF-8 bytes of visible text)
     * @param role the role they act in: operator or admin
     * @param atMs when (unix ms)
     * @return the audit record of the removal
     * @throws PermissionDeniedException for a viewer
     * @throws FleetException {@code NOT_FOUND} for a node that is not enrolled;
     *     {@code INVALID_INPUT} for an actor breaking its rules
     */
    public AuditRecord unenroll(String node, String actor, Role role, long atMs) {
        Args.text("node", node);
        Args.actor("actor", actor);
        Args.present("role", role);
        Args.time("atMs", atMs);
        long h = acquire();
        try {
            return unenroll0(h, node, actor, role.name(), atMs);
        } finally {
            release();
        }
    }

    /**
     * {@link #enroll(String, String, long)} at an {@link Instant}.
     *
     * @param node the node id
     * @param cluster the cluster id
     * @param at when
     * @return the node's handle
     * @throws IllegalArgumentException if {@code at} is null or before 1970
     */
    public long enroll(String node, String cluster, Instant at) {
        return enroll(node, cluster, Args.millis("at", at));
    }

    /**
     * Enrolls every node of {@code nodes} in its cluster, as {@link #enroll} would one by one,
     * and returns their handles in order. Every enrolment is checked first (ids, clusters, a
     * node enrolled or listed in another cluster, capacity): on a refusal nothing is enrolled.
     * With a data directory the new enrolments share one write to disk.
     *
     * <pre>{@code
     * long[] handles = engine.enrollMany(List.of(new Enrolment("gw-1", "eks-prod-us"),
     *         new Enrolment("gw-2", "eks-prod-us")), now);
     * }</pre>
     *
     * @param nodes the enrolments
     * @param atMs when (unix ms)
     * @return the nodes' handles, in the order of {@code nodes}
     * @throws FleetException {@code NOT_FOUND} for an unknown cluster; {@code CONFLICT} for a
     *     node enrolled in another cluster or listed in two; {@code INVALID_INPUT} for a
     *     malformed id or too many nodes
     */
    public long[] enrollMany(List<Enrolment> nodes, long atMs) {
        Args.present("nodes", nodes);
        Args.time("atMs", atMs);
        String[] ids = new String[nodes.size()];
        String[] clusters = new String[ids.length];
        for (int i = 0; i < ids.length; i++) {
            Enrolment n = Args.present("nodes[" + i + "]", nodes.get(i));
            ids[i] = n.node();
            clusters[i] = n.cluster();
        }
        long h = acquire();
        try {
            return enrollMany0(h, ids, clusters, atMs);
        } finally {
            release();
        }
    }

    /**
     * The handle of an enrolled node.
     *
     * @param node the node id
     * @return its handle
     * @throws FleetException {@code NOT_FOUND} if it is not enrolled
     */
    public long nodeHandle(String node) {
        Args.text("node", node);
        long h = acquire();
        try {
            return nodeHandle0(h, node);
        } finally {
            release();
        }
    }

    /**
     * Records a heartbeat of the node behind {@code node} (a handle from {@link #enroll}) and
     * answers with a directive. Steady-state heartbeats touch only the node's own state.
     *
     * @param node the node's handle
     * @param hb the heartbeat
     * @return what the node must do, or null for nothing
     * @throws StaleHeartbeatException for a heartbeat older than the node's last (ignored): an
     *     expected outcome under reordering, thrown as one preallocated instance without a stack
     *     trace, so it costs no more than an accepted heartbeat
     * @throws FleetException {@code FUTURE_HEARTBEAT} for one more than 5 minutes ahead of the
     *     engine's clock; {@code INVALID_INPUT} for a bad hash, version, metric or handle
     */
    public @Nullable Directive heartbeat(long node, Heartbeat hb) {
        return heartbeat(node, null, Args.present("hb", hb));
    }

    /**
     * {@link #heartbeat(long, Heartbeat)} by node id (one lookup more).
     *
     * @param node the node id
     * @param hb the heartbeat
     * @return what the node must do, or null for nothing
     * @throws FleetException {@code NOT_FOUND} if the node is not enrolled, and as
     *     {@link #heartbeat(long, Heartbeat)}
     */
    public @Nullable Directive heartbeat(String node, Heartbeat hb) {
        return heartbeat(0, Args.text("node", node), Args.present("hb", hb));
    }

    private @Nullable Directive heartbeat(long node, @Nullable String nodeId, Heartbeat hb) {
        Metrics m = hb.metrics();
        SyncError e = hb.syncError();
        // The hash and version as numbers when they parse here (the steady state); otherwise as
        // text, which the native side parses and reports on as it always did.
        LastParsed.Hash hash = lastParsed.hash(hb.appliedHash());
        int versionBits = lastParsed.versionBits(hb.runtimeVersion());
        Object answer;
        long h = acquire();
        try {
            answer = heartbeat0(h, node, nodeId, hb.atMs(), hb.appliedSnapshot(), hash.text(), hash.asWords(),
                    hash.w0(), hash.w1(), hash.w2(), hash.w3(), versionBits == 0 ? hb.runtimeVersion() : null,
                    versionBits, hb.status().ordinal(), m.cpu(), m.memory(), m.tps(), m.heap(),
                    m.hotSwapErrors(), e == null ? null : e.toString());
        } finally {
            release();
        }
        // A stale heartbeat comes back as the preallocated exception, not thrown natively: a
        // throw from Java costs far less than a pending exception crossing back from JNI.
        if (answer instanceof StaleHeartbeatException stale) {
            throw stale;
        }
        return (Directive) answer;
    }

    /**
     * Applies a batch of binary heartbeat records in one JNI crossing and writes one outcome
     * record per heartbeat record into the batch. A malformed record fails the whole batch
     * with {@code INVALID_INPUT} naming its index, and nothing of it is applied; otherwise
     * every record gets its own outcome (stale, future and unknown-node records are refused
     * one by one, not thrown). Large batches are spread over the engine's worker threads.
     *
     * @param batch the records
     * @return the counts of the outcomes
     */
    public BatchSummary heartbeatBatch(HeartbeatBatch batch) {
        Args.present("batch", batch);
        int n = batch.size();
        long h = acquire();
        try {
            BatchSummary summary = heartbeatBatch0(h, batch.records(), 0, n * HeartbeatBatch.RECORD_SIZE,
                    batch.outcomes(), 0, n * HeartbeatBatch.OUTCOME_SIZE);
            batch.ingested();
            return summary;
        } finally {
            release();
        }
    }

    /**
     * Applies a batch of heartbeat records named by node id in one JNI crossing, as {@link
     * #heartbeatBatch(HeartbeatBatch)} applies records by handle, and writes one outcome per
     * record into the batch. A malformed record or id fails the whole batch with {@code
     * INVALID_INPUT} naming its index, and nothing of it is applied; an id of no enrolled node is
     * refused at its record alone ({@link BatchOutcome#UNKNOWN_NODE}). A node's records are
     * applied in batch order; large batches are spread over the engine's worker threads.
     *
     * @param batch the records and their ids
     * @return the counts of the outcomes
     */
    public BatchSummary heartbeatBatch(HeartbeatBatchById batch) {
        Args.present("batch", batch);
        HeartbeatBatch records = batch.records();
        int n = records.size();
        long h = acquire();
        try {
            BatchSummary summary = heartbeatBatchById0(h, records.records(), n * HeartbeatBatch.RECORD_SIZE,
                    records.outcomes(), n * HeartbeatBatch.OUTCOME_SIZE, batch.offsets(), (n + 1) * Integer.BYTES,
                    batch.ids(), batch.idLength());
            records.ingested();
            return summary;
        } finally {
            release();
        }
    }

    /**
     * {@link #heartbeatBatch(HeartbeatBatch)} over buffers the caller fills itself (from the
     * network, say): the records are the remaining bytes of {@code records} (a whole number of
     * {@value HeartbeatBatch#RECORD_SIZE}-byte records in the format described at
     * {@link HeartbeatBatch}), and one {@value HeartbeatBatch#OUTCOME_SIZE}-byte outcome per
     * record is written from {@code outcomes}' position. Both must be direct, must not overlap,
     * and must not be touched by another thread during the call; neither position moves.
     *
     * @param records the heartbeat records
     * @param outcomes room for the outcome records
     * @return the counts of the outcomes
     * @throws FleetException {@code INVALID_INPUT} for a malformed record or a too small
     *     outcome buffer
     * @throws IllegalArgumentException for a heap buffer or overlapping buffers
     */
    public BatchSummary heartbeatBatch(ByteBuffer records, ByteBuffer outcomes) {
        Args.direct("records", records);
        Args.direct("outcomes", outcomes);
        if (outcomes.isReadOnly()) {
            throw new IllegalArgumentException("outcomes must be writable");
        }
        long h = acquire();
        try {
            return heartbeatBatch0(h, records, records.position(), records.remaining(),
                    outcomes, outcomes.position(), outcomes.remaining());
        } finally {
            release();
        }
    }

    // ---- change feed ------------------------------------------------------------------

    /**
     * A stream of the changes from the next one on: node transitions, cluster counters and
     * audit records, in order (see {@link FleetEvent}). Close it when done; closing the engine
     * closes it too.
     *
     * <pre>{@code
     * import java.time.Duration;
     *
     * try (EventStream events = engine.events()) {
     *     FleetEvent e = events.poll(Duration.ofMillis(200)); // null if nothing changed
     * }
     * }</pre>
     *
     * @return the stream
     */
    public EventStream events() {
        return open(-1);
    }

    /**
     * A stream of the changes from sequence number {@code fromSeq} on: to resume where an
     * earlier stream stopped ({@link EventStream#position()}). Events the feed no longer holds
     * are reported as one {@link FleetEvent.Lagged}. The engine records changes only while some
     * stream is open, so keep one open to resume without gaps.
     *
     * <pre>{@code
     * long resumeAt;
     * try (EventStream first = engine.events()) {
     *     first.poll(java.time.Duration.ZERO);
     *     resumeAt = first.position();
     * }
     * try (EventStream again = engine.events(resumeAt)) {
     *     FleetEvent next = again.poll(java.time.Duration.ZERO);
     * }
     * }</pre>
     *
     * @param fromSeq the sequence number of the first event to read
     * @return the stream
     * @throws IllegalArgumentException for a negative {@code fromSeq}
     * @throws FleetException {@code INVALID_INPUT} if {@code fromSeq} is ahead of the feed
     */
    public EventStream events(long fromSeq) {
        if (fromSeq < 0) {
            throw new IllegalArgumentException("fromSeq must not be negative, got " + fromSeq);
        }
        return open(fromSeq);
    }

    private EventStream open(long fromSeq) {
        long h = acquire();
        try {
            EventStream stream = new EventStream(events0(h, fromSeq), this);
            streams.add(stream);
            return stream;
        } finally {
            release();
        }
    }

    // ---- governance -------------------------------------------------------------------

    /**
     * Forces {@code target} to resync to its authority: its nodes are answered with a
     * {@link DirectiveKind#FORCE_SYNC} directive on their next heartbeat. The override is
     * written to the audit log before it takes effect; if anything is refused, nothing is
     * recorded and nothing changes.
     *
     * <p>The actor is 1 to 256 UTF-8 bytes of visible text, the justification at most 4096
     * UTF-8 bytes holding visible text; neither may hold a control character (C0, DEL, C1,
     * NUL and line breaks included) or a lone surrogate. <em>Visible</em> means at least one
     * character that is not white space, not a control and not a format character: a
     * justification of only U+200B, U+00A0, U+3000 or
     * U+FEFF says nothing. Both are recorded exactly as given, never trimmed or
     * replaced.
     *
     * @param target a node, a cluster (operator or admin), a workspace or the fleet (admin)
     * @param by who asks, in which role, why and when
     * @return the audit record of the override
     * @throws JustificationRequiredException if the justification has no visible text
     * @throws FleetException {@code INVALID_INPUT} for a justification longer than 4096 bytes,
     *     one with a control character or a lone surrogate, or an actor breaking its rules
     * @throws PermissionDeniedException for a viewer, or an operator asking for a global overwrite
     * @throws FleetException {@code NOT_FOUND} for an unknown target
     */
    public AuditRecord forceSync(ForceTarget target, OverrideRequest by) {
        Args.present("target", target);
        Args.present("by", by);
        long h = acquire();
        try {
            return forceSync0(h, target.label(), by.actor(), by.role().name(), by.justification(), by.atMs());
        } finally {
            release();
        }
    }

    /**
     * A global overwrite of one workspace: {@code forceSync(ForceTarget.workspace(workspace), by)}.
     * Admins only.
     *
     * @param workspace the workspace id
     * @param by who asks (an admin), why and when; actor and justification follow the rules of
     *     {@link #forceSync}
     * @return the audit record of the override
     * @throws JustificationRequiredException if the justification has no visible text
     * @throws FleetException {@code INVALID_INPUT} for a justification or actor breaking the
     *     rules of {@link #forceSync}
     * @throws PermissionDeniedException unless the role is {@link Role#ADMIN}
     * @throws FleetException {@code NOT_FOUND} for an unknown workspace
     */
    public AuditRecord forceGlobal(String workspace, OverrideRequest by) {
        return forceSync(ForceTarget.workspace(workspace), by);
    }

    // ---- rollouts ---------------------------------------------------------------------

    /**
     * The rollout of a cluster at {@code nowMs}: its state, waves, nodes on the target and
     * failures against the budget.
     *
     * <pre>{@code
     * engine.rollout("eks-prod-us", now).ifPresent(r ->
     *         System.out.println(r.state() + ": " + r.onTarget() + "/" + r.nodesStarted() + " on target"));
     * }</pre>
     *
     * @param cluster the cluster id
     * @param nowMs the query time (unix ms)
     * @return the rollout, or empty when the cluster never had one
     * @throws FleetException {@code NOT_FOUND} for an unknown cluster
     */
    public Optional<RolloutView> rollout(String cluster, long nowMs) {
        Args.text("cluster", cluster);
        Args.time("nowMs", nowMs);
        long h = acquire();
        try {
            return Optional.ofNullable(rollout0(h, cluster, nowMs));
        } finally {
            release();
        }
    }

    /**
     * {@link #rollout(String, long)} at an {@link Instant}.
     *
     * @param cluster the cluster id
     * @param now the query time
     * @return the rollout, or empty when the cluster never had one
     * @throws IllegalArgumentException if {@code now} is null or before 1970
     */
    public Optional<RolloutView> rollout(String cluster, Instant now) {
        return rollout(cluster, Args.millis("now", now));
    }

    /**
     * Evaluates the gates of every active rollout at {@code nowMs} (a bake may have ended with
     * no heartbeat to notice it): waves start, rollouts halt, roll back or complete, each with
     * its audit record. Call it on a timer.
     *
     * <pre>{@code
     * long steps = engine.advanceRollouts(System.currentTimeMillis());
     * }</pre>
     *
     * @param nowMs the time (unix ms)
     * @return how many steps were taken
     */
    public long advanceRollouts(long nowMs) {
        Args.time("nowMs", nowMs);
        long h = acquire();
        try {
            return advanceRollouts0(h, nowMs);
        } finally {
            release();
        }
    }

    /**
     * {@link #advanceRollouts(long)} at an {@link Instant}.
     *
     * @param now the time
     * @return how many steps were taken
     * @throws IllegalArgumentException if {@code now} is null or before 1970
     */
    public long advanceRollouts(Instant now) {
        return advanceRollouts(Args.millis("now", now));
    }

    /**
     * Pauses the rollout of a cluster: no wave starts and the started waves' nodes get no
     * directive until it is resumed. Like {@link #forceSync}, it needs an operator or admin and a
     * justification with visible text, and is audited ({@link AuditAction#ROLLOUT}) before it
     * takes effect.
     *
     * <pre>{@code
     * engine.pauseRollout("eks-prod-us", new OverrideRequest("bob", Role.OPERATOR, "canary latency is up", now));
     * }</pre>
     *
     * @param cluster the cluster id
     * @param by who asks, in which role, why and when
     * @return the audit record of the action
     * @throws JustificationRequiredException if the justification has no visible text
     * @throws PermissionDeniedException for a viewer
     * @throws FleetException {@code NOT_FOUND} for an unknown cluster or one that never had a
     *     rollout; {@code CONFLICT} unless the rollout is progressing or baking;
     *     {@code INVALID_INPUT} for an actor or justification breaking the rules of
     *     {@link #forceSync}
     */
    public AuditRecord pauseRollout(String cluster, OverrideRequest by) {
        return actOnRollout("pause", cluster, by);
    }

    /**
     * Resumes a paused or halted rollout (a halted one halts again unless its failures fell
     * within the budget); as {@link #pauseRollout}.
     *
     * @param cluster the cluster id
     * @param by who asks, in which role, why and when
     * @return the audit record of the action
     * @throws JustificationRequiredException if the justification has no visible text
     * @throws PermissionDeniedException for a viewer
     * @throws FleetException {@code NOT_FOUND} without a rollout; {@code CONFLICT} unless it is
     *     paused or halted
     */
    public AuditRecord resumeRollout(String cluster, OverrideRequest by) {
        return actOnRollout("resume", cluster, by);
    }

    /**
     * Aborts the rollout: every node should run the previous snapshot again, and those that
     * applied the target are told to return; as {@link #pauseRollout}.
     *
     * @param cluster the cluster id
     * @param by who asks, in which role, why and when
     * @return the audit record of the action
     * @throws JustificationRequiredException if the justification has no visible text
     * @throws PermissionDeniedException for a viewer
     * @throws FleetException {@code NOT_FOUND} without a rollout; {@code CONFLICT} once it is
     *     over
     */
    public AuditRecord abortRollout(String cluster, OverrideRequest by) {
        return actOnRollout("abort", cluster, by);
    }

    /**
     * Starts every remaining wave of the rollout now; as {@link #pauseRollout}.
     *
     * @param cluster the cluster id
     * @param by who asks, in which role, why and when
     * @return the audit record of the action
     * @throws JustificationRequiredException if the justification has no visible text
     * @throws PermissionDeniedException for a viewer
     * @throws FleetException {@code NOT_FOUND} without a rollout; {@code CONFLICT} when the
     *     rollout does not allow it
     */
    public AuditRecord promoteRollout(String cluster, OverrideRequest by) {
        return actOnRollout("promote", cluster, by);
    }

    private AuditRecord actOnRollout(String action, String cluster, OverrideRequest by) {
        Args.text("cluster", cluster);
        Args.present("by", by);
        long h = acquire();
        try {
            return rolloutAction0(h, action, cluster, by.actor(), by.role().name(), by.justification(), by.atMs());
        } finally {
            release();
        }
    }

    /**
     * Every audit record, oldest first: each authority change (publish, workspace and cluster
     * changes), each override and each reconciliation wave.
     *
     * @return the records
     */
    public List<AuditRecord> audit() {
        long h = acquire();
        try {
            return List.copyOf(audit0(h, 0, -1));
        } finally {
            release();
        }
    }

    /**
     * At most {@code limit} audit records from sequence number {@code from}, oldest first.
     *
     * @param from the first sequence number
     * @param limit the most records
     * @return the records
     */
    public List<AuditRecord> auditPage(long from, int limit) {
        if (from < 0 || limit < 0) {
            throw new IllegalArgumentException("from and limit must not be negative");
        }
        long h = acquire();
        try {
            return List.copyOf(audit0(h, from, limit));
        } finally {
            release();
        }
    }

    /**
     * One page of the audit log, newest first, narrowed by every filter of {@code query} (as
     * the HTTP API's {@code GET /api/v1/audit}); {@link AuditQueryPage#nextBefore} goes on to
     * the older records.
     *
     * <pre>{@code
     * AuditQueryPage page = engine.auditQuery(AuditQuery.newest().cluster("eks-prod-us")
     *         .actions(AuditAction.FORCE_SYNC_NODE, AuditAction.FORCE_SYNC_CLUSTER).limit(20));
     * }</pre>
     *
     * @param query the filters, the cursor and the page size
     * @return the page
     * @throws FleetException {@code INVALID_INPUT} for {@code from} after {@code to}, or a
     *     target and a node that name different targets
     */
    public AuditQueryPage auditQuery(AuditQuery query) {
        Args.present("query", query);
        String actions = query.actions().isEmpty()
                ? null
                : String.join(",", query.actions().stream().map(a -> a.name().toLowerCase(java.util.Locale.ROOT)).toList());
        long h = acquire();
        try {
            return auditQuery0(h, query.before().orElse(-1), query.limit(), actions, query.target().orElse(null),
                    query.cluster().orElse(null), query.node().orElse(null), query.actor().orElse(null),
                    query.fromMs().orElse(-1), query.toMs().orElse(-1));
        } finally {
            release();
        }
    }

    /**
     * The audit record {@code seq}.
     *
     * @param seq its sequence number
     * @return the record
     * @throws FleetException {@code NOT_FOUND} past the end of the log
     */
    public AuditRecord auditRecord(long seq) {
        Args.time("seq", seq);
        long h = acquire();
        try {
            return auditRecord0(h, seq);
        } finally {
            release();
        }
    }

    /**
     * Re-verifies the whole audit log, its hash chain and its Merkle tree.
     *
     * @return the verified head
     * @throws FleetException {@code AUDIT_TAMPERED} naming the first bad record
     */
    public AuditHead verifyAudit() {
        long h = acquire();
        try {
            return verifyAudit0(h);
        } finally {
            release();
        }
    }

    /**
     * The audit log's head as a signed checkpoint: a signed note (origin line, size, root,
     * ed25519 signature) that a third party checks with {@link #checkpointVerifierKey()}.
     *
     * @return the note text
     */
    public String checkpoint() {
        long h = acquire();
        try {
            return checkpoint0(h);
        } finally {
            release();
        }
    }

    /**
     * The public key that checks this engine's checkpoints, in the signed-note verifier-key
     * form {@code <origin>+<key id>+<base64 key>}.
     *
     * @return the verifier key
     */
    public String checkpointVerifierKey() {
        long h = acquire();
        try {
            return checkpointVerifierKey0(h);
        } finally {
            release();
        }
    }

    /**
     * Proof that audit record {@code seq} is in the log as it is now; see
     * {@link #inclusionProof(long, long)}.
     *
     * @param seq the record's sequence number
     * @return the proof
     * @throws FleetException {@code INVALID_INPUT} if {@code seq} is past the end of the log
     */
    public InclusionProof inclusionProof(long seq) {
        return proveInclusion(seq, -1);
    }

    /**
     * Proof that audit record {@code seq} is in the log of {@code size} records: a third party
     * checks it with {@link InclusionProof#verify} against the head a signed checkpoint of that
     * size commits to.
     *
     * @param seq the record's sequence number
     * @param size the size of the log (a checkpoint's)
     * @return the proof
     * @throws FleetException {@code INVALID_INPUT} if {@code size} is past the end of the log or
     *     {@code seq} is not below it
     */
    public InclusionProof inclusionProof(long seq, long size) {
        return proveInclusion(seq, Args.time("size", size));
    }

    /** {@code size < 0}: the log as it is now, read in the same native call. */
    private InclusionProof proveInclusion(long seq, long size) {
        Args.time("seq", seq);
        long h = acquire();
        try {
            return inclusionProof0(h, seq, size);
        } finally {
            release();
        }
    }

    /**
     * Proof that the log of {@code oldSize} records is a prefix of the log as it is now; see
     * {@link #consistencyProof(long, long)}.
     *
     * @param oldSize the size of the older log
     * @return the proof
     * @throws FleetException {@code INVALID_INPUT} if {@code oldSize} is past the end of the log
     */
    public ConsistencyProof consistencyProof(long oldSize) {
        return proveConsistency(oldSize, -1);
    }

    /**
     * Proof that the log of {@code oldSize} records is a prefix of the log of {@code newSize}
     * records: it was only appended to. A third party checks it with
     * {@link ConsistencyProof#verify} against the heads two signed checkpoints commit to.
     *
     * @param oldSize the size of the older log
     * @param newSize the size of the newer log
     * @return the proof
     * @throws FleetException {@code INVALID_INPUT} if the sizes shrink or pass the end of the log
     */
    public ConsistencyProof consistencyProof(long oldSize, long newSize) {
        return proveConsistency(oldSize, Args.time("newSize", newSize));
    }

    /** {@code newSize < 0}: the log as it is now, read in the same native call. */
    private ConsistencyProof proveConsistency(long oldSize, long newSize) {
        Args.time("oldSize", oldSize);
        long h = acquire();
        try {
            return consistencyProof0(h, oldSize, newSize);
        } finally {
            release();
        }
    }

    /**
     * A C2SP {@code tlog-proof@v1} bundle for audit record {@code seq}: its inclusion path and a
     * freshly signed checkpoint, as text. Anyone checks it offline with
     * {@link FleetGov#verifyInclusion}, the record's {@link #auditEntry} and the verifier key.
     *
     * @param seq the record's sequence number
     * @return the bundle text
     * @throws FleetException {@code NOT_FOUND} past the end of the log
     */
    public String tlogProof(long seq) {
        Args.time("seq", seq);
        long h = acquire();
        try {
            return tlogProof0(h, seq);
        } finally {
            release();
        }
    }

    /**
     * The canonical entry bytes of audit record {@code seq}: what its leaf in the audit tree
     * hashes ({@code SHA-256(0x00 || entry)}) and what proofs are checked against. The payload
     * is represented by its hash.
     *
     * @param seq the record's sequence number
     * @return the entry bytes
     * @throws FleetException {@code NOT_FOUND} past the end of the log
     */
    public byte[] auditEntry(long seq) {
        Args.time("seq", seq);
        long h = acquire();
        try {
            return auditEntry0(h, seq);
        } finally {
            release();
        }
    }

    // ---- history -------------------------------------------------------------------------

    /**
     * What node {@code node} ran at {@code tMs}, from the journal of its applied-state
     * transitions.
     *
     * <p>Only the known past is answered: the engine's history begins at
     * {@link #historyStartMs()} (when its data directory was made, so it spans restarts, or
     * without one when the engine was made) and ends at its clock now. Answering about a moment seals it: whatever is
     * recorded later (a late heartbeat stamped before it, a publish naming an earlier time) is
     * recorded after it, so the same question always gets the same answer.
     *
     * @param node the node id
     * @param tMs the moment (unix ms)
     * @return what it ran, or null if it had reported nothing yet
     * @throws FleetException {@code NOT_FOUND} if the node is not enrolled
     * @throws FutureTimeException if {@code tMs} is after the engine's clock
     * @throws HistoryUnavailableException if {@code tMs} is before the engine's history began
     */
    public @Nullable AppliedAt whatRan(String node, long tMs) {
        Args.text("node", node);
        Args.time("tMs", tMs);
        long h = acquire();
        try {
            return whatRan0(h, node, tMs);
        } finally {
            release();
        }
    }

    /**
     * {@link #whatRan(String, long)} at an {@link Instant}.
     *
     * @param node the node id
     * @param t the moment
     * @return what it ran, or null if it had reported nothing yet
     * @throws IllegalArgumentException if {@code t} is null or before 1970
     */
    public @Nullable AppliedAt whatRan(String node, Instant t) {
        return whatRan(node, Args.millis("t", t));
    }

    /**
     * What every node of {@code cluster} ran at {@code tMs}, by node id (nodes that had reported
     * nothing yet are left out).
     *
     * @param cluster the cluster id
     * @param tMs the moment (unix ms)
     * @return one entry per node
     * @throws FleetException {@code NOT_FOUND} for an unknown cluster
     * @throws FutureTimeException if {@code tMs} is after the engine's clock
     * @throws HistoryUnavailableException if {@code tMs} is before the engine's history began
     */
    public List<AppliedAt> fleetAt(String cluster, long tMs) {
        Args.text("cluster", cluster);
        Args.time("tMs", tMs);
        long h = acquire();
        try {
            return List.copyOf(fleetAt0(h, cluster, tMs));
        } finally {
            release();
        }
    }

    /**
     * {@link #fleetAt(String, long)} at an {@link Instant}.
     *
     * @param cluster the cluster id
     * @param t the moment
     * @return one entry per node
     * @throws IllegalArgumentException if {@code t} is null or before 1970
     */
    public List<AppliedAt> fleetAt(String cluster, Instant t) {
        return fleetAt(cluster, Args.millis("t", t));
    }

    /**
     * A signed attestation of what {@code cluster} ran at {@code tMs}: the same envelope, byte for
     * byte, every time the same moment is asked about. Nothing is signed about the future.
     *
     * @param cluster the cluster id
     * @param tMs the moment (unix ms)
     * @return the attestation
     * @throws FleetException {@code NOT_FOUND} for an unknown cluster
     * @throws FutureTimeException if {@code tMs} is after the engine's clock
     * @throws HistoryUnavailableException if {@code tMs} is before the engine's history began
     */
    public Attestation attest(String cluster, long tMs) {
        Args.text("cluster", cluster);
        Args.time("tMs", tMs);
        long h = acquire();
        try {
            return attest0(h, cluster, tMs);
        } finally {
            release();
        }
    }

    /**
     * {@link #attest(String, long)} at an {@link Instant}.
     *
     * @param cluster the cluster id
     * @param t the moment
     * @return the attestation
     * @throws IllegalArgumentException if {@code t} is null or before 1970
     */
    public Attestation attest(String cluster, Instant t) {
        return attest(cluster, Args.millis("t", t));
    }

    /**
     * Every change of what node {@code node} ran from {@code fromMs} to {@code toMs}, both
     * included, oldest first. Times are checked as by {@link #whatRan}.
     *
     * <pre>{@code
     * List<AppliedChange> changes = engine.history("gw-7", engine.historyStartMs(), engine.clockMs());
     * }</pre>
     *
     * @param node the node id
     * @param fromMs the start (unix ms), at or after {@link #historyStartMs()}
     * @param toMs the end (unix ms), at or before the engine's clock
     * @return the changes
     * @throws FleetException {@code NOT_FOUND} if the node is not enrolled; {@code INVALID_INPUT}
     *     if {@code fromMs} is after {@code toMs}
     * @throws FutureTimeException if {@code toMs} is after the engine's clock
     * @throws HistoryUnavailableException if {@code fromMs} is before the engine's history began
     */
    public List<AppliedChange> history(String node, long fromMs, long toMs) {
        Args.text("node", node);
        Args.time("fromMs", fromMs);
        Args.time("toMs", toMs);
        long h = acquire();
        try {
            return List.copyOf(history0(h, node, fromMs, toMs));
        } finally {
            release();
        }
    }

    /**
     * {@link #history(String, long, long)} between two {@link Instant}s.
     *
     * @param node the node id
     * @param from the start
     * @param to the end
     * @return the changes
     * @throws IllegalArgumentException if either is null or before 1970
     */
    public List<AppliedChange> history(String node, Instant from, Instant to) {
        return history(node, Args.millis("from", from), Args.millis("to", to));
    }

    /**
     * Where the engine's history begins: when its data directory was made, or without one when
     * the engine was made.
     *
     * @return unix ms
     */
    public long historyStartMs() {
        long h = acquire();
        try {
            return historyStartMs0(h);
        } finally {
            release();
        }
    }

    // ---- the data directory ----------------------------------------------------------------

    /**
     * Returns once every transition journalled so far is on disk in the data directory (the
     * journal writer does this by itself every journal interval): before a planned stop, or to
     * acknowledge history durably. Without a data directory there is nothing to do.
     *
     * @throws FleetException {@code IO} saying why the journal writer cannot write
     */
    public void syncJournal() {
        long h = acquire();
        try {
            syncJournal0(h);
        } finally {
            release();
        }
    }

    /**
     * Why the data directory's journal writer last failed to write (it retries every interval).
     *
     * @return the reason, or empty if it did not fail (or there is no data directory)
     */
    public Optional<String> journalFailure() {
        long h = acquire();
        try {
            return Optional.ofNullable(journalFailure0(h));
        } finally {
            release();
        }
    }

    /**
     * Checks every sealed segment of the data directory's journal against the audit record
     * that sealed it (hash and transition count). Without a data directory there is nothing to
     * check (zeros).
     *
     * @return what was checked
     * @throws FleetException {@code AUDIT_TAMPERED} naming the first segment that differs or is
     *     missing
     */
    public JournalVerification verifyJournal() {
        long h = acquire();
        try {
            return verifyJournal0(h);
        } finally {
            release();
        }
    }

    // ---- queries ---------------------------------------------------------------------------

    /**
     * Cohesion of a cluster at the engine's clock ({@link #clockMs()}): percent of enrolled nodes
     * verified (in sync and heard from within the last 60 minutes), floored, so 100 only when
     * every node is. A few counter reads, no scan.
     *
     * @param cluster the cluster id
     * @return 0 to 100
     * @throws FleetException {@code NOT_FOUND} for an unknown cluster
     */
    public int cohesion(String cluster) {
        Args.text("cluster", cluster);
        long h = acquire();
        try {
            return cohesion0(h, cluster);
        } finally {
            release();
        }
    }

    /**
     * The view of a cluster: authority beside execution. Nodes count as verified while their last
     * report is in sync and at most 60 minutes before {@code nowMs}.
     *
     * @param id the cluster id
     * @param nowMs the query time (unix ms)
     * @return the view
     * @throws FleetException {@code NOT_FOUND} for an unknown cluster
     */
    public ClusterView cluster(String id, long nowMs) {
        Args.text("id", id);
        Args.time("nowMs", nowMs);
        long h = acquire();
        try {
            return cluster0(h, id, nowMs);
        } finally {
            release();
        }
    }

    /**
     * {@link #cluster(String, long)} at an {@link Instant}.
     *
     * @param id the cluster id
     * @param now the query time
     * @return the view
     * @throws IllegalArgumentException if {@code now} is null or before 1970
     */
    public ClusterView cluster(String id, Instant now) {
        return cluster(id, Args.millis("now", now));
    }

    /**
     * {@link #cluster(String, long)} at the time {@code clock} reads now.
     *
     * @param id the cluster id
     * @param clock where now comes from
     * @return the view
     * @throws IllegalArgumentException if {@code clock} is null or reads before 1970
     */
    public ClusterView cluster(String id, Clock clock) {
        return cluster(id, Args.millis("clock", clock));
    }

    /**
     * The view of a node at {@code nowMs}.
     *
     * @param id the node id
     * @param nowMs the query time (unix ms), for health, heartbeat age and {@code verified}
     * @return the view
     * @throws FleetException {@code NOT_FOUND} if the node is not enrolled
     */
    public NodeView node(String id, long nowMs) {
        Args.text("id", id);
        Args.time("nowMs", nowMs);
        long h = acquire();
        try {
            return node0(h, id, nowMs);
        } finally {
            release();
        }
    }

    /**
     * {@link #node(String, long)} at an {@link Instant}.
     *
     * @param id the node id
     * @param now the query time
     * @return the view
     * @throws IllegalArgumentException if {@code now} is null or before 1970
     */
    public NodeView node(String id, Instant now) {
        return node(id, Args.millis("now", now));
    }

    /**
     * {@link #node(String, long)} at the time {@code clock} reads now.
     *
     * @param id the node id
     * @param clock where now comes from
     * @return the view
     * @throws IllegalArgumentException if {@code clock} is null or reads before 1970
     */
    public NodeView node(String id, Clock clock) {
        return node(id, Args.millis("clock", clock));
    }

    /**
     * The views of a cluster's nodes in enrolment order, a page at a time.
     *
     * @param cluster the cluster id
     * @param nowMs the query time (unix ms)
     * @param offset nodes to skip
     * @param limit the most views to return
     * @return the views
     * @throws FleetException {@code NOT_FOUND} for an unknown cluster
     */
    public List<NodeView> clusterNodes(String cluster, long nowMs, int offset, int limit) {
        Args.text("cluster", cluster);
        Args.time("nowMs", nowMs);
        if (offset < 0 || limit < 0) {
            throw new IllegalArgumentException("offset and limit must not be negative");
        }
        long h = acquire();
        try {
            return List.copyOf(clusterNodes0(h, cluster, nowMs, offset, limit));
        } finally {
            release();
        }
    }

    /**
     * The fleet inventory of a workspace as Java records.
     *
     * @param workspace the workspace id
     * @param nowMs the query time (unix ms)
     * @return the inventory
     * @throws FleetException {@code NOT_FOUND} for an unknown workspace
     */
    public FleetInventory fleet(String workspace, long nowMs) {
        Args.text("workspace", workspace);
        Args.time("nowMs", nowMs);
        long h = acquire();
        try {
            return fleet0(h, workspace, nowMs);
        } finally {
            release();
        }
    }

    /**
     * {@link #fleet(String, long)} at an {@link Instant}.
     *
     * @param workspace the workspace id
     * @param now the query time
     * @return the inventory
     * @throws IllegalArgumentException if {@code now} is null or before 1970
     */
    public FleetInventory fleet(String workspace, Instant now) {
        return fleet(workspace, Args.millis("now", now));
    }

    /**
     * {@link #fleet(String, long)} at the time {@code clock} reads now.
     *
     * @param workspace the workspace id
     * @param clock where now comes from
     * @return the inventory
     * @throws IllegalArgumentException if {@code clock} is null or reads before 1970
     */
    public FleetInventory fleet(String workspace, Clock clock) {
        return fleet(workspace, Args.millis("clock", clock));
    }

    /**
     * The fleet inventory of a workspace as JSON, shaped like
     * {@code GET /api/v1/workspaces/{id}/fleet}: {@code runtimes}, {@code summary},
     * {@code desiredState}, camelCase keys.
     *
     * @param workspace the workspace id
     * @param nowMs the query time (unix ms)
     * @return a JSON object
     * @throws FleetException {@code NOT_FOUND} for an unknown workspace
     */
    public String fleetJson(String workspace, long nowMs) {
        Args.text("workspace", workspace);
        Args.time("nowMs", nowMs);
        long h = acquire();
        try {
            return fleetJson0(h, workspace, nowMs);
        } finally {
            release();
        }
    }

    // ---- native methods --------------------------------------------------------------------

    private static native long new0(long capacity, int feedCapacity, boolean manualClock, long clockMs, String auditLog,
            String dataDir, long journalIntervalMs, long checkpointIntervalMs, long journalSegmentLength,
            long retentionMs, byte[] signingSeed, String origin);

    private static native void dispose0(long engine);

    private static native long clockMs0(long engine);

    private static native void setClock0(long engine, long ms);

    private static native void upsertWorkspace0(long engine, String id, String authorityMode, String minRuntimeVersion);

    private static native WorkspaceSpec workspace0(long engine, String id);

    private static native List<String> clusterIds0(long engine);

    private static native String fleetConfigJson0(long engine, String workspace);

    private static native void upsertCluster0(
            long engine, String id, String workspace, String environment, String ownerTeam, boolean autoReconcile);

    private static native Snapshot publish0(long engine, String cluster, byte[] config, String author, long atMs);

    private static native Snapshot publishRollout0(long engine, String cluster, byte[] config, String author,
            long atMs, int[] waves, long bakeMs, double maxFailurePct, boolean autoRollback);

    private static native @Nullable RolloutView rollout0(long engine, String cluster, long nowMs);

    private static native long advanceRollouts0(long engine, long nowMs);

    private static native AuditRecord rolloutAction0(long engine, String action, String cluster, String actor,
            String role, String justification, long atMs);

    private static native Snapshot publishDirect0(
            long engine, String cluster, ByteBuffer config, int offset, int len, String author, long atMs);

    private static native Snapshot snapshot0(long engine, String id);

    private static native Snapshot desired0(long engine, String cluster);

    private static native byte[] artifact0(long engine, String hash);

    private static native long enroll0(long engine, String node, String cluster, long atMs);

    private static native long[] enrollMany0(long engine, String[] nodes, String[] clusters, long atMs);

    private static native long nodeHandle0(long engine, String node);

    private static native @Nullable Object heartbeat0(
            long engine,
            long node,
            @Nullable String nodeId,
            long atMs,
            @Nullable String appliedSnapshot,
            @Nullable String appliedHash,
            boolean hashAsWords,
            long hash0,
            long hash1,
            long hash2,
            long hash3,
            @Nullable String runtimeVersion,
            int runtimeVersionBits,
            int status,
            float cpu,
            float memory,
            float tps,
            float heap,
            int hotSwapErrors,
            @Nullable String syncError);

    private static native BatchSummary heartbeatBatch0(
            long engine, ByteBuffer records, int rOffset, int rLen, ByteBuffer outcomes, int oOffset, int oLen);

    private static native BatchSummary heartbeatBatchById0(long engine, ByteBuffer records, int rLen,
            ByteBuffer outcomes, int oLen, ByteBuffer offsets, int offsetsLen, ByteBuffer ids, int idsLen);

    private static native AuditRecord forceSync0(
            long engine, String target, String actor, String role, String justification, long atMs);

    private static native long events0(long engine, long fromSeq);

    private static native List<AuditRecord> audit0(long engine, long from, int limit);

    private static native AuditQueryPage auditQuery0(long engine, long before, int limit, @Nullable String actions,
            @Nullable String target, @Nullable String cluster, @Nullable String node, @Nullable String actor,
            long fromMs, long toMs);

    private static native AuditRecord unenroll0(long engine, String node, String actor, String role, long atMs);

    private static native AuditRecord auditRecord0(long engine, long seq);

    private static native AuditHead verifyAudit0(long engine);

    private static native String checkpoint0(long engine);

    private static native String checkpointVerifierKey0(long engine);

    private static native InclusionProof inclusionProof0(long engine, long seq, long size);

    private static native ConsistencyProof consistencyProof0(long engine, long oldSize, long newSize);

    private static native String tlogProof0(long engine, long seq);

    private static native byte[] auditEntry0(long engine, long seq);

    private static native AppliedAt whatRan0(long engine, String node, long tMs);

    private static native List<AppliedAt> fleetAt0(long engine, String cluster, long tMs);

    private static native Attestation attest0(long engine, String cluster, long tMs);

    private static native List<AppliedChange> history0(long engine, String node, long fromMs, long toMs);

    private static native long historyStartMs0(long engine);

    private static native void syncJournal0(long engine);

    private static native String journalFailure0(long engine);

    private static native JournalVerification verifyJournal0(long engine);

    private static native int cohesion0(long engine, String cluster);

    private static native ClusterView cluster0(long engine, String id, long nowMs);

    private static native NodeView node0(long engine, String id, long nowMs);

    private static native List<NodeView> clusterNodes0(long engine, String cluster, long nowMs, int offset, int limit);

    private static native FleetInventory fleet0(long engine, String workspace, long nowMs);

    private static native String fleetJson0(long engine, String workspace, long nowMs);
}
