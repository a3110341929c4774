package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Justified overrides, roles, and the audit trail. */
class GovernanceTest {
    static final long T = FleetEngineTest.T;
    static final String WHY = "Node re-provisioning after hardware failure";

    FleetEngine engine;
    Snapshot prod;
    Snapshot stage;

    @BeforeEach
    void setUp() {
        engine = new FleetEngine(FleetEngine.Options.defaults().withManualClock(T));
        engine.upsertWorkspace(WorkspaceSpec.of("ws"));
        engine.upsertCluster(ClusterSpec.of("prod", "ws", Environment.PRODUCTION));
        engine.upsertCluster(ClusterSpec.of("stage", "ws", Environment.STAGING));
        prod = engine.publish("prod", FleetEngineTest.V1, "alice", T);
        stage = engine.publish("stage", FleetEngineTest.V2, "alice", T);
        for (int i = 0; i < 2; i++) {
            engine.enroll("p" + i, "prod", T);
            engine.enroll("s" + i, "stage", T);
        }
    }

    @AfterEach
    void tearDown() {
        engine.close();
    }

    /** Each node's directive kind for an in-sync heartbeat at {@code at}, null for none. */
    List<DirectiveKind> kinds(long at) {
        return List.of("p0", "p1", "s0", "s1").stream().map(n -> {
            Snapshot s = n.startsWith("p") ? prod : stage;
            Directive d = engine.heartbeat(n, FleetEngineTest.synced(s, at));
            return d == null ? null : d.kind();
        }).toList();
    }

    static <T> List<T> list(T a, T b, T c, T d) {
        return java.util.Arrays.asList(a, b, c, d);
    }

    @Test
    void aForcedNodeGetsForceSyncOnItsNextHeartbeatOnly() {
        assertEquals(list(null, null, null, null), kinds(T));
        AuditRecord r = engine.forceSync(ForceTarget.node("p1"), new OverrideRequest("bob", Role.OPERATOR, WHY, T + 1));
        assertEquals("bob", r.actor());
        assertEquals(Role.OPERATOR, r.role());
        assertEquals(AuditAction.FORCE_SYNC_NODE, r.action());
        assertEquals("node:p1", r.target());
        assertEquals(WHY, r.justification());
        assertEquals(T + 1, r.timeMs());
        assertTrue(r.action().isOverride());
        assertEquals(new Directive(DirectiveKind.FORCE_SYNC, prod), engine.heartbeat("p1", FleetEngineTest.synced(prod, T + 2)));
        assertEquals(list(null, null, null, null), kinds(T + 3));
    }

    @Test
    void aTargetCrossesAsItsLabelAndTheAuditRecordNamesItSo() {
        OverrideRequest admin = new OverrideRequest("carol", Role.ADMIN, WHY, T);
        List<ForceTarget> targets = List.of(
                ForceTarget.node("p1"), ForceTarget.cluster("prod"), ForceTarget.workspace("ws"), ForceTarget.fleet());
        List<String> labels = List.of("node:p1", "cluster:prod", "workspace:ws", "fleet");
        for (int i = 0; i < targets.size(); i++) {
            assertEquals(labels.get(i), targets.get(i).label());
            assertEquals(labels.get(i), engine.forceSync(targets.get(i), admin).target());
        }
        // The id is everything after the first colon, as the engine reads it: no such node.
        FleetEngineTest.fails(FleetException.Code.NOT_FOUND,
                () -> engine.forceSync(ForceTarget.node("cluster:prod"), admin));
    }

    @Test
    void clusterAndGlobalForceReachEveryNodeOnce() {
        OverrideRequest operator = new OverrideRequest("bob", Role.OPERATOR, "Rollback due to failed deployment", T);
        assertEquals(AuditAction.FORCE_SYNC_CLUSTER, engine.forceSync(ForceTarget.cluster("prod"), operator).action());
        DirectiveKind f = DirectiveKind.FORCE_SYNC;
        assertEquals(list(f, f, null, null), kinds(T + 1));
        assertEquals(list(null, null, null, null), kinds(T + 2));

        OverrideRequest admin = new OverrideRequest("carol", Role.ADMIN, "Emergency disaster recovery", T);
        AuditRecord global = engine.forceGlobal("ws", admin);
        assertEquals(AuditAction.GLOBAL_OVERWRITE, global.action());
        assertEquals("workspace:ws", global.target());
        assertEquals(list(f, f, f, f), kinds(T + 3));
        assertEquals("fleet", engine.forceSync(ForceTarget.fleet(), admin).target());
        assertEquals(list(f, f, f, f), kinds(T + 4));
        assertEquals(list(null, null, null, null), kinds(T + 5));
    }

