package dev.reactivelocks.distributed;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockServiceClosedException;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.LockUnavailableException;
import dev.reactivelocks.internal.AcquisitionCore;
import dev.reactivelocks.internal.HeldLocks;
import dev.reactivelocks.spi.AcquisitionMono;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.GrantDelivery;
import dev.reactivelocks.spi.HandOff;
import dev.reactivelocks.spi.LockBackend;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * One subscription to {@link DistributedLockService#acquire}: first the service's in-process lock for the
 * name (so one service sends one waiter per name to the store), then the store step, which asks the backend
 * until it grants, the deadline passes, or the subscriber cancels. It is the publisher the caller subscribes
 * to, so that a cancel always reaches it, also after the grant.
 *
 * <pre>
 *           request          local grant        busy / error: sleep until wake-up, poll or backoff
 *   LOCAL ──────────► (local) ──────────► TRYING ◄───────────────────────────────────────────► IDLE
 *    │ cancel / local         │             │ grant: GRANTED, the handle goes through
 *    │ timeout or error       │             │ {@link GrantDelivery#emit} (a cancel before the emission
 *    ▼                        │             │ releases it, a later one is ignored)
 * CANCELLED / DONE            │             │ busy with tryAcquire, or error: DONE (empty / error)
 *                             │  cancel / timeout / dispose while TRYING or IDLE
 *                             ▼
 * CANCELLED: the call in flight finishes, then its outcome is undone (a grant is released in the store)
 * </pre>
 *
 * A hand-off from the store ({@link dev.reactivelocks.spi.LockBackend#handOffs()}) that finds the
 * acquisition IDLE moves it straight to GRANTED, without a call; while TRYING it only counts as a wake-up
 * (the next call finds the lease as already held); after CANCELLED or DONE it is ignored, because leaving
 * releases the token in the store, which deletes a handed-off lease as well as a queue entry.
 *
 * The state word, the request rules, the deadline and the cancel loop are the {@link AcquisitionCore}'s (LOCAL
 * is its PENDING; IDLE and TRYING are waiting states too); one CAS on its state decides every race. Only the thread that moved IDLE to TRYING calls the
 * backend, so at most one call is in flight. A wake-up that arrives while TRYING sets {@link #missed} and
 * the busy outcome then retries at once, so a release signal is never lost between "busy" and "sleep".
 * Undoing (local release, store release) happens exactly once: by whoever moves the state to CANCELLED
 * when no call is in flight, otherwise by the completion of the call in flight.
 */
final class RemoteAcquisition extends AcquisitionCore implements CoreSubscriber<LockHandle> {

    static final int LOCAL = PENDING;
    static final int IDLE = PENDING + 1;
    static final int TRYING = PENDING + 2;
    static final int DONE = PENDING + 3;
    static final int GRANTED = PENDING + 4;

    private static final int TRY_ONLY_ATTEMPTS = 3;

    final DistributedLockService service;
    final String name;
    final String key;
    final LockMode mode;
    /** The permits of a semaphore's name, 0 for a plain lock. */
    final int permits;
    final String token;
    private final @Nullable Duration timeout;
    /** The lease of this grant: the service's, or the one of the caller's options. */
    private final Duration lease;
    private final long subscribedAt;
    private final boolean tryOnly;

    /** The in-process grant; written before the state leaves LOCAL. */
    private volatile @Nullable LockHandle localHandle;
    private volatile @Nullable Subscription localSubscription;
    // Written before the state leaves LOCAL, read after.
    private long deadline;
    private boolean singleAttempt;
    private final AtomicBoolean missed = new AtomicBoolean();
    private final Disposable.Swap sleep = Disposables.swap();
    /**
     * Set once the store may hold a lease or a queue entry of our token: a call failed without telling its
     * outcome, or a waiting call was answered busy (a backend with a wait queue then queued the token).
     */
    private volatile boolean maybeHeld;
    /** Consecutive failed calls; touched only by the thread of the call in flight. */
    private int errors;
    /**
     * The last transient error of a call to the backend, attached to the timeout as suppressed; cleared when
     * the acquisition ends (by {@link #finish()}, or by {@link #noteTransient} after a late call), so that a
     * handle's subscription does not keep it.
     */
    private volatile @Nullable Throwable lastTransient;
    /**
     * When the last call that left the token queued was sent: the store's entry, and so a hand-off's lease,
     * lives at least {@code keepQueued} from then. Written by the call in flight before the state leaves
     * TRYING, read after a CAS from IDLE.
     */
    private long queuedAt;
    /** The granted handle; written before it is emitted. */
    private volatile @Nullable DistributedHandle handle;

    RemoteAcquisition(DistributedLockService service, String name, LockMode mode, int permits,
                      @Nullable Duration timeout, Duration lease, boolean tryOnly,
                      CoreSubscriber<? super LockHandle> actual) {
        super(actual);
        this.service = service;
        this.name = name;
        this.key = service.backend.signalKey(name);
        this.mode = mode;
        this.permits = permits;
        this.token = service.newToken();
        this.timeout = timeout;
        this.lease = lease;
        this.subscribedAt = service.now();
        this.tryOnly = tryOnly;
    }

    @Override
    protected void start() {
        LockOptions options = permits > 0 ? LockOptions.permits(permits) : LockOptions.of(mode);
        Mono<LockHandle> localGrant = tryOnly ? service.local().tryAcquire(name, options)
                : service.local().acquire(name, timeout == null ? options : options.timeout(timeout));
        localGrant.subscribe(this);
    }

    // ---- the in-process lock of the name ---------------------------------------------------------------

    @Override
    public void onSubscribe(Subscription s) {
        localSubscription = s;
        if (state() == LOCAL) {
            s.request(1);
        } else {
            s.cancel();
        }
    }

    @Override
    public void onNext(LockHandle local) {
        localHandle = local;
        long remaining = timeout == null ? Long.MAX_VALUE : timeout.toNanos() - (service.now() - subscribedAt);
        deadline = timeout == null ? Long.MAX_VALUE : service.now() + Math.max(0, remaining);
        singleAttempt = tryOnly || (timeout != null && remaining <= 0);
        if (!casState(LOCAL, TRYING)) {
            local.release().subscribe(null, error -> { }); // cancelled while the grant was on its way
            return;
        }
        startStoreStep();
    }

    @Override
    public void onError(Throwable error) {
        if (casState(LOCAL, DONE) && !cancelRequested()) {
            actual.onError(error); // in-process timeout, or the service closed
        }
    }

    @Override
    public void onComplete() {
        if (localHandle == null && casState(LOCAL, DONE) && !cancelRequested()) {
            actual.onComplete(); // tryAcquire: busy in this service already
        }
    }

    @Override
    public Context currentContext() {
        return actual.currentContext();
    }

    // ---- the store step --------------------------------------------------------------------------------

    /** Holding the in-process lock (state TRYING): registers for wake-ups and asks the store. */
    private void startStoreStep() {
        service.register(this);
        if (!singleAttempt && timeout != null) {
            long delay = Math.max(0, deadline - service.now());
            Duration t = timeout;
            startDeadline(service.timer(), delay, () -> timedOut(t));
        }
        if (state() == TRYING) {
            attempt();
        } else {
            undo(false); // failed (service closed) or cancelled while registering
        }
    }

    /** A release signal for this name (or any name), or the end of a sleep. */
    void wake() {
        missed.set(true);
        if (casState(IDLE, TRYING)) {
            missed.set(false);
            attempt();
        }
    }

    private void attempt() {
        long sentAt = service.now();
        LockBackend backend = service.backend;
        Mono<BackendLease> call;
        if (permits > 0) {
            call = singleAttempt ? backend.tryAcquirePermit(name, permits, token, lease)
                    : backend.acquireOrQueuePermit(name, permits, token, lease, service.keepQueued);
        } else {
            call = singleAttempt ? backend.tryAcquire(name, mode, token, lease)
                    : backend.acquireOrQueue(name, mode, token, lease, service.keepQueued);
        }
        BoundedCall.within(call, lease, service.timer()).subscribe(new Answer(sentAt));
    }

    /** The backend's answer to one call: a grant, busy (empty: queued when waiting), or an error. */
    private final class Answer implements CoreSubscriber<BackendLease> {
        private final long sentAt;
        private boolean granted;

        Answer(long sentAt) {
            this.sentAt = sentAt;
        }

        @Override
        public void onSubscribe(Subscription s) {
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(BackendLease grant) {
            granted = true;
            onGrant(grant, sentAt);
        }

        @Override
        public void onError(Throwable error) {
            onStoreError(error);
        }

        @Override
        public void onComplete() {
            if (!granted) {
                queuedAt = sentAt;
                onBusy();
            }
        }
    }

    private void onGrant(BackendLease grant, long sentAt) {
        errors = 0;
        if (!casState(TRYING, GRANTED)) {
            undo(true);
            return;
        }
        deliver(grant, sentAt + lease.toNanos(), service.renewEvery(lease));
    }

    /**
     * The store granted the lease to this waiter's queued token on its own. Granted at once when IDLE,
     * if enough of the hand-off's lease is left to renew it; otherwise a wake-up.
     */
    void handOff(HandOff handOff) {
        if (state() != IDLE) {
            wake(); // TRYING: the call in flight, or the next one, finds the lease; CANCELLED/DONE: ignored
            return;
        }
        long leaseEnd = queuedAt + service.keepQueued.toNanos(); // read after IDLE, which was set after it
        long left = leaseEnd - service.now();
        if (left < DistributedLockService.RETRY_MAX.toNanos() || !casState(IDLE, GRANTED)) {
            wake(); // too little left to renew in time, or no longer IDLE: ask the store
            return;
        }
        deliver(handOff.lease(name), leaseEnd,
                Duration.ofNanos(Math.min(service.renewEvery(lease).toNanos(), left / 2)));
    }

    /** In state GRANTED: the handle, renewed first after {@code firstRenewal}, goes to the subscriber. */
    private void deliver(BackendLease grant, long leaseEnd, Duration firstRenewal) {
        finish();
        DistributedHandle granted = new DistributedHandle(service,
                Objects.requireNonNull(localHandle, "granted before the in-process grant"), grant, lease, leaseEnd);
        service.holding(granted);
        granted.start(firstRenewal);
        handle = granted;
        emit(actual, granted);
    }

    @Override
    protected void releaseGranted() {
        DistributedHandle h = handle;
        if (h != null) {
            h.release().subscribe(null, error -> { });
        }
    }

    private void onBusy() {
        errors = 0;
        if (singleAttempt) {
            if (casState(TRYING, DONE)) {
                @Nullable LockTimeoutException timedOut = tryOnly ? null
                        : timedOut(timeout == null ? Duration.ZERO : timeout);
                finish();
                undo(maybeHeld);
                if (timedOut == null) {
                    actual.onComplete();
                } else {
                    actual.onError(timedOut);
                }
            } else {
                undo(maybeHeld);
            }
            return;
        }
        maybeHeld = true; // queued, with a backend that queues: leaving must remove the entry
        sleepThenRetry(service.pollInterval);
    }

    private void onStoreError(Throwable error) {
        maybeHeld = true;
        if (error instanceof LockException) {
            if (casState(TRYING, DONE)) {
                finish();
                undo(true);
                actual.onError(error);
            } else {
                undo(true);
            }
            return;
        }
        errors++;
        noteTransient(error);
        if (singleAttempt && errors >= TRY_ONLY_ATTEMPTS) {
            if (casState(TRYING, DONE)) {
                finish();
                undo(true);
                LockUnavailableException e = new LockUnavailableException(name, "Lock '" + name + "' (" + mode
                        + ") not acquired: the lock backend failed " + errors + " times: " + error);
                e.addSuppressed(error);
                actual.onError(e);
            } else {
                undo(true);
            }
            return;
        }
        long backoff = DistributedLockService.RETRY_MIN.toNanos() << Math.min(errors - 1, 10);
        sleepThenRetry(Duration.ofNanos(Math.min(backoff, DistributedLockService.RETRY_MAX.toNanos())));
    }

    /**
     * Keeps {@code error} for the timeout, unless the acquisition ended meanwhile: then {@link #finish()} may
     * have cleared the field before this write, and nothing will read it again.
     */
    private void noteTransient(Throwable error) {
        lastTransient = error;
        if (!waiting(state())) {
            lastTransient = null;
        }
    }

    /**
     * The timeout of this acquisition, carrying as suppressed the last transient error of its calls to the
     * backend, if any: why the store did not grant in time, when it was failing rather than busy. Suppressed,
     * because a {@link LockTimeoutException}'s cause is set (to none) by its constructor.
     */
    private LockTimeoutException timedOut(Duration t) {
        LockTimeoutException e = new LockTimeoutException(name, mode, t);
        Throwable last = lastTransient;
        if (last != null) {
            e.addSuppressed(last);
        }
        return e;
    }

    /** After a busy or failed call: retry at once if a wake-up was missed, otherwise sleep. */
    private void sleepThenRetry(Duration delay) {
        for (;;) {
            if (missed.getAndSet(false)) {
                if (state() == TRYING) {
                    attempt();
                } else {
                    undo(maybeHeld);
                }
                return;
            }
            if (!casState(TRYING, IDLE)) {
                undo(maybeHeld);
                return;
            }
            sleep.update(service.timer().schedule(this::wake, delay.toNanos(), TimeUnit.NANOSECONDS));
            if (!missed.get() || !casState(IDLE, TRYING)) {
                return;
            }
        }
    }

    @Override
    protected boolean waiting(int state) {
        return state == LOCAL || state == IDLE || state == TRYING;
    }

    @Override
    protected boolean granted(int state) {
        return state == GRANTED;
    }

    @Override
    protected void left(int from, @Nullable Throwable error) {
        if (from == LOCAL) {
            Subscription local = localSubscription;
            if (local != null) {
                local.cancel(); // a grant racing this is released by onNext or by its delivery
            }
        } else {
            finish();
            if (from == IDLE) {
                undo(maybeHeld); // while TRYING, the call in flight undoes
            }
        }
        if (error != null && !cancelRequested()) {
            actual.onError(error);
        }
    }

    private void finish() {
        lastTransient = null;
        sleep.dispose();
        disposeDeadline();
        service.deregister(this);
    }

    /** Gives the lock back: in the store when it may hold our lease, then the in-process lock. */
    private void undo(boolean inStore) {
        LockHandle local = Objects.requireNonNull(localHandle, "undo before the in-process grant");
        Mono<Boolean> store = inStore ? service.releaseInStore(name, token) : Mono.empty();
        store.then(Mono.defer(local::release)).subscribe(null, error -> { });
    }

    /** The cold {@code Mono} returned by acquire/tryAcquire: each subscription is one acquisition. */
    static final class AcquireMono extends AcquisitionMono {

        private final DistributedLockService service;
        private final String name;
        private final LockMode mode;
        private final int permits;
        private final @Nullable Duration timeout;
        private final Duration lease;
        private final boolean tryOnly;

        AcquireMono(DistributedLockService service, String name, LockMode mode, int permits,
                    @Nullable Duration timeout, Duration lease, boolean tryOnly) {
            this.service = service;
            this.name = name;
            this.mode = mode;
            this.permits = permits;
            this.timeout = timeout;
            this.lease = lease;
            this.tryOnly = tryOnly;
        }

        @Override
        public void subscribe(CoreSubscriber<? super LockHandle> actual) {
            IllegalLockStateException reentry = HeldLocks.reentry(actual.currentContext(), service, name, mode);
            if (reentry != null) {
                Operators.error(actual, reentry);
                return;
            }
            if (service.closed()) {
                Operators.error(actual, new LockServiceClosedException(name));
                return;
            }
            actual.onSubscribe(new RemoteAcquisition(service, name, mode, permits, timeout, lease, tryOnly, actual));
        }
    }
}
