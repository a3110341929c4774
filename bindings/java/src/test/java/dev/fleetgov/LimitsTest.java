package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every limit of the README's "Limits" is the engine's, reported the same way wherever a string
 * enters: a null is {@code IllegalArgumentException}; an ill-formed or oversized value is
 * {@code FleetException(INVALID_INPUT)} with the engine's message, whether a record refuses it at
 * construction or the engine at the call.
 */
class LimitsTest {
    private static final long T = FleetEngineTest.T;
    private final FleetEngine engine = FleetEngineTest.engineWithCluster(Environment.STAGING);

    @AfterEach
    void close() {
        engine.close();
    }

    @Test
    void everyKindOfSpaceInAnIdIsTheSameRefusal() {
        for (String id : List.of("", " ", "\u3000", "\u00A0", "\u2007", "\t", "gw 1", "gw\u30001")) {
            FleetException atCall = FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                    () -> engine.enroll(id, "c", T));
            FleetException atRecord = FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                    () -> new Enrolment(id, "c"));
            assertEquals(atCall.getMessage(), atRecord.getMessage(), "the record reports what the engine does");
            FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> WorkspaceSpec.of(id));
            FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> ForceTarget.node(id));
        }
        assertThrows(IllegalArgumentException.class, () -> engine.enroll(null, "c", T));
        assertThrows(IllegalArgumentException.class, () -> new Enrolment(null, "c"));
    }

    @Test
    void idsHoldUpTo128BytesOfTheirAlphabet() {
        String longest = "n".repeat(128);
        engine.enroll(longest, "c", T);
        FleetException tooLong = FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                () -> engine.enroll(longest + "n", "c", T));
        assertEquals(tooLong.getMessage(), FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                () -> new Enrolment(longest + "n", "c")).getMessage());
        engine.enroll("gw-eu_1.a:b", "c", T);
    }

    @Test
    void actorsAndOwnerTeamsHoldUpTo256BytesOfVisibleText() {
        new OverrideRequest("a".repeat(256), Role.OPERATOR, "why", T);
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                () -> new OverrideRequest("a".repeat(257), Role.OPERATOR, "why", T));
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                () -> new OverrideRequest("\u200B", Role.OPERATOR, "why", T));
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> engine.publish("c", new byte[] {1}, "\u3000", T));

        ClusterSpec.of("c2", "ws", Environment.STAGING).withOwnerTeam("t".repeat(256));
        ClusterSpec.of("c2", "ws", Environment.STAGING).withOwnerTeam("");
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                () -> ClusterSpec.of("c2", "ws", Environment.STAGING).withOwnerTeam("t".repeat(257)));
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                () -> ClusterSpec.of("c2", "ws", Environment.STAGING).withOwnerTeam("edge\n"));
    }

    @Test
    void aSyncErrorDetailKeepsItsFirst47BytesOnBothPaths() {
        long gw = engine.enroll("gw-1", "c", T);
        String detail = "\u00e9".repeat(40); // 80 bytes of two-byte characters
        engine.heartbeat(gw, Heartbeat.at(T, "3.5.0").withSyncError(new SyncError(SyncErrorCode.FETCH_TIMEOUT, detail)));
        assertEquals("\u00e9".repeat(23), engine.node("gw-1", T).lastSyncError().detail(), "cut at a character");

        HeartbeatBatch batch = new HeartbeatBatch(1);
        batch.add(gw, T + 1, FleetGov.runtimeVersionBits("3.5.0"), ProcessStatus.READY, new Metrics(0, 0, 0, 0, 0), 0,
                null, new SyncError(SyncErrorCode.FETCH_TIMEOUT, detail));
        engine.heartbeatBatch(batch);
        assertEquals("\u00e9".repeat(23), engine.node("gw-1", T + 1).lastSyncError().detail());
    }
}
