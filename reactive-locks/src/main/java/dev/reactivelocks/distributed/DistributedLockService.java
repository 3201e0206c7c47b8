package dev.reactivelocks.distributed;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockServiceClosedException;
import dev.reactivelocks.LockStats;
import dev.reactivelocks.internal.HeldLocks;
import dev.reactivelocks.internal.LeaseBounds;
import dev.reactivelocks.internal.Owners;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.spi.StoredLease;
import dev.reactivelocks.spi.StoredLock;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.retry.Retry;

/**
 * A {@link LockService} whose locks are leases in a shared store, so that services in different processes
 * and machines exclude each other. The store is a {@link LockBackend}: PostgreSQL (module
 * {@code reactive-locks-postgres}), or {@link InMemoryLockBackend} for tests.
 *
 * <pre>{@code
 * LockService locks = DistributedLockService.builder(backend)
 *     .lease(Duration.ofSeconds(30))        // lost 30s after the last successful renewal
 *     .renewEvery(Duration.ofSeconds(10))   // renewed while held
 *     .build();
 * locks.withLock("nightly-report", handle -> report.run(handle.fencingToken()));
 * }</pre>
 *
 * <p><b>Ownership</b>: every grant gets a random owner token; the backend releases and renews only the
 * lease of that token, so a holder whose lease expired and was taken over cannot release or extend the new
 * owner's lock. Handles belong to their holder, not to a thread or connection.
 *
 * <p><b>Leases</b>: a held lock is renewed every {@code renewEvery} until it is released, lost, or the
 * service is disposed. It is <em>lost</em> when a renewal finds the lease gone (expired and taken over,
 * or deleted), or when no renewal succeeded for a whole lease; then {@link LockHandle#lost()} completes,
 * {@link LockHandle#isHeld()} turns false and the lease is deleted if it still exists. Expiry in the store
 * follows the store's clock; the local loss detection is conservative (it counts the lease from the moment
 * the last successful renewal was <em>sent</em>).
 *
 * <p><b>Inspection</b>: {@link #inspect(String)} and {@link #locks(String)} read the store's live leases,
 * those of every service sharing it, with the owner each holding service was built with
 * ({@link DistributedLockServiceBuilder#owner(String)}, {@code host:pid} by default).
 * {@link LockOptions#lease(Duration)} gives one acquisition a lease of its own.
 *
 * <p><b>Fencing</b>: {@link LockHandle#fencingToken()} comes from the store and is strictly larger for each
 * grant of a name than for every earlier grant, across all clients and takeovers. Pass it to the guarded
 * resource so that it can refuse a stale holder.
 *
 * <p><b>Reentrancy</b>: not reentrant; re-entry within a {@code withLock} body of this service fails with
 * {@link IllegalLockStateException}.
 *
 * <p><b>Fairness</b>: FIFO with writer preference among the waiters of one service (they queue in an
 * in-process lock first, then the head of the queue goes to the store). Between services, a backend with a
 * wait queue ({@link LockBackend#acquireOrQueue}) grants in the order the services' waiters first asked and
 * wakes only the next one; with a backend without one, whichever asks the store first after a release wins.
 *
 * <p><b>Waiting</b>: a waiter does not poll the store in a loop. It sleeps until a release signal from
 * {@link LockBackend#releases()} (PostgreSQL {@code LISTEN/NOTIFY}) names its lock or its token, or until the fallback
 * poll interval elapsed (to notice expired leases). Transient backend errors are retried with backoff
 * within the caller's timeout. The services of one backend (compared by identity) share one subscription to
 * its signals, which routes each signal to the waiters it names: a signal costs the same with one service on
 * the backend or thousands.
 *
 * <p><b>Memory effects</b>: actions of a holder before its release happen-before the actions of a holder in
 * the same JVM granted after it; across processes, ordering is whatever the store guarantees.
 *
 * <p><b>Cancellation</b>: cancelling a pending acquisition leaves the queue; a store grant obtained after
 * the cancellation (or timeout) is released in the store, never leaked. The timeout of
 * {@link LockOptions#timeout(Duration)} covers the whole wait, local and in the store.
 *
 * <p><b>Threading</b>: nothing blocks. Grants are signalled on the backend's threads (for PostgreSQL the
 * driver's event loop) or on the timer scheduler; timeouts, polls and renewals run on the timer scheduler.
 *
 * <p><b>Lifecycle</b>: disposing fails pending acquisitions with {@link LockServiceClosedException} and
 * stops renewals; held locks then stay held until released or until their lease runs out, after which
 * {@code lost()} completes. The backend is not closed: close it yourself.
 */
