package dev.reactivelocks.internal;

import java.time.Duration;
import java.util.Objects;

/**
 * The bounds of distributed leases and their renewal periods, in one place for every caller that checks them:
 * {@code LockOptions.lease}, the distributed service's builder and its renewals, and the Spring Boot starter's
 * properties. Stateless; every method may be called from any thread.
 */
public final class LeaseBounds {

    /** The shortest lease: stores count leases in milliseconds. */
    public static final Duration MIN_LEASE = Duration.ofMillis(1);
    /**
     * Durations from here on (about 73 years) would overflow nanosecond deadlines
     * ({@code System.nanoTime() + duration}): as good as none for a timeout, refused for a lease.
     */
    public static final Duration UNMEASURABLE = Duration.ofNanos(Long.MAX_VALUE / 4);
    /** The shortest renewal period of a lease of 3 milliseconds or more; see {@link #shortestRenewal}. */
    private static final Duration MIN_RENEWAL = Duration.ofMillis(1);

    private LeaseBounds() {
    }

    /**
     * @param lease a lease
     * @return {@code lease}
     * @throws IllegalArgumentException if {@code lease} is shorter than {@link #MIN_LEASE} or not shorter than
     *         {@link #UNMEASURABLE}, with a message naming the value
     */
    public static Duration checkLease(Duration lease) {
        Objects.requireNonNull(lease, "lease");
        if (lease.compareTo(MIN_LEASE) < 0) {
            throw new IllegalArgumentException("lease must be >= 1ms, was " + lease);
        }
        if (lease.compareTo(UNMEASURABLE) >= 0) {
            throw new IllegalArgumentException("lease must be shorter than 73 years, was " + lease);
        }
        return lease;
    }

    /**
     * The shortest renewal period of {@code lease}: 1 millisecond, or a third of a lease shorter than 3
     * milliseconds. Each renewal is a call to the store; a period below this would flood it with the renewals
     * of one held lock.
     *
     * @param lease a lease
     * @return its shortest renewal period
     */
    public static Duration shortestRenewal(Duration lease) {
        Duration third = lease.dividedBy(3);
        return third.compareTo(MIN_RENEWAL) < 0 ? third : MIN_RENEWAL;
    }
}
