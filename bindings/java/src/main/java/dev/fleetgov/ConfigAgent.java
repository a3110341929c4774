package dev.fleetgov;

import java.nio.ByteBuffer;
import org.jspecify.annotations.Nullable;

/**
 * The execution side, embedded in each gateway node: hot-swaps only verified configuration
 * and reports exactly what it applied.
 *
 * <p>{@link #apply} computes {@code blake3(bytes)} itself and refuses anything but the expected
 * hash ({@code HASH_MISMATCH}, nothing swapped), refuses an empty configuration, then asks the
 * {@link Validator} to install the candidate; only if it accepts does the candidate become
 * {@link #current()}. A refusal keeps the previous configuration live (the last known good) and
 * becomes the node's sync error. {@link #heartbeat} reports the snapshot id and the hash the
 * agent computed, never the hash it was told to expect.
 *
 * <p>Thread-safe: applies are serialised, reads never block. {@link #close()} waits for an
 * apply in flight (its validator included) and frees the native agent once.
 *
 * <pre>{@code
 * try (ConfigAgent agent = new ConfigAgent("3.5.0")) {
 *     Directive d = engine.heartbeat(node, agent.heartbeat(now, metrics, ProcessStatus.READY));
 *     PullRequest pull = agent.onDirective(d);
 *     if (pull != null) {
 *         agent.apply(pull.snapshotId(), engine.artifact(pull.hash()), pull.hash(), now, gateway::install);
 *     }
 * }
 * }</pre>
 */
public final class ConfigAgent extends NativeHandle {
    static {
        NativeLibrary.load();
    }

    private final String runtimeVersion;
    /** The thread running this agent's validator, if one runs; guards against re-entry. */
    private volatile Thread validating;

    /**
     * An agent for a runtime of {@code runtimeVersion}, with nothing applied yet.
     *
     * @param runtimeVersion the gateway's semantic version, reported in heartbeats
     * @throws FleetException {@code INVALID_INPUT} if it is not a semantic version in range
     */
    public ConfigAgent(String runtimeVersion) {
        super(new0(Args.text("runtimeVersion", runtimeVersion)));
        this.runtimeVersion = runtimeVersion;
    }

    @Override
    void dispose(long handle) {
        dispose0(handle);
    }

    /**
     * The runtime version the agent reports.
     *
     * @return the version given at construction
     */
    public String runtimeVersion() {
        return runtimeVersion;
    }

    /**
     * Verifies and installs {@code config} as snapshot {@code snapshotId}.
     *
     * @param snapshotId the snapshot id, e.g. {@code eks-prod-us@r3}
     * @param config the configuration bytes
     * @param expectedHash the hash the authority published for it (64 hex)
     * @param atMs when (unix ms)
     * @param validator the gateway's hook, or null to accept every verified configuration
     * @return the configuration now live
     * @throws FleetException {@code HASH_MISMATCH} if the bytes do not hash to
     *     {@code expectedHash}; {@code INVALID_INPUT} for an empty configuration or a malformed
     *     snapshot id or hash; {@code RELOAD_FAILURE} if the validator refused it (the
     *     validator's exception is the cause)
     * @throws IllegalStateException if called from this agent's own validator, or if the validator
     *     misused the binding (closed or re-entered this agent, used a closed engine): that exception
     *     is rethrown as it is, and so is an {@link Error} the validator threw
     */
    public AppliedConfig apply(String snapshotId, byte[] config, String expectedHash, long atMs,
            @Nullable Validator validator) {
        Args.text("snapshotId", snapshotId);
        Args.present("config", config);
        Args.text("expectedHash", expectedHash);
        Args.time("atMs", atMs);
        notFromOwnValidator("apply");
        long h = acquire();
        try {
            return apply0(h, snapshotId, config, null, 0, 0, expectedHash, atMs, guard(validator));
        } finally {
            release();
        }
    }

