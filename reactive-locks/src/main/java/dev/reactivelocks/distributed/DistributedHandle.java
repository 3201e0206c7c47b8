package dev.reactivelocks.distributed;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockLostException;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.internal.Downgrades;
import dev.reactivelocks.internal.RunToEnd;
import dev.reactivelocks.spi.BackendLease;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.util.retry.Retry;

/**
 * A grant of a {@link DistributedLockService}: the lease in the store plus the service's in-process lock,
 * renewed on the timer until released or lost.
 *
 * <pre>
 *   HELD ──release()──► RELEASED   (renewal stops, lease deleted in the store, then the local lock released)
 *    │ │
 *    │ └──downgrade()──► DOWNGRADING ──store: shared lease──► DOWNGRADED (the local lock downgraded too;
 *    │                     │   renewals paused            release() and lost() are the successor's)
 *    │                     ├──store: unsupported / refused (nothing changed)──► HELD (renewals resume)
 *    │                     └──store: no lease, or outcome unknown──► LOST
 *    └──renewal says gone, or no successful renewal for a whole lease──► LOST
 *                       (lost() completes, renewal stops, lease deleted if still ours, local lock released)
 * </pre>
 *
 * One CAS on {@link #state} decides release against loss and downgrade. {@link #leaseEnd} is the local, conservative
 * end of the lease: the time the last successful grant or renewal was sent, plus the lease.
 */
final class DistributedHandle implements LockHandle {

    private static final int HELD = 0;
    private static final int RELEASED = 1;
    private static final int LOST = 2;
    private static final int DOWNGRADING = 3;
    private static final int DOWNGRADED = 4;

    private final DistributedLockService service;
    private final LockHandle localHandle;
    private final BackendLease grant;
    /** This grant's lease and renewal period. */
    private final Duration lease;
    private final Duration renewEvery;
    private final AtomicInteger state = new AtomicInteger(HELD);
    /** A release asked while the store downgraded the lease: made (and completed) when the downgrade ends. */
    private final AtomicReference<Sinks.@Nullable Empty<Void>> releaseAfterDowngrade = new AtomicReference<>();
    private final Sinks.Empty<Void> lost;
    private final Disposable.Swap renewTask = Disposables.swap();
    private final Disposable.Swap expiryTask = Disposables.swap();
    private volatile long leaseEnd;
    private volatile boolean renewing = true;
    /** Consecutive failed renewals; written only by the renewal chain, one step at a time; read by health checks. */
    private volatile int failures;
    /** The shared grant that replaced this one; written before the state becomes DOWNGRADED. */
    private volatile @Nullable DistributedHandle successor;

    /**
     * @param lease this grant's lease, renewed at the service's ratio of renewal period to lease
     * @param leaseEnd the local, conservative end of the granted lease (service clock)
     */
    DistributedHandle(DistributedLockService service, LockHandle localHandle, BackendLease grant, Duration lease,
                      long leaseEnd) {
        this(service, localHandle, grant, lease, leaseEnd, Sinks.empty());
    }

    private DistributedHandle(DistributedLockService service, LockHandle localHandle, BackendLease grant,
                              Duration lease, long leaseEnd, Sinks.Empty<Void> lost) {
        this.service = service;
        this.localHandle = localHandle;
        this.grant = grant;
        this.lease = lease;
        this.renewEvery = service.renewEvery(lease);
        this.leaseEnd = leaseEnd;
        this.lost = lost;
    }

    /**
     * Starts renewing the lease: first after {@code firstRenewal} (before the lease ends), then every
     * renewEvery. The lease's end is watched while a renewal is due after it, from each renewal sent until it
     * succeeds, and once renewals stop: a grant released before its first renewal costs one timer task, not two.
     */
    void start(Duration firstRenewal) {
        renewAfter(firstRenewal);
    }

    /**
     * Schedules the next renewal after {@code delay} and watches the lease's end unless that renewal comes
     * before it. When renewals stopped meanwhile (the service was disposed), no renewal comes, so the end is
     * watched after all. {@link #renewing} is read after the watch was dropped: a {@link #stopRenewing()}
     * this read misses arms the watch itself, after that drop.
     */
    private void renewAfter(Duration delay) {
        watchEndUnlessRenewedBefore(delay);
        scheduleRenewal(delay);
        if (!renewing) {
            armExpiry();
        }
    }

