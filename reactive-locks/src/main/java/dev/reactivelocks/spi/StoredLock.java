package dev.reactivelocks.spi;

import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import org.jspecify.annotations.Nullable;

/**
 * One held name as a {@link LockBackend} stores it, reported by {@link LockBackend#locks(String)}: its live
 * leases and, where the backend keeps a wait queue, how many live entries wait in it. Immutable value.
 */
public final class StoredLock {

    private static final int UNKNOWN = -1;

    private final String name;
    private final List<StoredLease> leases;
    private final int waiting;

    private StoredLock(String name, List<StoredLease> leases, int waiting) {
        this.name = Objects.requireNonNull(name, "name");
        this.leases = List.copyOf(leases);
        if (this.leases.isEmpty()) {
            throw new IllegalArgumentException("a held name has at least one live lease: '" + name + "'");
        }
        this.waiting = waiting;
    }

    /**
     * A held name of a backend without a wait queue (or that cannot count it).
     *
     * @param name the lock name
     * @param leases its live leases, at least one
     * @return a lock value whose {@link #waiting()} is empty
     * @throws IllegalArgumentException if {@code leases} is empty
     */
    public static StoredLock of(String name, List<StoredLease> leases) {
        return new StoredLock(name, leases, UNKNOWN);
    }

    /**
     * A held name of a backend with a wait queue.
     *
     * @param name the lock name
     * @param leases its live leases, at least one
     * @param waiting how many live entries wait in the name's queue, {@code >= 0}
     * @return a lock value
     * @throws IllegalArgumentException if {@code leases} is empty or {@code waiting < 0}
     */
    public static StoredLock of(String name, List<StoredLease> leases, int waiting) {
        if (waiting < 0) {
            throw new IllegalArgumentException("waiting must be >= 0, was " + waiting);
        }
        return new StoredLock(name, leases, waiting);
    }

    /** @return the lock name */
    public String name() {
        return name;
    }

    /** @return the live leases of the name, at least one */
    public List<StoredLease> leases() {
        return leases;
    }

    /** @return how many live entries wait in the name's queue, empty when the backend cannot tell */
    public OptionalInt waiting() {
        return waiting == UNKNOWN ? OptionalInt.empty() : OptionalInt.of(waiting);
    }

    @Override
    public boolean equals(@Nullable Object o) {
        return o instanceof StoredLock other && name.equals(other.name) && leases.equals(other.leases)
                && waiting == other.waiting;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, leases, waiting);
    }

    @Override
    public String toString() {
        return "StoredLock{name='" + name + "', leases=" + leases + (waiting == UNKNOWN ? "" : ", waiting=" + waiting)
                + "}";
    }
}