    /**
     * {@link #apply(String, byte[], String, long, Validator)} from the remaining bytes of a
     * buffer (position to limit; the position does not move). A direct buffer is read once,
     * into the agent's own copy.
     *
     * @param snapshotId the snapshot id
     * @param config the configuration bytes
     * @param expectedHash the hash the authority published for it
     * @param atMs when (unix ms)
     * @param validator the gateway's hook, or null
     * @return the configuration now live
     */
    public AppliedConfig apply(String snapshotId, ByteBuffer config, String expectedHash, long atMs,
            @Nullable Validator validator) {
        Args.present("config", config);
        if (!config.isDirect()) {
            byte[] copy = new byte[config.remaining()];
            config.duplicate().get(copy);
            return apply(snapshotId, copy, expectedHash, atMs, validator);
        }
        Args.text("snapshotId", snapshotId);
        Args.text("expectedHash", expectedHash);
        Args.time("atMs", atMs);
        notFromOwnValidator("apply");
        long h = acquire();
        try {
            return apply0(h, snapshotId, null, config, config.position(), config.remaining(), expectedHash, atMs,
                    guard(validator));
        } finally {
            release();
        }
    }

    /**
     * Rolls back to the last known good configuration (the one before the current), through
     * the validator like any apply. Afterwards there is no rollback target until the next apply.
     *
     * @param atMs when (unix ms)
     * @param validator the gateway's hook, or null
     * @return the configuration now live
     * @throws FleetException {@code NOT_FOUND} if there is nothing to roll back to;
     *     {@code RELOAD_FAILURE} if the validator refused it
     */
    public AppliedConfig rollback(long atMs, @Nullable Validator validator) {
        Args.time("atMs", atMs);
        notFromOwnValidator("rollback");
        long h = acquire();
        try {
            return rollback0(h, atMs, guard(validator));
        } finally {
            release();
        }
    }

    /**
     * Records a sync error the agent did not see itself (a pull that timed out, say); the next
     * heartbeats carry it until a successful apply.
     *
     * @param error the error
     */
    public void recordSyncError(SyncError error) {
        Args.present("error", error);
        notFromOwnValidator("recordSyncError");
        long h = acquire();
        try {
            recordSyncError0(h, error.toString());
        } finally {
            release();
        }
    }

    /**
     * The configuration live now.
     *
     * @return it, or null if nothing was applied
     */
    public @Nullable AppliedConfig current() {
        long h = acquire();
        try {
            return current0(h, false);
        } finally {
            release();
        }
    }

    /**
     * The rollback target: the configuration live before the current one.
     *
     * @return it, or null
     */
    public @Nullable AppliedConfig lastKnownGood() {
        long h = acquire();
        try {
            return current0(h, true);
        } finally {
            release();
        }
    }

    /**
     * Why the last attempt to apply failed, until a successful apply.
     *
     * @return the error, or null
     */
    public @Nullable SyncError lastSyncError() {
        long h = acquire();
        try {
            return lastSyncError0(h);
        } finally {
            release();
        }
    }

    /**
     * Reloads the validator refused since the agent started.
     *
     * @return the count
     */
    public int hotSwapErrors() {
        long h = acquire();
        try {
            return hotSwapErrors0(h);
        } finally {
            release();
        }
    }

    /**
     * The node's heartbeat at {@code atMs}, from one consistent view of what it runs: the live
     * snapshot id, the hash the agent computed over its bytes, the last sync error; the
     * metrics' hot-swap error count is replaced by the agent's.
     *
     * @param atMs when (unix ms)
     * @param metrics the gateway's metrics
     * @param status the process status
     * @return the heartbeat, for {@link FleetEngine#heartbeat(long, Heartbeat)}
     * @throws FleetException {@code INVALID_INPUT} for NaN, negative or out-of-range metrics
     */
    public Heartbeat heartbeat(long atMs, Metrics metrics, ProcessStatus status) {
        Args.time("atMs", atMs);
        Args.present("metrics", metrics);
        Args.present("status", status);
        long h = acquire();
        try {
            return heartbeat0(h, atMs, metrics.cpu(), metrics.memory(), metrics.tps(), metrics.heap(),
                    status.ordinal());
        } finally {
            release();
        }
    }

