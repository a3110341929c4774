package dev.fleetgov;

/**
 * A head of the audit log: how many records, and the Merkle root over them. What
 * {@link FleetEngine#verifyAudit()} returns, what a signed checkpoint commits to
 * ({@link FleetGov#openCheckpoint}), and what proofs are checked against.
 *
 * <pre>{@code
 * AuditHead head = engine.verifyAudit(); // throws FleetException(AUDIT_TAMPERED) if not
 * System.out.println(head.size() + " records, root " + head.root());
 * }</pre>
 *
 * @param size the number of records
 * @param root the RFC 6962 Merkle tree root (SHA-256), 64 hex characters
 */
public record AuditHead(long size, String root) {}
