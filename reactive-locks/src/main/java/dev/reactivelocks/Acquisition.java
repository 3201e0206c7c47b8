package dev.reactivelocks;

import dev.reactivelocks.internal.Downgrades;
import dev.reactivelocks.spi.AcquisitionMono;
import dev.reactivelocks.spi.GrantDelivery;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;

/**
 * One subscription to {@link InProcessLockService#acquire}: the waiter in the queue, and once granted the
 * {@link LockHandle} itself (one object per acquisition).
 *
 * <pre>
 *            request(n)           grant (in queue's critical section)          release() or the subscriber
 *   NEW ─────────────────► PENDING ─────────────────────► GRANTED (held) ─────────────────────────► RELEASED
 *    │                      │                                │ deliver() outside the critical section:
 *    │ cancel               │ cancel / timeout / dispose /   │ {@link GrantDelivery#emit}; a cancel before it
 *    ▼                      │ try-busy / limit reached       │ releases, a cancel after it is ignored
 * CANCELLED ◄───────────────┘                                │ ({@link GrantDelivery#cancelGranted})
 *                                                            │ downgrade() (in the critical section)
 *                                                            ▼
 *                                  DOWNGRADED: release() releases the successor, a new GRANTED shared grant
 * </pre>
 *
 * One CAS on {@link #state} decides between grant, cancel and timeout: a grant wins only when it moves
 * PENDING to GRANTED first. After the grant, the delivery protocol shared by every acquisition decides: a
 * cancel before the emission releases the grant (by the same CAS GRANTED to RELEASED as
 * {@link #release()}, so exactly once); from the emission on, the handle is the subscriber's.
 */
final class Acquisition extends GrantDelivery implements LockHandle, org.reactivestreams.Subscription {

    static final int NEW = 0;
    static final int PENDING = 1;
    static final int GRANTED = 2;
    static final int CANCELLED = 3;
    static final int RELEASED = 4;
    /** Replaced by the shared grant {@link #successor} ({@link #downgrade()}); not held any more. */
    static final int DOWNGRADED = 5;

    /** Why the queue turned this acquisition away (set in the critical section, read by the same thread). */
    static final byte NOT_REJECTED = 0;
    static final byte REJECTED_BUSY = 1;
    static final byte REJECTED_FULL = 2;
    static final byte REJECTED_CLOSED = 3;

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Acquisition.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final DefaultInProcessLockService service;
    final String name;
    final LockMode mode;
    final int maxHolders;
    final @Nullable Duration timeout;
    final boolean tryOnly;
    final CoreSubscriber<? super LockHandle> actual;

    private volatile int state;
    private volatile @Nullable Disposable timer;
    private long fencingToken;
    private long requestedAt;
    private long grantedAt;

    // Guarded by the critical section of the name's LockQueue.
    @Nullable Acquisition prev;
    @Nullable Acquisition next;
    boolean linked;
    byte rejected;
    /** Granted by {@link DefaultInProcessLockService#enqueue} itself; written and read by the enqueuing thread. */
    boolean grantedOnEnqueue;

    // Owned by the thread's GrantTrampoline.
    @Nullable Acquisition nextGrant;

    /** The shared grant that replaced this one; written before the state becomes DOWNGRADED. */
    private volatile @Nullable Acquisition successor;

    Acquisition(DefaultInProcessLockService service, String name, LockOptions options, @Nullable Duration timeout,
                boolean tryOnly, CoreSubscriber<? super LockHandle> actual) {
        this.service = service;
        this.name = name;
        this.mode = options.mode();
        this.maxHolders = options.maxHolders();
        this.timeout = timeout;
        this.tryOnly = tryOnly;
        this.actual = actual;
    }

    /**
     * A shared grant replacing {@code exclusive} (see {@link DefaultInProcessLockService#downgrade}); not
     * granted yet.
     */
    private Acquisition(Acquisition exclusive) {
        this(exclusive.service, exclusive.name, LockOptions.shared(), null, false, exclusive.actual);
        state = PENDING;
    }

    int state() {
        return state;
    }

    /**
     * In the critical section of the name: replaces this held exclusive grant by a shared one with fencing
     * token {@code token}.
     *
     * @return the shared grant, or {@code null} when this grant is not held any more
     */
    @Nullable Acquisition downgradeLocked(long token) {
        Acquisition shared = new Acquisition(this);
        successor = shared;
        if (!casState(GRANTED, DOWNGRADED)) {
            return null;
        }
        shared.grant(token);
        shared.grantedAt = System.nanoTime();
        return shared;
    }

    boolean casState(int expected, int next) {
        return STATE.compareAndSet(this, expected, next);
    }

    /** Called in the critical section when the queue grants this acquisition. */
    boolean grant(long token) {
        if (!casState(PENDING, GRANTED)) {
            return false;
        }
        fencingToken = token;
        return true;
    }

    @Override
    public void request(long n) {
        if (n <= 0) {
            if (emitted()) {
                return; // the subscription has completed: nothing to cancel or signal (rules 3.6, 1.7)
            }
            cancel();
            actual.onError(Exceptions.nullOrNegativeRequestException(n));
            return;
        }
        if (casState(NEW, PENDING)) {
            if (service.log().isDebugEnabled()) {
                requestedAt = System.nanoTime();
                service.log().debug("Acquiring lock '{}' ({})", name, mode);
            }
            service.enqueue(this);
        }
    }

