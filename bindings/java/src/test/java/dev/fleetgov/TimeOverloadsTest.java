package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The {@link Instant} and {@link Clock} overloads answer exactly what the milliseconds ones do. */
class TimeOverloadsTest {
    private static final long T = FleetEngineTest.T;
    private static final Instant AT = Instant.ofEpochMilli(T);
    private final FleetEngine engine = FleetEngineTest.engineWithCluster(Environment.STAGING);

    @AfterEach
    void close() {
        engine.close();
    }

    @Test
    void instantsAndClocksAreTheirMilliseconds() {
        Snapshot s = engine.publish("c", new byte[] {1}, "alice", AT);
        assertEquals(T, s.publishedAtMs());
        long gw = engine.enroll("gw-1", "c", AT);
        assertEquals(gw, engine.enroll("gw-1", "c", T), "the same enrolment");
        engine.heartbeat(gw, Heartbeat.at(AT, "3.5.0").withApplied(s.id(), s.hash()));
        Clock fixed = Clock.fixed(AT.plusSeconds(60), ZoneOffset.UTC);

        assertEquals(engine.cluster("c", T + 60_000), engine.cluster("c", AT.plusSeconds(60)));
        assertEquals(engine.cluster("c", T + 60_000), engine.cluster("c", fixed));
        assertEquals(engine.node("gw-1", T + 60_000), engine.node("gw-1", fixed));
        assertEquals(engine.node("gw-1", T), engine.node("gw-1", AT));
        assertEquals(engine.fleet("ws", T), engine.fleet("ws", AT));
        assertEquals(engine.fleet("ws", T + 60_000), engine.fleet("ws", fixed));
        assertEquals(engine.whatRan("gw-1", T), engine.whatRan("gw-1", AT));
        assertEquals(engine.fleetAt("c", T), engine.fleetAt("c", AT));
        assertEquals(engine.history("gw-1", T, T), engine.history("gw-1", AT, AT));
        engine.setClock(AT.plusSeconds(1));
        assertEquals(T + 1_000, engine.clockMs());
        try (FleetEngine manual = new FleetEngine(FleetEngine.Options.defaults().withManualClock(AT))) {
            assertEquals(T, manual.clockMs());
        }
    }

    @Test
    void aMissingOrOutOfRangeTimeIsAnIllegalArgument() {
        assertThrows(IllegalArgumentException.class, () -> engine.cluster("c", (Instant) null));
        assertThrows(IllegalArgumentException.class, () -> engine.cluster("c", (Clock) null));
        assertThrows(IllegalArgumentException.class, () -> engine.node("gw-1", Instant.ofEpochMilli(-1)));
        IllegalArgumentException tooFar = assertThrows(IllegalArgumentException.class,
                () -> engine.fleet("ws", Instant.MAX));
        assertEquals("now is out of range: " + Instant.MAX, tooFar.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> engine.fleet("ws", Clock.fixed(Instant.ofEpochSecond(-5), ZoneOffset.UTC)));
        assertThrows(IllegalArgumentException.class, () -> Heartbeat.at((Instant) null, "3.5.0"));
    }
}
