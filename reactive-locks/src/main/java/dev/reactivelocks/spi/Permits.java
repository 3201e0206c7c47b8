package dev.reactivelocks.spi;

import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.LockMode;

/**
 * What a {@link LockBackend} that counts permits reports when callers of one name disagree on them (see
 * {@link LockBackend#tryAcquirePermit}), so that every backend says it the same way.
 */
public final class Permits {

    private Permits() {
    }

    /**
     * Checks the {@code permits} argument of {@link LockBackend#tryAcquirePermit} and
     * {@link LockBackend#acquireOrQueuePermit}.
     *
     * @param permits how many holders the name admits together
     * @return {@code permits}
     * @throws IllegalArgumentException if {@code permits < 1}
     */
    public static int check(int permits) {
        if (permits < 1) {
            throw new IllegalArgumentException("permits must be >= 1, was " + permits);
        }
        return permits;
    }

    /**
     * @param name the lock name
     * @param mode the mode asked for ({@link LockMode#SHARED} for a permit)
     * @param asked the permits asked for, 0 for a plain lock
     * @param inUse the permits of the name's live shared leases, 0 for plain shared leases
     * @return the exception to signal, naming both
     */
    public static LockConfigurationException disagreement(String name, LockMode mode, int asked, int inUse) {
        return new LockConfigurationException(name, "Lock '" + name + "': asked with " + describe(mode, asked)
                + ", but it is held with " + describe(LockMode.SHARED, inUse)
                + ": every caller of a name must agree on its permits");
    }

    private static String describe(LockMode mode, int permits) {
        return permits > 0 ? "LockOptions.permits(" + permits + ")" : mode + " without permits";
    }
}
