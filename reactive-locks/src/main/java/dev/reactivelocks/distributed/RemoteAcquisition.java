package dev.reactivelocks.distributed;

import dev.reactivelocks.LockException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.LockUnavailableException;
import dev.reactivelocks.spi.BackendLease;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;

/**
 * The store step of one acquisition of a {@link DistributedLockService}: it starts once the acquisition
 * holds the service's in-process lock for the name, and asks the backend until it grants, the deadline
 * passes, or the subscriber cancels.
 *
 * <pre>
 *            request              busy / error: sleep until wake-up, poll or backoff
 *   IDLE ───────────────► TRYING ◄───────────────────────────────────────────► IDLE
 *    │                      │ grant                                              │
 *    │ cancel / timeout /   ▼                                                    │ cancel / timeout /
 *    │ dispose            DONE (handle emitted, or tryAcquire empty / error)     │ dispose
 *    ▼                                                                           ▼
 * CANCELLED ◄──── cancel / timeout / dispose while TRYING: the call in flight finishes, then its
 *                 outcome is undone (a grant is released in the store)
 * </pre>
 *
 * One CAS on {@link #state} decides every race. Only the thread that moved IDLE to TRYING calls the
 * backend, so at most one call is in flight. A wake-up that arrives while TRYING sets {@link #missed} and
 * the busy outcome then retries at once, so a release signal is never lost between "busy" and "sleep".
 * Undoing (local release, store release) happens exactly once: by whoever moves the state to CANCELLED
 * when no call is in flight, otherwise by the completion of the call in flight.
 */
final class RemoteAcquisition implements Subscription {

    static final int IDLE = 0;
    static final int TRYING = 1;
    static final int DONE = 2;
    static final int CANCELLED = 3;

    private static final int TRY_ONLY_ATTEMPTS = 3;

    final DistributedLockService service;
    final LockHandle localHandle;
    final String name;
    final String key;
    final LockMode mode;
    final String token;
    private final @Nullable Duration timeout;
    private final long deadline;
    private final boolean singleAttempt;
    private final boolean tryOnly;
    private final CoreSubscriber<? super LockHandle> actual;

    private final AtomicInteger state = new AtomicInteger(IDLE);
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean missed = new AtomicBoolean();
    private final Disposable.Swap sleep = Disposables.swap();
    private final Disposable.Swap deadlineTimer = Disposables.swap();
    /**
     * Set once the store may hold a lease or a queue entry of our token: a call failed without telling its
     * outcome, or a waiting call was answered busy (a backend with a wait queue then queued the token).
     */
    private volatile boolean maybeHeld;
    /** Consecutive failed calls; touched only by the thread of the call in flight. */
    private int errors;

    RemoteAcquisition(DistributedLockService service, LockHandle localHandle, @Nullable Duration timeout,
                      long start, boolean tryOnly, CoreSubscriber<? super LockHandle> actual) {
        this.service = service;
        this.localHandle = localHandle;
        this.name = localHandle.name();
        this.key = service.backend.signalKey(name);
        this.mode = localHandle.mode();
        this.token = service.newToken();
        this.timeout = timeout;
        this.tryOnly = tryOnly;
        this.actual = actual;
        long remaining = timeout == null ? Long.MAX_VALUE : timeout.toNanos() - (service.now() - start);
        this.deadline = timeout == null ? Long.MAX_VALUE : service.now() + Math.max(0, remaining);
        this.singleAttempt = tryOnly || (timeout != null && remaining <= 0);
    }

    @Override
    public void request(long n) {
        if (n <= 0) {
            cancel();
            actual.onError(Exceptions.nullOrNegativeRequestException(n));
            return;
        }
        if (!started.compareAndSet(false, true)) {
            return;
        }
        service.register(this);
        if (!singleAttempt && timeout != null) {
            long delay = Math.max(0, deadline - service.now());
            deadlineTimer.update(service.timer().schedule(
                    () -> fail(new LockTimeoutException(name, mode, timeout)), delay, TimeUnit.NANOSECONDS));
        }
        if (state.compareAndSet(IDLE, TRYING)) {
            attempt();
        }
    }

    /** A release signal for this name (or any name), or the end of a sleep. */
    void wake() {
        missed.set(true);
        if (state.compareAndSet(IDLE, TRYING)) {
            missed.set(false);
            attempt();
        }
    }