    /** Watches the lease's end, unless the next renewal, due after {@code delay}, comes before it. */
    private void watchEndUnlessRenewedBefore(Duration delay) {
        if (service.now() + delay.toNanos() < leaseEnd) {
            expiryTask.update(Disposables.disposed());
        } else {
            armExpiry();
        }
    }

    /** The service was disposed: no more renewals; the lease runs out unless released first. */
    void stopRenewing() {
        renewing = false;
        renewTask.dispose();
        armExpiry();
    }

    private void scheduleRenewal(Duration delay) {
        if (state.get() == HELD && renewing) {
            renewTask.update(service.timer().schedule(this::renew, delay.toNanos(), TimeUnit.NANOSECONDS));
        }
    }

    private void renew() {
        if (state.get() != HELD || !renewing) {
            return;
        }
        long sentAt = service.now();
        armExpiry(); // until this renewal, or a later one, succeeds
        BoundedCall.within(service.backend.renew(grant.name(), grant.token(), lease), renewEvery, service.timer())
                .subscribe(renewed -> {
                    if (renewed) {
                        failures = 0;
                        long end = sentAt + lease.toNanos();
                        if (end > leaseEnd) {
                            leaseEnd = end;
                        }
                        renewAfter(renewEvery);
                    } else {
                        lose();
                    }
                }, error -> {
                    service.renewalFailed(error);
                    long remaining = leaseEnd - service.now();
                    if (remaining <= 0) {
                        lose();
                        return;
                    }
                    failures++;
                    long backoff = DistributedLockService.RETRY_MIN.toNanos() << Math.min(failures - 1, 10);
                    long delay = Math.min(Math.min(backoff, DistributedLockService.RETRY_MAX.toNanos()), remaining);
                    scheduleRenewal(Duration.ofNanos(delay));
                });
    }

    private void armExpiry() {
        long delay = Math.max(0, leaseEnd - service.now());
        if (state.get() == HELD) {
            expiryTask.update(service.timer().schedule(this::checkExpiry, delay, TimeUnit.NANOSECONDS));
        }
    }

    private void checkExpiry() {
        if (state.get() != HELD) {
            return;
        }
        if (service.now() >= leaseEnd) {
            lose();
        } else {
            armExpiry();
        }
    }

    private void lose() {
        if (!state.compareAndSet(HELD, LOST) && !state.compareAndSet(DOWNGRADING, LOST)) {
            return;
        }
        renewTask.dispose();
        expiryTask.dispose();
        service.notHolding(this);
        lost.tryEmitEmpty();
        service.releaseInStore(grant.name(), grant.token())
                .then(Mono.defer(localHandle::release))
                .subscribe(null, error -> { });
    }

    @Override
    public String name() {
        return grant.name();
    }

    @Override
    public LockMode mode() {
        return grant.mode();
    }

    @Override
    public long fencingToken() {
        return grant.fencingToken();
    }