    /** After {@link DefaultInProcessLockService#enqueue}: start the timeout, or signal a rejection. */
    void afterEnqueue() {
        if (rejected != NOT_REJECTED && cancelRequested()) {
            return; // the subscriber cancelled meanwhile: nothing is signalled after a cancel
        }
        switch (rejected) {
            case REJECTED_BUSY:
                if (tryOnly) {
                    actual.onComplete();
                } else {
                    actual.onError(new LockTimeoutException(name, mode, Duration.ZERO));
                }
                return;
            case REJECTED_FULL:
                actual.onError(new LockUnavailableException(name, "Lock '" + name + "' (" + mode
                        + ") not acquired: " + service.maxPending() + " acquisitions already pending (maxPending)"));
                return;
            case REJECTED_CLOSED:
                actual.onError(new LockServiceClosedException(name));
                return;
            default:
                if (timeout != null && state == PENDING) {
                    startTimer(timeout);
                }
        }
    }

    private void startTimer(Duration timeout) {
        Disposable task;
        try {
            task = service.timer().schedule(this::onTimeout, timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            fail(e);
            return;
        }
        timer = task;
        if (state != PENDING) {
            task.dispose();
        }
    }

    private void onTimeout() {
        fail(new LockTimeoutException(name, mode, timeout == null ? Duration.ZERO : timeout));
    }

    /** Leaves the queue and signals {@code error}, unless a grant or cancel got there first. */
    void fail(Throwable error) {
        if (casState(PENDING, CANCELLED)) {
            service.remove(this);
            if (!cancelRequested()) {
                actual.onError(error);
            }
        }
    }

    /** The service closed while this acquisition was pending (already moved to CANCELLED). */
    void failClosed() {
        disposeTimer();
        if (!cancelRequested()) {
            actual.onError(new LockServiceClosedException(name));
        }
    }

    /** Signals the grant to the subscriber, or releases it when the subscriber cancelled meanwhile. */
    void deliver() {
        disposeTimer();
        if (service.log().isDebugEnabled()) {
            grantedAt = System.nanoTime();
            service.log().debug("Acquired lock '{}' ({}) after waiting {}", name, mode, seconds(grantedAt - requestedAt));
        }
        emit(actual, this);
    }

    @Override
    protected void releaseGranted() {
        releaseNow();
    }

    @Override
    public void cancel() {
        noteCancel();
        for (;;) {
            int s = state;
            if (s == NEW) {
                if (casState(NEW, CANCELLED)) {
                    return;
                }
            } else if (s == PENDING) {
                if (casState(PENDING, CANCELLED)) {
                    disposeTimer();
                    service.remove(this);
                    return;
                }
            } else if (s == CANCELLED) {
                return;
            } else {
                cancelGranted(); // GRANTED or RELEASED: released if not emitted yet, else ignored
                return;
            }
        }
    }

    private void disposeTimer() {
        Disposable t = timer;
        if (t != null) {
            t.dispose();
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public LockMode mode() {
        return mode;
    }

    @Override
    public long fencingToken() {
        return fencingToken;
    }

    @Override
    public boolean isHeld() {
        return state == GRANTED;
    }

    @Override
    public Mono<Void> release() {
        return Mono.fromRunnable(this::releaseNow);
    }

    private void releaseNow() {
        if (casState(GRANTED, RELEASED)) {
            if (service.log().isDebugEnabled()) {
                service.log().debug("Released lock '{}' ({}) held {}", name, mode, seconds(System.nanoTime() - grantedAt));
            }
            service.release(this);
        } else if (state == DOWNGRADED) {
            Objects.requireNonNull(successor, "downgraded without successor").releaseNow();
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>In-process: one step in the name's critical section, on the subscribing thread; shared waiters it
     * lets through are signalled on that thread before the shared handle is.
     */
    @Override
    public Mono<LockHandle> downgrade() {
        return Downgrades.deliver(() -> {
            IllegalLockStateException refused = Downgrades.refusal(this);
            return refused != null ? Mono.error(refused) : Mono.fromSupplier(() -> service.downgrade(this));
        });
    }

    /** Formats like oslo.concurrency's lock logging: {@code 0.012s}. */
    static String seconds(long nanos) {
        return String.format(java.util.Locale.ROOT, "%.3fs", nanos / 1e9);
    }

    @Override
    public Mono<Void> lost() {
        return Mono.never();
    }

    @Override
    public String toString() {
        return "LockHandle{name='" + name + "', mode=" + mode + ", fencingToken=" + fencingToken + ", held="
                + isHeld() + "}";
    }

    /** The cold {@code Mono} returned by acquire/tryAcquire: each subscription is one acquisition. */
    static final class AcquireMono extends AcquisitionMono {

        private final DefaultInProcessLockService service;
        private final String name;
        private final LockOptions options;
        private final @Nullable Duration timeout;
        private final boolean tryOnly;

        AcquireMono(DefaultInProcessLockService service, String name, LockOptions options, @Nullable Duration timeout,
                    boolean tryOnly) {
            this.service = service;
            this.name = name;
            this.options = options;
            this.timeout = timeout;
            this.tryOnly = tryOnly;
        }

        @Override
        public void subscribe(CoreSubscriber<? super LockHandle> actual) {
            IllegalLockStateException reentry =
                    dev.reactivelocks.internal.HeldLocks.reentry(actual.currentContext(), service, name, options.mode());
            if (reentry != null) {
                Operators.error(actual, reentry);
                return;
            }
            if (service.isDisposed()) { // without waiting for a request; a close racing the request fails it then
                Operators.error(actual, new LockServiceClosedException(name));
                return;
            }
            actual.onSubscribe(new Acquisition(service, name, options, timeout, tryOnly, actual));
        }
    }
}