    @Test
    void justificationThatIsNotValidUtf16IsRefusedNotReplaced() {
        int before = engine.audit().size();
        for (String why : List.of("fix \uD800 and \u0000 ok", "fix \uD800 ok", "fix \uDC00 ok", "trailing \uD83D")) {
            FleetException e = FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                    () -> engine.forceSync(ForceTarget.node("p0"), new OverrideRequest("bob", Role.OPERATOR, why, T)));
            assertTrue(e.getMessage().contains("lone surrogate"), e.getMessage());
        }
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                () -> engine.forceSync(ForceTarget.node("p0"), new OverrideRequest("b\uD800b", Role.OPERATOR, WHY, T)));
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                () -> engine.upsertCluster(ClusterSpec.of("c2", "ws", Environment.STAGING).withOwnerTeam("edge\uDFFF")));
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> engine.publish("prod", FleetEngineTest.V2, "al\uD800", T));
        assertEquals(before, engine.audit().size(), "a refused string records nothing");

        String exact = "R\u00fcckrollen \uD83D\uDE80 nach \u5931\u8d25 \u200Bok";
        AuditRecord r = engine.forceSync(ForceTarget.node("p0"), new OverrideRequest("Zo\u00eb", Role.OPERATOR, exact, T));
        assertEquals(exact, r.justification(), "a valid surrogate pair crosses unaltered");
        assertEquals("Zo\u00eb", r.actor());
    }

    @Test
    void invisibleOnlyJustificationIsRefused() {
        int before = engine.audit().size();
        for (String why : List.of("\u200B", "\uFEFF", "\u00A0", "\u3000", "\u200B\u2060\u00A0\u3000\uFEFF")) {
            JustificationRequiredException e = assertThrows(JustificationRequiredException.class,
                    () -> engine.forceSync(ForceTarget.node("p0"), new OverrideRequest("bob", Role.OPERATOR, why, T)));
            assertEquals(FleetException.Code.JUSTIFICATION_REQUIRED, e.code());
        }
        for (String why : List.of("\u0000", "line1\nline2", "tab\there", "c1\u0085")) {
            FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                    () -> engine.forceSync(ForceTarget.node("p0"), new OverrideRequest("bob", Role.OPERATOR, why, T)));
        }
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                () -> engine.forceSync(ForceTarget.node("p0"), new OverrideRequest("bob", Role.OPERATOR, "j".repeat(4097), T)));
        assertEquals(before, engine.audit().size(), "a refused justification records nothing");
        assertEquals(list(null, null, null, null), kinds(T + 1), "and forces nothing");
    }

    @Test
    void refusedOverridesThrowTheirOwnExceptionsAndRecordNothing() {
        int before = engine.audit().size();
        JustificationRequiredException blank = assertThrows(JustificationRequiredException.class,
                () -> engine.forceSync(ForceTarget.node("p0"), new OverrideRequest("bob", Role.OPERATOR, "   ", T)));
        assertEquals(FleetException.Code.JUSTIFICATION_REQUIRED, blank.code());
        assertInstanceOf(FleetException.class, blank);
        assertThrows(JustificationRequiredException.class,
                () -> engine.forceSync(ForceTarget.node("p0"), new OverrideRequest("bob", Role.OPERATOR, null, T)));

        PermissionDeniedException viewer = assertThrows(PermissionDeniedException.class,
                () -> engine.forceSync(ForceTarget.node("p0"), new OverrideRequest("vic", Role.VIEWER, WHY, T)));
        assertEquals(FleetException.Code.PERMISSION_DENIED, viewer.code());
        assertThrows(PermissionDeniedException.class,
                () -> engine.forceGlobal("ws", new OverrideRequest("bob", Role.OPERATOR, WHY, T)));
        assertThrows(PermissionDeniedException.class,
                () -> engine.forceSync(ForceTarget.fleet(), new OverrideRequest("bob", Role.OPERATOR, WHY, T)));

        OverrideRequest admin = new OverrideRequest("carol", Role.ADMIN, WHY, T);
        FleetEngineTest.fails(FleetException.Code.NOT_FOUND, () -> engine.forceSync(ForceTarget.node("nope"), admin));
        FleetEngineTest.fails(FleetException.Code.NOT_FOUND, () -> engine.forceSync(ForceTarget.cluster("nope"), admin));
        FleetEngineTest.fails(FleetException.Code.NOT_FOUND, () -> engine.forceGlobal("nope", admin));

        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> new OverrideRequest(" ", Role.ADMIN, WHY, T));
        assertThrows(IllegalArgumentException.class, () -> new OverrideRequest("a", null, WHY, T));
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> ForceTarget.node(""));
        assertThrows(IllegalArgumentException.class, () -> engine.forceSync(null, admin));
        assertThrows(IllegalArgumentException.class, () -> engine.forceSync(ForceTarget.fleet(), null));

        assertEquals(before, engine.audit().size(), "a refused override records nothing");
        assertEquals(list(null, null, null, null), kinds(T + 1), "and forces nothing");
    }

    @Test
    void everyAuthorityChangeIsAuditedInOrderAndVerifies() {
        List<AuditRecord> log = engine.audit();
        assertEquals(List.of(AuditAction.UPSERT_WORKSPACE, AuditAction.UPSERT_CLUSTER, AuditAction.UPSERT_CLUSTER,
                AuditAction.PUBLISH, AuditAction.PUBLISH), log.stream().map(AuditRecord::action).toList());
        assertEquals(List.of("workspace:ws", "cluster:prod", "cluster:stage", "prod@r1", "stage@r1"),
                log.stream().map(AuditRecord::target).toList());
        for (int i = 0; i < log.size(); i++) {
            assertEquals(i, log.get(i).seq());
            assertEquals(log.get(i), engine.auditRecord(i));
            assertTrue(log.get(i).payloadHash().matches("[0-9a-f]{64}"));
        }
        assertEquals("0".repeat(64), log.get(0).prevHash());
        assertFalse(log.get(1).prevHash().equals(log.get(2).prevHash()), "a hash chain");
        assertEquals(log.subList(1, 3), engine.auditPage(1, 2));
        assertEquals(List.of(), engine.auditPage(99, 2));
        FleetEngineTest.fails(FleetException.Code.NOT_FOUND, () -> engine.auditRecord(99));
        assertThrows(IllegalArgumentException.class, () -> engine.auditPage(-1, 2));

        AuditHead head = engine.verifyAudit();
        assertEquals(5, head.size());
        assertTrue(head.root().matches("[0-9a-f]{64}"));
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> engine.publish("prod", new byte[0], "alice", T));
        assertEquals(5, engine.audit().size(), "failed changes are not recorded");
    }

    @Test
    void checkpointsVerifyWithThePublicKeyOnly() {
        String note = engine.checkpoint();
        String key = engine.checkpointVerifierKey();
        assertEquals(engine.verifyAudit(), FleetGov.openCheckpoint(note, key));

        try (FleetEngine other = new FleetEngine()) {
            FleetException e = assertThrows(FleetException.class,
                    () -> FleetGov.openCheckpoint(note, other.checkpointVerifierKey()));
            assertEquals(FleetException.Code.AUDIT_TAMPERED, e.code());
        }
        String forged = note.replaceFirst("\n5\n", "\n6\n");
        assertEquals(FleetException.Code.AUDIT_TAMPERED,
                assertThrows(FleetException.class, () -> FleetGov.openCheckpoint(forged, key)).code());
        assertEquals(FleetException.Code.INVALID_INPUT,
                assertThrows(FleetException.class, () -> FleetGov.openCheckpoint(note, "not a key")).code());
    }

    @Test
    void aDurableAuditLogRestoresTheAuthorityState(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("audit.log");
        byte[] seed = new byte[32];
        seed[0] = 7;
        FleetEngine.Options options = FleetEngine.Options.defaults().withManualClock(T).withAuditLog(log, seed).withOrigin("fleetgov.test/audit");
        AuditHead head;
        String key;
        Snapshot desired;
        try (FleetEngine first = new FleetEngine(options)) {
            first.upsertWorkspace(WorkspaceSpec.of("ws").withMinRuntimeVersion("3.5.0"));
            first.upsertCluster(ClusterSpec.of("prod", "ws", Environment.PRODUCTION).withOwnerTeam("edge"));
            first.publish("prod", FleetEngineTest.V1, "alice", T);
            desired = first.publish("prod", FleetEngineTest.V2, "alice", T + 1);
            first.enroll("p0", "prod", T);
            first.forceSync(ForceTarget.cluster("prod"), new OverrideRequest("bob", Role.OPERATOR, WHY, T + 2));
            head = first.verifyAudit();
            key = first.checkpointVerifierKey();
            assertTrue(key.startsWith("fleetgov.test/audit+"), key);
        }
        assertTrue(Files.size(log) > 0);
        try (FleetEngine reopened = new FleetEngine(options)) {
            assertEquals(head, reopened.verifyAudit());
            assertEquals(key, reopened.checkpointVerifierKey(), "the same seed signs after a restart");
            assertEquals(head, FleetGov.openCheckpoint(reopened.checkpoint(), key));
            assertEquals(desired, reopened.desired("prod"));
            assertEquals("edge", reopened.cluster("prod", T).ownerTeam());
            assertEquals(0, reopened.cluster("prod", T).total(), "enrolments are execution state, not replayed");
            assertEquals(AuditAction.FORCE_SYNC_CLUSTER, reopened.auditRecord(head.size() - 1).action());
        }
        // A log that cannot be opened (here: the path is a directory) is an IO error, not a crash.
        FleetEngineTest.fails(FleetException.Code.IO,
                () -> new FleetEngine(FleetEngine.Options.defaults().withAuditLog(dir, null)).close());
        assertThrows(IllegalArgumentException.class, () -> FleetEngine.Options.defaults().withAuditLog(log, new byte[3]));
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                () -> new FleetEngine(FleetEngine.Options.defaults().withOrigin(" ")).close());
        assertNull(FleetEngine.Options.defaults().auditLog().orElse(null));
    }

    @Test
    void unenrollRemovesANodeAuditedAndRefusesItsHeartbeats() {
        engine.heartbeat("p0", FleetEngineTest.synced(prod, T));
        assertThrows(PermissionDeniedException.class, () -> engine.unenroll("p1", "vic", Role.VIEWER, T));
        FleetEngineTest.fails(FleetException.Code.NOT_FOUND, () -> engine.unenroll("ghost", "olga", Role.OPERATOR, T));
        long handle = engine.nodeHandle("p1");
        AuditRecord removed = engine.unenroll("p1", "olga", Role.OPERATOR, T + 1);
        assertEquals(List.of("olga", AuditAction.REMOVE_NODE, "node:p1"),
                List.of(removed.actor(), removed.action(), removed.target()));
        ClusterView view = engine.cluster("prod", T + 1);
        assertEquals(List.of(1L, 1L, ClusterStatus.HEALTHY), List.of(view.total(), view.inSync(), view.status()));
        FleetEngineTest.fails(FleetException.Code.NOT_FOUND,
                () -> engine.heartbeat("p1", FleetEngineTest.synced(prod, T + 2)));
        FleetEngineTest.fails(FleetException.Code.NOT_FOUND,
                () -> engine.heartbeat(handle, FleetEngineTest.synced(prod, T + 2)));
        long again = engine.enroll("p1", "stage", T + 3);
        assertTrue(again != handle, "a new handle");
        assertEquals(3, engine.cluster("stage", T + 3).total());
    }

    @Test
    void auditQueryNarrowsAndPagesLikeTheHttpOne() {
        for (int i = 0; i < 3; i++) {
            engine.forceSync(ForceTarget.node("p0"), new OverrideRequest("bob", Role.OPERATOR, WHY + " " + i, T + 10 + i));
        }
        engine.forceSync(ForceTarget.cluster("prod"), new OverrideRequest("ada", Role.ADMIN, WHY, T + 20));
        AuditQueryPage page = engine.auditQuery(AuditQuery.newest().node("p0").limit(2));
        assertEquals(List.of(WHY + " 2", WHY + " 1"), page.records().stream().map(AuditRecord::justification).toList());
        AuditQueryPage older = engine.auditQuery(AuditQuery.newest().node("p0").limit(2)
                .before(page.nextBefore().getAsLong()));
        assertEquals(List.of(WHY + " 0"), older.records().stream().map(AuditRecord::justification).toList());
        AuditQueryPage both = engine.auditQuery(AuditQuery.newest().cluster("prod")
                .actions(AuditAction.FORCE_SYNC_NODE, AuditAction.FORCE_SYNC_CLUSTER));
        assertEquals(List.of("ada", "bob", "bob", "bob"), both.records().stream().map(AuditRecord::actor).toList());
        assertEquals(1, engine.auditQuery(AuditQuery.newest().actor("ada")).records().size());
        List<AuditRecord> timed = engine.auditQuery(AuditQuery.newest().fromMs(T + 11).toMs(T + 11)).records();
        assertEquals(List.of(T + 11), timed.stream().map(AuditRecord::timeMs).toList());
        AuditQueryPage all = engine.auditQuery(AuditQuery.newest().limit(AuditQuery.MAX_LIMIT));
        assertFalse(all.nextBefore().isPresent(), "the whole log on one page");
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                () -> engine.auditQuery(AuditQuery.newest().fromMs(T + 2).toMs(T + 1)));
        assertThrows(IllegalArgumentException.class, () -> AuditQuery.newest().limit(0));
        assertThrows(IllegalArgumentException.class, () -> AuditQuery.newest().fromMs(-1));
    }
}
