package dev.reactivelocks;

import java.time.Duration;

/**
 * The lock was not granted within the timeout of {@link LockOptions#timeout(Duration)}; the waiter has
 * left the queue and holds nothing. The message reads like {@code Lock 'orders' (EXCLUSIVE) not acquired
 * within 250ms}. It has no cause; the timeout of a
 * {@link dev.reactivelocks.distributed.DistributedLockService} acquisition whose calls to the store failed
 * with transient errors carries the last of them as a {@linkplain #getSuppressed() suppressed} exception.
 */
public class LockTimeoutException extends LockException {

    private static final long serialVersionUID = 1L;

    /** The mode that was asked for. */
    private final LockMode mode;
    /** The timeout that passed. */
    private final Duration timeout;

    /**
     * @param lockName the lock that was not acquired
     * @param mode the requested mode
     * @param timeout the timeout that elapsed
     */
    public LockTimeoutException(String lockName, LockMode mode, Duration timeout) {
        super(lockName, "Lock '" + lockName + "' (" + mode + ") not acquired within " + Durations.format(timeout));
        this.mode = mode;
        this.timeout = timeout;
    }

    /** @return the requested mode */
    public LockMode mode() {
        return mode;
    }

    /** @return the timeout that elapsed */
    public Duration timeout() {
        return timeout;
    }
}
