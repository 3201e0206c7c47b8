package dev.reactivelocks;

import dev.reactivelocks.internal.AcquisitionCore;
import dev.reactivelocks.internal.SynchronousRelease;
import dev.reactivelocks.internal.Downgrades;
import dev.reactivelocks.spi.AcquisitionMono;
import dev.reactivelocks.spi.GrantDelivery;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;

/**
 * One subscription to {@link InProcessLockService#acquire}: the waiter in the queue, and once granted the
 * {@link LockHandle} itself (one object per acquisition).
 *
 * <pre>
 *            request(n)           grant (in queue's critical section)          release() or the subscriber
 *   NEW ─────────────────► PENDING ─────────────────────► GRANTED (held) ─────────────────────────► RELEASED
 *    │ │  fast path: request(n) on a free name (one CAS) ──► │ emitted at once, cancels ignored from the CAS
 *    │                      │                                │ deliver() outside the critical section:
 *    │ cancel               │ cancel / timeout / dispose /   │ {@link GrantDelivery#emit}; a cancel before it
 *    ▼                      │ try-busy / limit reached       │ releases, a cancel after it is ignored
 * CANCELLED ◄───────────────┘                                │ ({@link GrantDelivery#cancelGranted})
 *                                                            │ downgrade() (in the critical section)
 *                                                            ▼
 *                                  DOWNGRADED: release() releases the successor, a new GRANTED shared grant
 * </pre>
 *
 * The state word, the request rules, the deadline and the cancel loop are the {@link AcquisitionCore}'s; one
 * CAS on its state decides between grant, cancel and timeout: a grant wins only when it moves PENDING to
 * GRANTED first. After the grant, the delivery protocol shared by every acquisition decides: a
 * cancel before the emission releases the grant (by the same CAS GRANTED to RELEASED as
 * {@link #release()}, so exactly once); from the emission on, the handle is the subscriber's.
 */
final class Acquisition extends AcquisitionCore implements LockHandle, SynchronousRelease {

    static final int GRANTED = PENDING + 1;
    static final int RELEASED = PENDING + 2;
    /** Replaced by the shared grant in {@link #prev} ({@link #downgrade()}); not held any more. */
    static final int DOWNGRADED = PENDING + 3;

    /** Why the queue turned this acquisition away (set in the critical section, read by the same thread). */
    static final byte NOT_REJECTED = 0;
    static final byte REJECTED_BUSY = 1;
    static final byte REJECTED_FULL = 2;
    static final byte REJECTED_CLOSED = 3;

    /**
     * The acquire {@code Mono} subscribed: service, name, mode and timeout, shared by its subscriptions (one
     * reference here instead of six fields: the acquisition is allocated per subscription).
     */
    final AcquireMono source;

    private long fencingToken;
    /**
     * The name's entry when granted through its fast path (see {@link LockQueue}): its release tries that
     * first, on this entry (it stays in the map while held), without looking the name up again.
     */
    private @Nullable LockQueue fastQueue;
    /** With debug logging: when requested, then when granted (System.nanoTime). */
    private long debugNanos;

    // Guarded by the critical section of the name's LockQueue.
    /**
     * The previous waiter while {@link #linked}. Once granted it is never linked again, and the field holds
     * the shared grant that replaced this one after {@link #downgradeLocked} (written before the state becomes
     * DOWNGRADED, read after seeing DOWNGRADED: the state's CAS publishes it). One field for both, as the
     * acquisition is allocated per subscription.
     */
    @Nullable Acquisition prev;
    /**
     * The next waiter while {@link #linked}; once granted and unlinked, the next grant on the granting
     * thread's {@link GrantTrampoline} (owned by that thread).
     */
    @Nullable Acquisition next;
    boolean linked;
    byte rejected;
    /** Granted by {@link DefaultInProcessLockService#enqueue} itself; written and read by the enqueuing thread. */
    boolean grantedOnEnqueue;
    /**
     * Whether the release of this acquisition granted waiters (pushed on the releasing thread's trampoline);
     * written and read by the one thread that releases it. Kept apart from {@link #removalGrants}, which the
     * thread of a cancel or timeout writes: the two threads may differ.
     */
    boolean releaseGrants;
    /** Whether the removal of this acquisition from the queue granted waiters; see {@link #releaseGrants}. */
    boolean removalGrants;

