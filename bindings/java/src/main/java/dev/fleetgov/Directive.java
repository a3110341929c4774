package dev.fleetgov;

/**
 * The engine's answer to a heartbeat when the node must act: pull {@code snapshot} (by id,
 * verify its hash) and apply it. A heartbeat that needs no action returns null instead.
 *
 * <pre>{@code
 * Directive d = engine.heartbeat(node, hb);
 * if (d != null) {
 *     byte[] config = engine.artifact(d.snapshot().hash());
 *     agent.apply(d.snapshot().id(), config, d.snapshot().hash(), now, validator);
 * }
 * }</pre>
 *
 * @param kind reconcile or force sync
 * @param snapshot the snapshot to pull
 */
public record Directive(DirectiveKind kind, Snapshot snapshot) {}
