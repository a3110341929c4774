package dev.fleetgov;

/**
 * What {@link FleetEngine#verifyJournal()} checked: every sealed segment of the data
 * directory's journal against the audit record that sealed it.
 *
 * @param sealedSegments sealed segments whose files match their audit records
 * @param sealedTransitions the transitions in them
 */
public record JournalVerification(long sealedSegments, long sealedTransitions) {}
