package dev.reactivelocks.benchmarks;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * The secondary result {@code ownerChanges} of the hand-off benchmarks: grants to a different contender than
 * the previous holder of the same name, per second like the primary result (JMH resets the field before each
 * iteration and divides it by the iteration's time). The benchmark method adds what {@link Contention#round()}
 * returns.
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class OwnerChanges {

    /** Owner changes in the current iteration. */
    public long ownerChanges;
}