    private void attempt() {
        long sentAt = service.now();
        Mono<BackendLease> call = singleAttempt
                ? service.backend.tryAcquire(name, mode, token, service.lease)
                : service.backend.acquireOrQueue(name, mode, token, service.lease, service.keepQueued);
        call
                .timeout(service.lease, service.timer())
                .map(Optional::of)
                .defaultIfEmpty(Optional.empty())
                .subscribe(grant -> {
                    if (grant.isPresent()) {
                        onGrant(grant.get(), sentAt);
                    } else {
                        onBusy();
                    }
                }, this::onError);
    }

    private void onGrant(BackendLease grant, long sentAt) {
        errors = 0;
        if (!state.compareAndSet(TRYING, DONE)) {
            undo(true);
            return;
        }
        finish();
        DistributedHandle handle = new DistributedHandle(service, localHandle, grant, sentAt);
        service.holding(handle);
        handle.start();
        actual.onNext(handle);
        actual.onComplete();
    }

    private void onBusy() {
        errors = 0;
        if (singleAttempt) {
            if (state.compareAndSet(TRYING, DONE)) {
                finish();
                undo(maybeHeld);
                if (tryOnly) {
                    actual.onComplete();
                } else {
                    actual.onError(new LockTimeoutException(name, mode, timeout == null ? Duration.ZERO : timeout));
                }
            } else {
                undo(maybeHeld);
            }
            return;
        }
        maybeHeld = true; // queued, with a backend that queues: leaving must remove the entry
        sleepThenRetry(service.pollInterval);
    }

    private void onError(Throwable error) {
        maybeHeld = true;
        if (error instanceof LockException) {
            if (state.compareAndSet(TRYING, DONE)) {
                finish();
                undo(true);
                actual.onError(error);
            } else {
                undo(true);
            }
            return;
        }
        errors++;
        if (singleAttempt && errors >= TRY_ONLY_ATTEMPTS) {
            if (state.compareAndSet(TRYING, DONE)) {
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

    /** After a busy or failed call: retry at once if a wake-up was missed, otherwise sleep. */
    private void sleepThenRetry(Duration delay) {
        for (;;) {
            if (missed.getAndSet(false)) {
                if (state.get() == TRYING) {
                    attempt();
                } else {
                    undo(maybeHeld);
                }
                return;
            }
            if (!state.compareAndSet(TRYING, IDLE)) {
                undo(maybeHeld);
                return;
            }
            sleep.update(service.timer().schedule(this::wake, delay.toNanos(), TimeUnit.NANOSECONDS));
            if (!missed.get() || !state.compareAndSet(IDLE, TRYING)) {
                return;
            }
        }
    }

    /** Ends the acquisition with {@code error} (timeout, disposal) unless it is already over. */
    void fail(Throwable error) {
        if (terminate()) {
            actual.onError(error);
        }
    }

    @Override
    public void cancel() {
        terminate();
    }

    private boolean terminate() {
        for (;;) {
            int s = state.get();
            if (s == IDLE) {
                if (state.compareAndSet(IDLE, CANCELLED)) {
                    finish();
                    undo(maybeHeld);
                    return true;
                }
            } else if (s == TRYING) {
                if (state.compareAndSet(TRYING, CANCELLED)) {
                    finish();   // the call in flight undoes
                    return true;
                }
            } else {
                return false;
            }
        }
    }

    private void finish() {
        sleep.dispose();
        deadlineTimer.dispose();
        service.deregister(this);
    }

    /** Gives the lock back: in the store when it may hold our lease, then the in-process lock. */
    private void undo(boolean inStore) {
        Mono<Boolean> store = inStore ? service.releaseInStore(name, token) : Mono.empty();
        store.then(Mono.defer(localHandle::release)).subscribe(null, error -> { });
    }

    /** The {@code Mono} of the store step, subscribed once the in-process lock is held. */
    static final class AcquireMono extends Mono<LockHandle> {

        private final DistributedLockService service;
        private final LockHandle localHandle;
        private final @Nullable Duration timeout;
        private final long start;
        private final boolean tryOnly;

        AcquireMono(DistributedLockService service, LockHandle localHandle, @Nullable Duration timeout, long start,
                    boolean tryOnly) {
            this.service = service;
            this.localHandle = localHandle;
            this.timeout = timeout;
            this.start = start;
            this.tryOnly = tryOnly;
        }

        @Override
        public void subscribe(CoreSubscriber<? super LockHandle> actual) {
            actual.onSubscribe(new RemoteAcquisition(service, localHandle, timeout, start, tryOnly, actual));
        }
    }
}
