package dev.reactivelocks;

/**
 * A point-in-time view of one lock name, for monitoring and tests.
 *
 * @see InProcessLockService#stats(String)
 */
public final class LockStats {

    private final String name;
    private final int holders;
    private final boolean exclusive;
    private final int pending;

    LockStats(String name, int holders, boolean exclusive, int pending) {
        this.name = name;
        this.holders = holders;
        this.exclusive = exclusive;
        this.pending = pending;
    }

    /** @return the lock name */
    public String name() {
        return name;
    }

    /** @return how many holders hold the lock now (at most one when {@link #exclusive()}) */
    public int holders() {
        return holders;
    }

    /** @return whether the lock is held exclusively now */
    public boolean exclusive() {
        return exclusive;
    }

    /** @return how many acquisitions are waiting */
    public int pending() {
        return pending;
    }

    @Override
    public String toString() {
        return "LockStats{name='" + name + "', holders=" + holders + ", exclusive=" + exclusive
                + ", pending=" + pending + "}";
    }
}
