package dev.reactivelocks.distributed;

import dev.reactivelocks.internal.LeaseBounds;
import dev.reactivelocks.internal.Owners;
import dev.reactivelocks.spi.LockBackend;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.scheduler.Scheduler;

/**
 * Builds a {@link DistributedLockService}. Obtain one from {@link DistributedLockService#builder(LockBackend)}.
 *
 * <pre>{@code
 * LockService locks = DistributedLockService.builder(backend)
 *     .lease(Duration.ofSeconds(30))
 *     .renewEvery(Duration.ofSeconds(10))
 *     .build();
 * }</pre>
 *
 * <p>Values are checked by {@link #build()}, whose error message names the offending value. Not
 * thread-safe; the built service is.
 */
public final class DistributedLockServiceBuilder {

    static final Duration DEFAULT_LEASE = Duration.ofSeconds(30);
    static final Duration MAX_DEFAULT_POLL = Duration.ofSeconds(1);

    private final LockBackend backend;
    private Duration lease = DEFAULT_LEASE;
    private @Nullable Duration renewEvery;
    private @Nullable Duration pollInterval;
    private @Nullable Scheduler timer;
    private @Nullable String owner;

    DistributedLockServiceBuilder(LockBackend backend) {
        this.backend = Objects.requireNonNull(backend, "backend");
    }

    /**
     * How long a grant lives in the backend without renewal: a holder that stops renewing (its process
     * died, its network is cut) loses the lock this long after its last successful renewal, and a waiter
     * takes over. Measured by the backend's clock. Defaults to 30 seconds.
     *
     * @param lease the lease, at least 1 millisecond (stores count leases in milliseconds) and shorter than
     *              about 73 years, as for {@link dev.reactivelocks.LockOptions#lease(Duration)}
     * @return this builder
     */
    public DistributedLockServiceBuilder lease(Duration lease) {
        this.lease = Objects.requireNonNull(lease, "lease");
        return this;
    }

    /**
     * How often a held lock's lease is renewed. Renewal starts at the grant and stops at release, when the
     * lock is lost and when the service is disposed. Defaults to a third of the lease.
     *
     * @param renewEvery the renewal period, {@code < lease} and at least 1 millisecond (a third of the lease
     *                   for leases under 3 milliseconds): each renewal is a call to the store
     * @return this builder
     */
    public DistributedLockServiceBuilder renewEvery(Duration renewEvery) {
        this.renewEvery = Objects.requireNonNull(renewEvery, "renewEvery");
        return this;
    }

    /**
     * The longest a waiter sleeps between two attempts when no release signal arrives; this bounds how late
     * a waiter notices an expired lease (releases wake waiters at once through
     * {@link LockBackend#releases()}). Defaults to the smaller of 1 second and a quarter of the lease.
     *
     * @param pollInterval the fallback poll interval, {@code > 0}
     * @return this builder
     */
    public DistributedLockServiceBuilder pollInterval(Duration pollInterval) {
        this.pollInterval = Objects.requireNonNull(pollInterval, "pollInterval");
        return this;
    }

    /**
     * The scheduler that runs timeouts, polls and renewals, and whose {@code now} measures local deadlines. It
     * also runs the backoff before the backend's signal streams are subscribed again after an error, when
     * this service is the one that subscribes to them (the first of the services sharing the backend).
     * Defaults to {@code Schedulers.parallel()}, looked up at each use so that
     * {@code StepVerifier.withVirtualTime} replaces it.
     *
     * @param timer the timer scheduler; the service does not dispose it
     * @return this builder
     */
    public DistributedLockServiceBuilder timer(Scheduler timer) {
        this.timer = Objects.requireNonNull(timer, "timer");
        return this;
    }

    /**
     * The description of this service written with each of its leases, which inspection
     * ({@link DistributedLockService#inspect(String)}, {@code reactive-locks list}) reports as the holder's
     * owner: something that tells an operator which process holds a lock, such as a host and process id, a
     * pod name or an instance id. It travels inside the owner token each grant is stored under, so every
     * backend keeps it without storing anything more. Not a secret, and not an identity: several services
     * may use one description, and tokens stay unique per grant. Defaults to {@code host:pid} of this
     * process (the host name from the {@code HOSTNAME} or {@code COMPUTERNAME} variable, else the kernel's,
     * else {@code InetAddress.getLocalHost()}, looked up once per JVM when the first service is built).
     *
     * @param owner printable ASCII characters (space to {@code ~}), 1 to 200 of them, the first not {@code '='}
     *               (owner tokens start with the owner, and a signal starting with {@code '='} announces a
     *               hand-off, see {@link dev.reactivelocks.spi.HandOff#signal()})
     * @return this builder
     * @throws IllegalArgumentException if {@code owner} is empty, longer than 200 characters, has other
     *         characters, or starts with {@code '='}
     */
    public DistributedLockServiceBuilder owner(String owner) {
        Objects.requireNonNull(owner, "owner");
        if (owner.isEmpty() || owner.length() > Owners.MAX_LENGTH || !Owners.printableAscii(owner)) {
            throw new IllegalArgumentException("owner must be 1 to " + Owners.MAX_LENGTH
                    + " printable ASCII characters, was '" + owner + "'");
        }
        if (owner.charAt(0) == '=') {
            throw new IllegalArgumentException("owner must not start with '=' (it marks hand-off signals), was '"
                    + owner + "'");
        }
        this.owner = owner;
        return this;
    }

    /**
     * @return a new service with this configuration
     * @throws IllegalArgumentException if {@code lease <= 0}, {@code lease} is shorter than 1ms or not
     *         shorter than about 73 years, {@code renewEvery <= 0}, {@code renewEvery} is shorter than 1ms
     *         (a third of a lease under 3ms), {@code renewEvery >= lease} or {@code pollInterval <= 0}
     */
    public DistributedLockService build() {
        if (lease.isNegative() || lease.isZero()) {
            throw new IllegalArgumentException("lease must be > 0, was " + lease);
        }
        LeaseBounds.checkLease(lease);
        Duration renew = renewEvery != null ? renewEvery : lease.dividedBy(3);
        if (renew.isNegative() || renew.isZero()) {
            throw new IllegalArgumentException("renewEvery must be > 0, was " + renew);
        }
        Duration shortest = LeaseBounds.shortestRenewal(lease);
        if (renew.compareTo(shortest) < 0) {
            throw new IllegalArgumentException("renewEvery must be >= " + shortest + " (1ms, or a third of a lease"
                    + " under 3ms: each renewal is a call to the store), was " + renew);
        }
        if (renew.compareTo(lease) >= 0) {
            throw new IllegalArgumentException("renewEvery must be < lease (" + lease + "), was " + renew);
        }
        Duration poll = pollInterval;
        if (poll == null) {
            Duration quarter = lease.dividedBy(4);
            poll = quarter.compareTo(MAX_DEFAULT_POLL) < 0 ? quarter : MAX_DEFAULT_POLL;
            if (poll.isZero()) {
                poll = Duration.ofNanos(1);
            }
        } else if (poll.isNegative() || poll.isZero()) {
            throw new IllegalArgumentException("pollInterval must be > 0, was " + poll);
        }
        return new DistributedLockService(backend, lease, renew, poll, timer,
                owner != null ? owner : Owners.thisProcess());
    }
}
