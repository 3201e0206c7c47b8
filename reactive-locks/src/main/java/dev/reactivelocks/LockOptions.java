package dev.reactivelocks;

import dev.reactivelocks.internal.LeaseBounds;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * How one acquisition asks for a lock: its {@link LockMode}, an optional pending timeout and, for
 * distributed locks, an optional lease of its own.
 *
 * <p>Instances are immutable and thread-safe; {@link #timeout(Duration)} and {@link #lease(Duration)}
 * return a new instance.
 *
 * <pre>{@code
 * LockOptions.exclusive();                                // wait as long as it takes
 * LockOptions.shared().timeout(Duration.ofMillis(250));   // give up after 250ms in the queue
 * }</pre>
 */
public final class LockOptions {

    private static final int UNLIMITED = Integer.MAX_VALUE;
    private static final LockOptions EXCLUSIVE = new LockOptions(LockMode.EXCLUSIVE, UNLIMITED, null, null);
    private static final LockOptions SHARED = new LockOptions(LockMode.SHARED, UNLIMITED, null, null);

    private final LockMode mode;
    private final int permits;
    private final @Nullable Duration timeout;
    private final @Nullable Duration lease;

    private LockOptions(LockMode mode, int permits, @Nullable Duration timeout, @Nullable Duration lease) {
        this.mode = mode;
        this.permits = permits;
        this.timeout = timeout;
        this.lease = lease;
    }

    /** @return options for an exclusive lock without timeout */
    public static LockOptions exclusive() {
        return EXCLUSIVE;
    }

    /** @return options for a shared lock without timeout */
    public static LockOptions shared() {
        return SHARED;
    }

    /**
     * Options for one permit of a named counting semaphore: a {@link LockMode#SHARED} acquisition that is
     * granted only while fewer than {@code permits} shared holders hold the name. Waiters queue fairly like
     * any other acquisition, with the same timeout and cancellation guarantees; an exclusive acquisition of
     * the same name waits until every permit is returned and keeps new permits out meanwhile (a drain).
     * Each acquisition is checked against its own {@code permits}, so callers of one name should agree on it.
     *
     * <p>Supported by {@link InProcessLockService}; services that cannot count holders reject such options
     * with {@link IllegalArgumentException}.
     *
     * @param permits how many holders may hold the name together, {@code >= 1}
     * @return options for one permit
     * @throws IllegalArgumentException if {@code permits < 1}
     */
    public static LockOptions permits(int permits) {
        if (permits < 1) {
            throw new IllegalArgumentException("permits must be >= 1, was " + permits);
        }
        return new LockOptions(LockMode.SHARED, permits, null, null);
    }

    /**
     * @param mode the lock mode
     * @return options for a lock in {@code mode} without timeout
     */
    public static LockOptions of(LockMode mode) {
        return Objects.requireNonNull(mode, "mode") == LockMode.EXCLUSIVE ? EXCLUSIVE : SHARED;
    }

    /**
     * Returns a copy that gives up waiting after {@code timeout}.
     *
     * <p>The timeout bounds the time spent <em>pending</em>: when it elapses before the grant, the waiter
     * leaves the queue and the acquisition errors with {@link LockTimeoutException}. {@link Duration#ZERO}
     * means "do not wait": the acquisition errors at once when the lock is not immediately available (use
     * {@link LockService#tryAcquire(String, LockOptions)} to get an empty result instead).
     *
     * @param timeout the maximum time to wait, zero or positive
     * @return options with this timeout
     * @throws IllegalArgumentException if {@code timeout} is negative
     */
    public LockOptions timeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must be >= 0, was " + timeout);
        }
        return new LockOptions(mode, permits, timeout, lease);
    }

    /** @return a copy without timeout: the acquisition waits until granted, cancelled or the service closes */
    public LockOptions noTimeout() {
        return new LockOptions(mode, permits, null, lease);
    }

    /**
     * Returns a copy whose grant gets a lease of {@code lease} instead of the service's, on services whose
     * locks are leases in a shared store ({@code DistributedLockService}): how long the lock outlives its
     * holder's last renewal, so how soon a holder that died (or was cut off) is taken over, like djangae's
     * per-call {@code steal_after_ms}. The lease is renewed while the lock is held, at the same fraction of
     * it as the service renews its own lease (a third by default: a 6 second lease is renewed every 2
     * seconds), but never more often than every millisecond (every third of a lease under 3 milliseconds),
     * so any lease the store can measure has a sane renewal interval. It does not limit how long
     * a live holder may keep the lock.
     *
     * <p>In-process and file services ignore it: their locks are freed the moment their holder's process
     * dies (the operating system drops a dead process's file locks), which is what a lease approximates,
     * so code written for distributed locks runs unchanged on them.
     *
     * @param lease the lease, at least 1 millisecond (stores count leases in milliseconds) and shorter
     *              than about 73 years
     * @return options with this lease
     * @throws IllegalArgumentException if {@code lease} is shorter than 1ms, or too long to measure in
     *         nanoseconds
     */
    public LockOptions lease(Duration lease) {
        return new LockOptions(mode, permits, timeout, LeaseBounds.checkLease(lease));
    }

    /** @return the per-call lease set by {@link #lease(Duration)}, empty for the service's own lease */
    public Optional<Duration> lease() {
        return Optional.ofNullable(lease);
    }

    /** @return the requested mode */
    public LockMode mode() {
        return mode;
    }

    /**
     * @return how many holders may hold the name together for this acquisition to be granted:
     *     {@link Integer#MAX_VALUE} unless set by {@link #permits(int)}
     */
    public int maxHolders() {
        return permits;
    }

    /** @return whether these options limit the number of holders ({@link #permits(int)}) */
    public boolean limitsHolders() {
        return permits != UNLIMITED;
    }

    /** @return the pending timeout, empty when the acquisition waits without limit */
    public Optional<Duration> timeout() {
        return Optional.ofNullable(timeout);
    }

    /**
     * The timeout as implementations should apply it: {@code null} when there is none, and also when it is
     * too long to measure in nanoseconds (about 73 years or more), which is as good as none.
     *
     * @return the pending timeout or {@code null}; for implementations that avoid the Optional
     */
    public @Nullable Duration timeoutOrNull() {
        return timeout == null || timeout.compareTo(LeaseBounds.UNMEASURABLE) >= 0 ? null : timeout;
    }

    @Override
    public boolean equals(@Nullable Object o) {
        return o instanceof LockOptions other && mode == other.mode && permits == other.permits
                && Objects.equals(timeout, other.timeout) && Objects.equals(lease, other.lease);
    }

    @Override
    public int hashCode() {
        return Objects.hash(mode, permits, timeout, lease);
    }

    @Override
    public String toString() {
        return "LockOptions{" + mode + (permits == UNLIMITED ? "" : ", permits=" + permits)
                + (timeout == null ? "" : ", timeout=" + timeout) + (lease == null ? "" : ", lease=" + lease) + "}";
    }
}
