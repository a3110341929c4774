package dev.fleetgov;

/**
 * One immutable, hash-chained record of the audit log: every authority change and every
 * override.
 *
 * <pre>{@code
 * AuditRecord r = engine.forceSync(ForceTarget.node("gw-7"), by);
 * System.out.println(r.seq() + " " + r.actor() + " " + r.action() + " " + r.target() + ": " + r.justification());
 * }</pre>
 *
 * @param seq position in the log, from 0, without gaps
 * @param timeMs when it happened (unix ms)
 * @param actor who did it
 * @param role the role the actor acted in
 * @param action what was done
 * @param target what it was done to: {@code node:<id>}, {@code cluster:<id>},
 *     {@code workspace:<id>}, {@code fleet}, or a workspace or cluster id
 * @param justification why (empty only for actions that are not overrides)
 * @param payloadHash blake3 of the record's payload (the engine's description of the change), hex
 * @param prevHash the leaf hash of the record before (all zero for record 0): the hash chain, hex
 */
public record AuditRecord(
        long seq,
        long timeMs,
        String actor,
        Role role,
        AuditAction action,
        String target,
        String justification,
        String payloadHash,
        String prevHash) {}
