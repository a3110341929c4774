package dev.fleetgov;

/**
 * The head of a verified audit log: how many records, and the Merkle root over them.
 *
 * <pre>{@code
 * AuditHead head = engine.verifyAudit(); // throws FleetException(AUDIT_TAMPERED) if not
 * System.out.println(head.size() + " records, root " + head.root());
 * }</pre>
 *
 * @param size the number of records
 * @param root the Merkle tree root (blake3), hex
 */
public record AuditHead(long size, String root) {}