public final class DistributedLockService implements LockService {

    static final Duration RETRY_MIN = Duration.ofMillis(20);
    static final Duration RETRY_MAX = Duration.ofMillis(500);

    final LockBackend backend;
    final Duration lease;
    final Duration renewEvery;
    final Duration pollInterval;
    /** How long a store queue entry outlives the last call of its waiter: a few polls and a retry backoff. */
    final Duration keepQueued;
    private final @Nullable Scheduler timer;
    private final InProcessLockService local;
    private final String tokenPrefix;
    private final String owner;
    private final AtomicLong tokenCounter = new AtomicLong();
    /** This service's acquisitions registered for signals: failed when the service is disposed. */
    private final Set<RemoteAcquisition> waiting = ConcurrentHashMap.newKeySet();
    private final Set<DistributedHandle> held = ConcurrentHashMap.newKeySet();
    private final BackendSignals signals;
    private final AtomicBoolean signalsJoined = new AtomicBoolean(true);
    /** How a failed release in the store is retried (one spec for all: it is immutable). */
    private final Retry releaseRetry;
    private volatile boolean closed;
    private volatile @Nullable Throwable lastRenewalFailure;

    DistributedLockService(LockBackend backend, Duration lease, Duration renewEvery, Duration pollInterval,
                           @Nullable Scheduler timer, String owner) {
        this.backend = backend;
        this.lease = lease;
        this.renewEvery = renewEvery;
        this.pollInterval = pollInterval;
        this.keepQueued = pollInterval.multipliedBy(3).plus(RETRY_MAX);
        this.timer = timer;
        this.local = timer != null ? LockService.builder().timer(timer).build() : LockService.builder().build();
        this.owner = owner;
        this.tokenPrefix = owner + Owners.SEPARATOR + Long.toHexString(new SecureRandom().nextLong());
        this.releaseRetry = Retry.backoff(3, RETRY_MIN).maxBackoff(RETRY_MAX).scheduler(timer());
        this.signals = BackendSignals.join(backend, timer);
    }

