/**
 * The fleetgov engine for the JVM: {@link dev.fleetgov.FleetEngine} for a control plane,
 * {@link dev.fleetgov.ConfigAgent} for a gateway node, {@link dev.fleetgov.FleetGov} for the
 * checks that need no engine.
 *
 * <p>Nullness is stated with JSpecify: everything in this package is non-null unless marked
 * {@link org.jspecify.annotations.Nullable @Nullable} (a method that may return null, a
 * parameter or record component that may be null). A null where none is allowed is an
 * {@link IllegalArgumentException}.
 */
@NullMarked
package dev.fleetgov;

import org.jspecify.annotations.NullMarked;