    @Override
    public boolean isHeld() {
        return state.get() == HELD;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Stops the renewal, deletes this grant's lease in the store (compare-and-delete on its owner token;
     * transient errors are retried a few times, after which the lease simply expires), then lets the next
     * waiter of this service proceed. Completes empty in every case; after a loss it changes nothing. When
     * the store reports that the lease was already gone (it expired and was taken over or purged), the lock
     * was lost before this release: {@link #lost()} completes. Once subscribed, the release runs to its end
     * even if its subscriber cancels.
     */
    @Override
    public Mono<Void> release() {
        return Mono.defer(() -> {
            if (!state.compareAndSet(HELD, RELEASED)) {
                if (state.get() == DOWNGRADING) {
                    return releaseWhenDowngraded();
                }
                DistributedHandle s = successor;
                return state.get() == DOWNGRADED && s != null ? s.release() : Mono.empty();
            }
            renewTask.dispose();
            expiryTask.dispose();
            service.notHolding(this);
            // a cancel must not stop it halfway: the renewal has stopped, and this service's own hold of the
            // name would never end
            return RunToEnd.start(service.releaseInStore(grant.name(), grant.token())
                    .doOnNext(deleted -> {
                        if (!deleted) {
                            lost.tryEmitEmpty();   // it had expired and was taken over or purged before release
                        }
                    })
                    .then(Mono.defer(localHandle::release)));
        });
    }

    /** Defers a release that came while the store downgrades the lease to the downgrade's end. */
    private Mono<Void> releaseWhenDowngraded() {
        releaseAfterDowngrade.compareAndSet(null, Sinks.empty());
        Sinks.Empty<Void> done = releaseAfterDowngrade.get();
        if (state.get() != DOWNGRADING) {
            releaseDeferred(); // the downgrade ended meanwhile
        }
        return done == null ? release() : done.asMono();
    }

    /** At the end of a downgrade (done, refused or failed): the release asked meanwhile, if any. */
    private void releaseDeferred() {
        Sinks.Empty<Void> done = releaseAfterDowngrade.getAndSet(null);
        if (done != null) {
            release().subscribe(null, done::tryEmitError, done::tryEmitEmpty);
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Completes when a renewal finds the lease gone or taken over, or when no renewal succeeded for a
     * whole lease (including after the service was disposed). Signalled on the timer or the backend's thread.
     */
    @Override
    public Mono<Void> lost() {
        return lost.asMono();
    }

    String token() {
        return grant.token();
    }

    /** @return whether the latest renewal of this grant failed (an error or a timeout) */
    boolean renewalFailing() {
        return failures > 0;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Distributed: first the lease in the store ({@link dev.reactivelocks.spi.LockBackend#downgrade}, one
     * atomic step that also lets the store's queued shared requests through; transient errors are retried a
     * few times within the lease), then this service's in-process lock of the name, so that the shared
     * waiters of this service follow. Renewals pause during the store call; the shared handle renews the
     * same lease token, and {@link #lost()} of this handle completes when the shared grant is lost.
     * Signalled on the backend's thread.
     */
    @Override
    public Mono<LockHandle> downgrade() {
        return Downgrades.deliver(() -> {
            IllegalLockStateException refused = Downgrades.refusal(this);
            if (refused != null) {
                return Mono.error(refused);
            }
            if (!state.compareAndSet(HELD, DOWNGRADING)) {
                return Mono.error(Downgrades.notHeld(this));
            }
            long sentAt = service.now();
            return BoundedCall.within(service.backend.downgrade(grant.name(), grant.token(), lease), lease,
                            service.timer())
                    .retryWhen(Retry.backoff(3, DistributedLockService.RETRY_MIN)
                            .maxBackoff(DistributedLockService.RETRY_MAX)
                            .filter(DistributedHandle::transientError)
                            .scheduler(service.timer()))
                    .onErrorResume(this::failed)
                    .flatMap(shared -> localHandle.downgrade().map(local -> downgraded(local, shared, sentAt)))
                    .switchIfEmpty(Mono.defer(() -> {
                        lose();
                        return Mono.error(new LockLostException(grant.name(), "Lock '" + grant.name()
                                + "' not downgraded: the lease was lost before (expired, released or taken over)",
                                null));
                    }))
                    .doFinally(signal -> releaseDeferred());
        });
    }

    private static boolean transientError(Throwable error) {
        return !(error instanceof LockException) && !(error instanceof UnsupportedOperationException);
    }

    /** The store and the in-process lock are shared now: the successor takes over renewals and release. */
    private LockHandle downgraded(LockHandle local, BackendLease shared, long sentAt) {
        DistributedHandle next = new DistributedHandle(service, local, shared, lease, sentAt + lease.toNanos(), lost);
        successor = next;
        state.set(DOWNGRADED);
        renewTask.dispose();
        expiryTask.dispose();
        service.notHolding(this);
        service.holding(next);
        next.start(renewEvery);
        return next;
    }

    /**
     * The store refused without changing anything (unsupported, or a permanent error): still exclusive,
     * renewals resume. Any other error leaves the lease's mode unknown, so the lock is given up.
     */
    private Mono<BackendLease> failed(Throwable error) {
        if (transientError(error)) {
            lose();
            return Mono.error(new LockLostException(grant.name(), "Lock '" + grant.name()
                    + "' given up: the store failed during its downgrade, which may or may not have happened",
                    error));
        }
        if (state.compareAndSet(DOWNGRADING, HELD)) {
            armExpiry();
            scheduleRenewal(renewEvery); // one call since the last renewal: the usual cadence
        }
        return Mono.error(error);
    }

    @Override
    public String toString() {
        return "LockHandle{name='" + grant.name() + "', mode=" + grant.mode() + ", fencingToken="
                + grant.fencingToken() + ", held=" + isHeld() + "}";
    }
}