    /**
     * Appends this node's heartbeat to a batch, as a binary record for node {@code node} of
     * {@code cluster} (the record names a revision of the node's own cluster).
     *
     * @param batch the batch
     * @param node the node's handle
     * @param cluster the node's cluster id
     * @param atMs when (unix ms)
     * @param metrics the gateway's metrics
     * @param status the process status
     * @return the record's index in the batch
     * @throws IllegalStateException if the batch is full
     */
    public int heartbeatInto(HeartbeatBatch batch, long node, String cluster, long atMs, Metrics metrics,
            ProcessStatus status) {
        Args.present("batch", batch);
        Args.text("cluster", cluster);
        Args.time("atMs", atMs);
        Args.present("metrics", metrics);
        Args.present("status", status);
        int index = batch.reserve();
        long h = acquire();
        try {
            heartbeatRecord0(h, batch.records(), index * HeartbeatBatch.RECORD_SIZE, node, cluster, atMs,
                    metrics.cpu(), metrics.memory(), metrics.tps(), metrics.heap(), status.ordinal());
        } finally {
            release();
        }
        return batch.commit(index, true);
    }

    /**
     * What to pull in answer to a directive: nothing for a reconcile to the exact snapshot id
     * and hash already live; a force sync always pulls.
     *
     * @param directive the engine's answer to this node's heartbeat, or null
     * @return what to pull, or null for nothing
     */
    public @Nullable PullRequest onDirective(@Nullable Directive directive) {
        if (directive == null) {
            return null;
        }
        Snapshot s = directive.snapshot();
        long h = acquire();
        try {
            return onDirective0(h, directive.kind().name(), s.id(), s.cluster(), s.revision(), s.hash(), s.author(),
                    s.publishedAtMs(), s.sizeBytes());
        } finally {
            release();
        }
    }

    /**
     * {@link #onDirective} for the batch path: the outcome of record {@code index} of a batch
     * this node's heartbeat went in, for a node of {@code cluster}.
     *
     * @param batch the ingested batch
     * @param index the node's record
     * @param cluster the node's cluster id
     * @return what to pull, or null for nothing
     */
    public @Nullable PullRequest onOutcome(HeartbeatBatch batch, int index, String cluster) {
        Args.present("batch", batch);
        Args.text("cluster", cluster);
        BatchOutcome outcome = batch.outcome(index);
        if (outcome != BatchOutcome.RECONCILE && outcome != BatchOutcome.FORCE_SYNC) {
            return null;
        }
        long h = acquire();
        try {
            return onOutcome0(h, batch.outcomes(), index * HeartbeatBatch.OUTCOME_SIZE, cluster);
        } finally {
            release();
        }
    }

    private void notFromOwnValidator(String what) {
        if (validating == Thread.currentThread()) {
            throw new MisuseException(what + " called from this agent's own validator");
        }
    }

    /** Wraps the user's validator so that re-entry from it is refused instead of deadlocking. */
    private Validator guard(@Nullable Validator validator) {
        Validator v = validator == null ? Validator.ACCEPT_ALL : validator;
        return candidate -> {
            validating = Thread.currentThread();
            try {
                v.validate(candidate);
            } finally {
                validating = null;
            }
        };
    }

    private static native long new0(String runtimeVersion);

    private static native void dispose0(long agent);

    private static native AppliedConfig apply0(long agent, String snapshotId, byte @Nullable [] config,
            @Nullable ByteBuffer direct, int offset, int len, String expectedHash, long atMs, Validator validator);

    private static native AppliedConfig rollback0(long agent, long atMs, Validator validator);

    /** {@code error} as its {@code CODE: detail} text ({@link SyncError#toString()}), parsed by the core. */
    private static native void recordSyncError0(long agent, String error);

    private static native AppliedConfig current0(long agent, boolean lastKnownGood);

    private static native SyncError lastSyncError0(long agent);

    private static native int hotSwapErrors0(long agent);

    private static native Heartbeat heartbeat0(long agent, long atMs, float cpu, float memory, float tps, float heap,
            int status);

    private static native void heartbeatRecord0(long agent, ByteBuffer records, int offset, long node, String cluster,
            long atMs, float cpu, float memory, float tps, float heap, int status);

    private static native PullRequest onDirective0(long agent, String kind, String id, String cluster, int revision,
            String hash, String author, long publishedAtMs, long sizeBytes);

    private static native PullRequest onOutcome0(long agent, ByteBuffer outcomes, int offset, String cluster);
}