    Acquisition(AcquireMono source, CoreSubscriber<? super LockHandle> actual) {
        super(actual);
        this.source = source;
    }

    /**
     * A shared grant replacing {@code exclusive} (see {@link DefaultInProcessLockService#downgrade}); not
     * granted yet.
     */
    private Acquisition(Acquisition exclusive) {
        this(new AcquireMono(exclusive.service(), exclusive.name(), LockOptions.shared(), null, false), exclusive.actual);
        initState(PENDING);
    }

    /**
     * In the critical section of the name: replaces this held exclusive grant by a shared one with fencing
     * token {@code token}.
     *
     * @return the shared grant, or {@code null} when this grant is not held any more
     */
    @Nullable Acquisition downgradeLocked(long token) {
        Acquisition shared = new Acquisition(this);
        shared.grant(token); // before this grant is DOWNGRADED: a release() that sees DOWNGRADED releases it
        shared.debugNanos = System.nanoTime();
        prev = shared; // granted, never linked again: the field holds the successor from now on
        if (!casState(GRANTED, DOWNGRADED)) {
            return null; // released meanwhile: the shared grant was never a holder of the name
        }
        return shared;
    }

    /** Fast path, before its CAS: the token this grant gets if the CAS wins. */
    void prepareFast(long token) {
        fencingToken = token;
    }

    /** @return whether this acquisition was granted through its name's fast path */
    boolean grantedFast() {
        return fastQueue != null;
    }

    DefaultInProcessLockService service() {
        return source.service;
    }

    boolean tryOnly() {
        return source.tryOnly;
    }

    @Nullable Duration timeout() {
        return source.timeout;
    }

    int maxHolders() {
        return source.maxHolders;
    }

