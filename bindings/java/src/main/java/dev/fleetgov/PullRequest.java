package dev.fleetgov;

/**
 * What a node should pull in answer to a directive, and the hash its bytes must have: pass
 * both to {@link ConfigAgent#apply}.
 *
 * <pre>{@code
 * PullRequest pull = agent.onDirective(engine.heartbeat(node, agent.heartbeat(now, metrics, ProcessStatus.READY)));
 * if (pull != null) {
 *     agent.apply(pull.snapshotId(), fetch(pull.snapshotId()), pull.hash(), now, validator);
 * }
 * }</pre>
 *
 * @param kind reconcile or force sync
 * @param snapshotId the snapshot to pull
 * @param hash the hash its bytes must have
 */
public record PullRequest(DirectiveKind kind, String snapshotId, String hash) {}
