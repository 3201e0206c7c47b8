package dev.reactivelocks;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * How one acquisition asks for a lock: its {@link LockMode} and an optional pending timeout.
 *
 * <p>Instances are immutable and thread-safe; {@link #timeout(Duration)} returns a new instance.
 *
 * <pre>{@code
 * LockOptions.exclusive();                                // wait as long as it takes
 * LockOptions.shared().timeout(Duration.ofMillis(250));   // give up after 250ms in the queue
 * }</pre>
 */
public final class LockOptions {

    private static final int UNLIMITED = Integer.MAX_VALUE;
    private static final LockOptions EXCLUSIVE = new LockOptions(LockMode.EXCLUSIVE, UNLIMITED, null);
    private static final LockOptions SHARED = new LockOptions(LockMode.SHARED, UNLIMITED, null);

    private final LockMode mode;
    private final int permits;
    private final @Nullable Duration timeout;

    private LockOptions(LockMode mode, int permits, @Nullable Duration timeout) {
        this.mode = mode;
        this.permits = permits;
        this.timeout = timeout;
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
        return new LockOptions(LockMode.SHARED, permits, null);
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
        return new LockOptions(mode, permits, timeout);
    }

    /** @return a copy without timeout: the acquisition waits until granted, cancelled or the service closes */
    public LockOptions noTimeout() {
        return new LockOptions(mode, permits, null);
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
        return timeout == null || timeout.compareTo(UNMEASURABLE) >= 0 ? null : timeout;
    }

    /** Timeouts from here on would overflow nanosecond deadlines ({@code System.nanoTime() + timeout}). */
    private static final Duration UNMEASURABLE = Duration.ofNanos(Long.MAX_VALUE / 4);

    @Override
    public boolean equals(@Nullable Object o) {
        return o instanceof LockOptions other && mode == other.mode && permits == other.permits
                && Objects.equals(timeout, other.timeout);
    }

    @Override
    public int hashCode() {
        return Objects.hash(mode, permits, timeout);
    }

    @Override
    public String toString() {
        return "LockOptions{" + mode + (permits == UNLIMITED ? "" : ", permits=" + permits)
                + (timeout == null ? "" : ", timeout=" + timeout) + "}";
    }
}