    /**
     * The fast path, on the first request: an idle name whose entry was kept is granted by one CAS on its
     * state word, then this acquisition by one CAS from NEW straight to GRANTED (the emission claimed before
     * it, see {@link GrantDelivery#claimEmission()}), and the handle is emitted on this thread, as a grant
     * on enqueue is. A cancel that wins the CAS from NEW gets the name's hold given back; a cancel after it
     * is ignored, as one during the emission. No deadline: nothing waits.
     */
    @Override
    protected boolean startFast() {
        AcquireMono src = source;
        if (src.mode != LockMode.EXCLUSIVE) {
            return false;
        }
        DefaultInProcessLockService service = src.service;
        String name = src.name;
        LockQueue q = service.fastQueue(name);
        if (q == null || !q.tryFast(this)) {
            return false;
        }
        if (service.isDisposed()) {
            service.releaseFast(this, q); // a close raced the grant: the slow path turns it away as closed
            return false;
        }
        claimEmission(); // published by the CAS below; a cancel that sees GRANTED is then ignored
        fastQueue = q; // published by the CAS below too: a release on any thread that sees GRANTED finds it
        if (!casState(NEW, GRANTED)) {
            service.releaseFast(this, q); // cancelled meanwhile: nothing is signalled
            return true;
        }
        if (service.log().isDebugEnabled()) {
            debugNanos = System.nanoTime();
            service.log().debug("Acquiring lock '{}' ({})", name, LockMode.EXCLUSIVE);
            service.log().debug("Acquired lock '{}' ({}) after waiting {}", name, LockMode.EXCLUSIVE, seconds(0));
        }
        emitClaimed(actual, this);
        return true;
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
    protected void start() {
        DefaultInProcessLockService service = source.service;
        if (service.log().isDebugEnabled()) {
            debugNanos = System.nanoTime();
            service.log().debug("Acquiring lock '{}' ({})", source.name, source.mode);
        }
        service.enqueue(this);
    }

    @Override
    protected boolean waiting(int state) {
        return state == PENDING;
    }

    @Override
    protected void left(int from, @Nullable Throwable error) {
        source.service.remove(this);
        if (error != null && !cancelRequested()) {
            actual.onError(error);
        }
    }

    /** After {@link DefaultInProcessLockService#enqueue}: start the timeout, or signal a rejection. */
    void afterEnqueue() {
        DefaultInProcessLockService service = source.service;
        String name = source.name;
        LockMode mode = source.mode;
        if (rejected != NOT_REJECTED && cancelRequested()) {
            return; // the subscriber cancelled meanwhile: nothing is signalled after a cancel
        }
        switch (rejected) {
            case REJECTED_BUSY:
                if (source.tryOnly) {
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
                Duration t = source.timeout;
                if (t != null && state() == PENDING) {
                    startDeadline(service.timer(), t.toNanos(), () -> new LockTimeoutException(name, mode, t));
                }
        }
    }

    /** The service closed while this acquisition was pending (already moved to CANCELLED). */
    void failClosed() {
        disposeDeadline();
        if (!cancelRequested()) {
            actual.onError(new LockServiceClosedException(source.name));
        }
    }

    /** Signals the grant to the subscriber, or releases it when the subscriber cancelled meanwhile. */
    void deliver() {
        disposeDeadline();
        DefaultInProcessLockService service = source.service;
        String name = source.name;
        LockMode mode = source.mode;
        if (service.log().isDebugEnabled()) {
            long now = System.nanoTime();
            service.log().debug("Acquired lock '{}' ({}) after waiting {}", name, mode, seconds(now - debugNanos));
            debugNanos = now;
        }
        emit(actual, this);
    }

    @Override
    protected void releaseGranted() {
        releaseNow();
    }

    @Override
    public String name() {
        return source.name;
    }

    @Override
    public LockMode mode() {
        return source.mode;
    }

    @Override
    public long fencingToken() {
        return fencingToken;
    }

    @Override
    public boolean isHeld() {
        return state() == GRANTED;
    }

    @Override
    public Mono<Void> release() {
        return Release.of(this);
    }

    @Override
    public void releaseNow() {
        if (casState(GRANTED, RELEASED)) {
            DefaultInProcessLockService service = source.service;
            if (service.log().isDebugEnabled()) {
                service.log().debug("Released lock '{}' ({}) held {}", source.name, source.mode,
                        seconds(System.nanoTime() - debugNanos));
            }
            LockQueue q = fastQueue;
            if (q != null) {
                service.releaseFast(this, q);
            } else {
                service.release(this);
            }
        } else if (state() == DOWNGRADED) {
            Objects.requireNonNull(prev, "downgraded without successor").releaseNow();
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
            return refused != null ? Mono.error(refused) : Mono.fromSupplier(() -> source.service.downgrade(this));
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
        return "LockHandle{name='" + source.name + "', mode=" + source.mode + ", fencingToken=" + fencingToken + ", held="
                + isHeld() + "}";
    }

    /** The cold {@code Mono} returned by acquire/tryAcquire: each subscription is one acquisition. */
    static final class AcquireMono extends AcquisitionMono {

        final DefaultInProcessLockService service;
        final String name;
        final LockMode mode;
        final int maxHolders;
        final @Nullable Duration timeout;
        final boolean tryOnly;

        AcquireMono(DefaultInProcessLockService service, String name, LockOptions options, @Nullable Duration timeout,
                    boolean tryOnly) {
            this.service = service;
            this.name = name;
            this.mode = options.mode();
            this.maxHolders = options.maxHolders();
            this.timeout = timeout;
            this.tryOnly = tryOnly;
        }

        @Override
        public void subscribe(CoreSubscriber<? super LockHandle> actual) {
            IllegalLockStateException reentry =
                    dev.reactivelocks.internal.HeldLocks.reentry(actual.currentContext(), service, name, mode);
            if (reentry != null) {
                Operators.error(actual, reentry);
                return;
            }
            if (service.isDisposed()) { // without waiting for a request; a close racing the request fails it then
                Operators.error(actual, new LockServiceClosedException(name));
                return;
            }
            actual.onSubscribe(new Acquisition(this, actual));
        }
    }
}