    /**
     * @param backend the store of leases, shared by all services that must exclude each other
     * @return a builder with a 30 second lease renewed every 10 seconds
     */
    public static DistributedLockServiceBuilder builder(LockBackend backend) {
        return new DistributedLockServiceBuilder(backend);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Named semaphores ({@link LockOptions#permits(int)}) count permits in the store, across all services,
     * when the backend does ({@link LockBackend#countsPermits()}); otherwise they throw
     * {@link IllegalArgumentException}. Services that disagree on the number of permits of a name get a
     * {@link dev.reactivelocks.LockConfigurationException}. A {@link LockOptions#lease(Duration) lease} in the
     * options replaces the service's for this grant, and is renewed at the service's ratio of renewal period
     * to lease. The timeout covers the wait behind this service's own waiters and the wait in the store. Transient
     * backend errors are retried until the timeout; without timeout they are retried until the grant, a
     * cancel or the service's disposal. A {@link dev.reactivelocks.LockTimeoutException} of an acquisition
     * whose calls to the store failed carries the last of those transient errors as a suppressed exception
     * (it has no cause). A permanent backend error (a {@code LockException}, such as a misconfigured store) is
     * signalled as is.
     */
    @Override
    public Mono<LockHandle> acquire(String name, LockOptions options) {
        checkName(name);
        checkOptions(options);
        return acquire(name, options, options.timeoutOrNull(), false);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Asks the store once; an expired lease of another holder counts as free. A transient backend error
     * is retried twice, then signalled as {@link dev.reactivelocks.LockUnavailableException}.
     */
    @Override
    public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
        checkName(name);
        checkOptions(options);
        return acquire(name, options, null, true);
    }

    private Mono<LockHandle> acquire(String name, LockOptions options, @Nullable Duration timeout, boolean tryOnly) {
        return new RemoteAcquisition.AcquireMono(this, name, options.mode(),
                options.limitsHolders() ? options.maxHolders() : 0, timeout, options.lease().orElse(lease), tryOnly);
    }

    /**
     * The renewal period of a grant with {@code grantLease}: the service's renewal period for its own lease,
     * the same fraction of any other lease, but never shorter than {@link LeaseBounds#shortestRenewal} of it
     * (a service that renews its 30-second lease every millisecond does not renew a 1-millisecond lease every
     * 33 nanoseconds).
     */
    Duration renewEvery(Duration grantLease) {
        if (grantLease.equals(lease)) {
            return renewEvery;
        }
        double fraction = (double) renewEvery.toNanos() / lease.toNanos();
        return Duration.ofNanos(Math.max(LeaseBounds.shortestRenewal(grantLease).toNanos(),
                (long) (grantLease.toNanos() * fraction)));
    }

    /** The in-process service that admits one waiter per name of this service to the store. */
    LockService local() {
        return local;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Reads the name's live leases from the backend ({@link LockBackend#inspect(String)}): the holders
     * of every service sharing the store. Times and expiries are the store's; the
     * {@link LockInfo#owners() owners} are those the holding services were built with
     * ({@link DistributedLockServiceBuilder#owner(String)}); {@link LockInfo#waiting()} counts the entries of
     * the store's wait queue plus this service's acquisitions waiting behind its own holders, and is empty
     * when the backend keeps no queue. Errors with {@link UnsupportedOperationException} when the backend
     * does not support inspection, and with the backend's error when the store cannot be read.
     */
    @Override
    public Mono<LockInfo> inspect(String name) {
        checkName(name);
        return backend.inspect(name).map(this::info);
    }

    /** {@inheritDoc} See {@link #inspect(String)}; the backend lists the names ({@link LockBackend#locks}). */
    @Override
    public Flux<LockInfo> locks(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        return backend.locks(prefix).map(this::info);
    }

    private LockInfo info(StoredLock stored) {
        return info(stored, local.stats(stored.name()).map(LockStats::pending).orElse(0));
    }

    /**
     * The locks held in a store, read without a service: no release signals are subscribed to and no lock is
     * taken, so this suits tools that only look (such as {@code reactive-locks list}). The same
     * {@link LockInfo}s as {@link #locks(String)} of a service on {@code backend}, except that
     * {@link LockInfo#waiting()} counts the store's wait queue only.
     *
     * @param backend the store
     * @param prefix the start of the names; {@code ""} for all
     * @return a cold {@code Flux} of the held locks, erroring as {@link LockBackend#locks(String)}
     */
    public static Flux<LockInfo> storedLocks(LockBackend backend, String prefix) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(prefix, "prefix");
        return backend.locks(prefix).map(stored -> info(stored, 0));
    }

    /** {@code stored} as a {@link LockInfo}, with {@code localWaiting} more waiters than the store's queue. */
    private static LockInfo info(StoredLock stored, int localWaiting) {
        List<StoredLease> leases = new ArrayList<>(stored.leases());
        leases.sort(Comparator.comparingLong(StoredLease::fencingToken));
        StoredLease latest = leases.get(leases.size() - 1);
        LockMode mode = leases.stream().anyMatch(l -> l.mode() == LockMode.EXCLUSIVE) ? LockMode.EXCLUSIVE
                : LockMode.SHARED;
        LockInfo.Builder info = LockInfo.builder(stored.name(), mode, mode == LockMode.EXCLUSIVE ? 1 : leases.size())
                .fencingToken(latest.fencingToken())
                .leaseExpiry(leases.stream().map(StoredLease::expiresAt).max(Comparator.naturalOrder()).orElseThrow());
        leases.stream().flatMap(l -> l.grantedAt().stream()).min(Comparator.naturalOrder()).ifPresent(info::heldSince);
        leases.forEach(l -> Owners.of(l.token()).ifPresent(info::owner));
        stored.waiting().ifPresent(queued -> info.waiting(queued + localWaiting));
        return info.build();
    }

    /** @return the owner description this service writes with its leases */
    public String owner() {
        return owner;
    }

    private static void checkName(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("name must not be empty");
        }
    }

    private void checkOptions(LockOptions options) {
        Objects.requireNonNull(options, "options");
        if (options.limitsHolders() && !backend.countsPermits()) {
            throw new IllegalArgumentException("DistributedLockService does not count holders on " + backend
                    + ": LockOptions.permits(" + options.maxHolders() + ") is not supported, was " + options);
        }
    }

    Scheduler timer() {
        return timer != null ? timer : Schedulers.parallel();
    }

    long now() {
        return timer().now(TimeUnit.NANOSECONDS);
    }

    boolean closed() {
        return closed;
    }

    String newToken() {
        return tokenPrefix + "-" + Long.toHexString(tokenCounter.incrementAndGet()) + "-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong());
    }

    /** Registers a waiter for the signals of its name and for those addressed to its token. */
    void register(RemoteAcquisition a) {
        waiting.add(a);
        signals.register(a);
        if (closed) {
            a.fail(new LockServiceClosedException(a.name));
        }
    }

    void deregister(RemoteAcquisition a) {
        signals.deregister(a);
        waiting.remove(a);
    }

    void holding(DistributedHandle h) {
        held.add(h);
        if (closed) {
            h.stopRenewing();
        }
    }

    void notHolding(DistributedHandle h) {
        held.remove(h);
    }

    /**
     * Deletes the lease of {@code token} in the store, retrying transient errors a few times.
     *
     * @return {@code false} only when the store answered that the token held no lease any more
     */
    Mono<Boolean> releaseInStore(String name, String token) {
        return BoundedCall.within(backend.release(name, token), lease, timer())
                .retryWhen(releaseRetry)
                .onErrorResume(error -> Mono.just(Boolean.TRUE))
                .defaultIfEmpty(Boolean.TRUE);
    }

    /**
     * @return the number of locks this service currently holds (granted, neither released nor lost)
     */
    public int heldCount() {
        return held.size();
    }

    void renewalFailed(Throwable error) {
        lastRenewalFailure = error;
    }

    /**
     * How many of the locks this service holds are failing to renew their lease: their latest renewal
     * ended in an error or did not answer within {@code renewEvery}. Each keeps retrying with backoff and is
     * lost when no renewal succeeds within its lease; a renewal that finds the lease gone is a loss, not a
     * failure. Zero while the store confirms the renewals (and when nothing is held), so a store that became
     * unreachable or too slow shows here before the locks are lost: a health check reads it.
     *
     * @apiNote Costs one pass over the held locks; meant for health checks, not for every acquisition.
     * @return the number of held locks whose latest renewal failed
     */
    public int failingRenewalCount() {
        int failing = 0;
        for (DistributedHandle h : held) {
            if (h.renewalFailing()) {
                failing++;
            }
        }
        return failing;
    }

    /**
     * The error of the most recent failed renewal of this service, kept after later renewals succeed; read
     * it together with {@link #failingRenewalCount()}.
     *
     * @return the error, or {@code null} if no renewal has failed yet
     */
    public @Nullable Throwable lastRenewalFailure() {
        return lastRenewalFailure;
    }

    /**
     * Disposes the service: pending acquisitions error with {@link LockServiceClosedException}, renewals
     * stop, and the service stops listening to release signals (the backend's shared subscription ends with
     * its last service). Held locks stay held until released or until
     * their lease expires ({@code lost()} then completes). The backend stays open.
     *
     * @return a {@code Mono} completing when the service is closed
     */
    @Override
    public Mono<Void> disposeLater() {
        return Mono.fromRunnable(this::close).then(Mono.defer(local::disposeLater));
    }

    private void close() {
        closed = true;
        if (signalsJoined.compareAndSet(true, false)) {
            signals.leave(backend, timer);
        }
        for (RemoteAcquisition a : List.copyOf(waiting)) {
            a.fail(new LockServiceClosedException(a.name));
        }
        held.forEach(DistributedHandle::stopRenewing);
    }

    @Override
    public boolean isDisposed() {
        return closed;
    }


    @Override
    public String toString() {
        return "DistributedLockService{backend=" + backend + ", lease=" + lease + ", renewEvery=" + renewEvery
                + ", held=" + held.size() + ", closed=" + closed + "}";
    }
}
