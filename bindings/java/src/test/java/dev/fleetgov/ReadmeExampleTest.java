package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** The README's example, kept compiling and true. */
class ReadmeExampleTest {
    @Test
    void readmeExample() {
        try (FleetEngine engine = new FleetEngine()) {
            long now = System.currentTimeMillis();
            engine.upsertWorkspace(WorkspaceSpec.of("ws-1"));
            engine.upsertCluster(ClusterSpec.of("eks-prod-us", "ws-1", Environment.PRODUCTION).withAutoReconcile(true));
            Snapshot v1 = engine.publish("eks-prod-us", "rate_limit: 1000".getBytes(), "alice", now);
            long gw = engine.enroll("gw-1", "eks-prod-us", now);
            Heartbeat hb = Heartbeat.at(now, "3.5.0").withApplied(v1.id(), v1.hash());
            assertNull(engine.heartbeat(gw, hb));
            Snapshot v2 = engine.publish("eks-prod-us", "rate_limit: 800".getBytes(), "alice", now + 1);
            Directive d = engine.heartbeat(gw, hb.withAtMs(now + 2));
            assertEquals(new Directive(DirectiveKind.RECONCILE, v2), d);
            ClusterView c = engine.cluster("eks-prod-us", now + 2);
            assertEquals("0/1 verified, cohesion 0% DIVERGENT",
                    c.inSync() + "/" + c.total() + " verified, cohesion " + c.cohesion() + "% " + c.status());
        }
    }
}
