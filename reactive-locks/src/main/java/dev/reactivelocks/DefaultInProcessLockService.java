package dev.reactivelocks;

import dev.reactivelocks.internal.Downgrades;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * The implementation of {@link InProcessLockService} (its guarantees are documented there). Built by
 * {@link DefaultInProcessLockServiceBuilder}.
 */
final class DefaultInProcessLockService implements InProcessLockService {

    /** How many idle names keep their entry at most. */
    static final int RETAINED_IDLE = 1024;

    private final ConcurrentHashMap<String, LockQueue> queues = new ConcurrentHashMap<>();
    /**
     * The token floor: at least the last fencing token of every entry removed from the map. Tokens are
     * counted per name (see {@link LockQueue}); a new entry counts on from here.
     */
    private final AtomicLong tokenFloor = new AtomicLong();
    /** Idle-or-not entries marked {@link LockQueue#retained}. */
    private final AtomicInteger retained = new AtomicInteger();
    /** Set when an idle entry could not be kept: the kept idle entries are dropped at the next chance. */
    private final AtomicBoolean sweep = new AtomicBoolean();
    private final int maxPending;
    private final @Nullable Scheduler timer;
    private final Logger log = Loggers.getLogger(InProcessLockService.class);
    private volatile boolean closed;

    DefaultInProcessLockService(int maxPending, @Nullable Scheduler timer) {
        this.maxPending = maxPending;
        this.timer = timer;
    }

    Logger log() {
        return log;
    }

    @Override
    public Mono<LockHandle> acquire(String name, LockOptions options) {
        checkName(name);
        Objects.requireNonNull(options, "options");
        return new Acquisition.AcquireMono(this, name, options, options.timeoutOrNull(), false);
    }

    @Override
    public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
        checkName(name);
        Objects.requireNonNull(options, "options");
        return new Acquisition.AcquireMono(this, name, options, null, true);
    }

    /**
     * {@inheritDoc}
     *
     * @implNote One subscriber per use instead of {@code Mono.usingWhen}'s chain ({@link InProcessScope}); the
     *           same signals.
     */
    @Override
    public <T> Mono<T> withLock(String name, LockOptions options,
                                Function<? super LockHandle, ? extends Mono<T>> body) {
        Objects.requireNonNull(body, "body");
        return InProcessScope.of(this, acquire(name, options), body);
    }

    private static void checkName(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("name must not be empty");
        }
    }

    @Override
    public int size() {
        int n = 0;
        for (LockQueue q : queues.values()) {
            if (!q.looksIdle()) {
                n++;
            }
        }
        return n;
    }

    @Override
    public Optional<LockStats> stats(String name) {
        LockStats[] out = new LockStats[1];
        queues.computeIfPresent(name, (k, q) -> {
            q.takeOver();
            out[0] = q.idle() ? null : q.stats(k);
            return settle(q);
        });
        return Optional.ofNullable(out[0]);
    }

    @Override
    public Mono<LockInfo> inspect(String name) {
        checkName(name);
        return Mono.fromSupplier(() -> info(name));
    }

    @Override
    public Flux<LockInfo> locks(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        return Flux.defer(() -> {
            List<LockInfo> out = new ArrayList<>();
            for (String name : queues.keySet()) {
                if (name.startsWith(prefix)) {
                    LockInfo info = info(name);
                    if (info != null) {
                        out.add(info);
                    }
                }
            }
            return Flux.fromIterable(out);
        });
    }

    private @Nullable LockInfo info(String name) {
        LockInfo[] out = new LockInfo[1];
        queues.computeIfPresent(name, (k, q) -> {
            q.takeOver();
            out[0] = q.info(k);
            return settle(q);
        });
        return out[0];
    }

    int maxPending() {
        return maxPending;
    }

    Scheduler timer() {
        return timer != null ? timer : Schedulers.parallel();
    }

    void enqueue(Acquisition a) {
        queues.compute(a.name(), (name, existing) -> {
            LockQueue q = existing != null ? existing : new LockQueue(tokenFloor.get());
            q.takeOver();
            if (a.state() != Acquisition.PENDING) {
                return settle(q); // cancelled before it could queue
            }
            if (closed) {
                reject(a, Acquisition.REJECTED_CLOSED);
            } else if (q.admitsNewcomer(a)) {
                if (a.grant(q.nextToken())) {
                    q.hold(a);
                    a.grantedOnEnqueue = true; // delivered below, on this thread
                }
            } else if (a.tryOnly() || Duration.ZERO.equals(a.timeout())) {
                reject(a, Acquisition.REJECTED_BUSY);
            } else if (q.pending() >= maxPending) {
                reject(a, Acquisition.REJECTED_FULL);
            } else {
                q.link(a);
            }
            return settle(q);
        });
        sweepIfAsked();
        if (a.grantedOnEnqueue) {
            // Not through the trampoline: a subscriber that waits for a free lock inside another grant's
            // onNext must get it. The stack grows only with the caller's own nesting of acquisitions.
            a.deliver();
            return;
        }
        a.afterEnqueue();
    }

    /**
     * The fast path's entry for {@code name} (see {@link Acquisition#startFast()}).
     *
     * @return the name's entry, or {@code null} when it has none or the service is closed
     */
    @Nullable LockQueue fastQueue(String name) {
        return closed ? null : queues.get(name);
    }

    /** Ends the FAST hold of {@code a} on {@code q}: one CAS, or the slow path if it was taken over. */
    void releaseFast(Acquisition a, LockQueue q) {
        if (!q.releaseFast(a)) {
            release(a);
        }
    }

    /**
     * Last step of every slow-path step of a name: a busy entry stays; an idle one is kept for the fast path
     * (at most {@value #RETAINED_IDLE}) or removed.
     *
     * @return {@code q}, or {@code null} to remove it from the map
     */
    private @Nullable LockQueue settle(LockQueue q) {
        if (!q.idle()) {
            return q;
        }
        boolean keep = !closed && (q.retained || retainOne());
        if (keep) {
            q.retained = true;
        } else {
            if (q.retained) {
                q.retained = false;
                retained.decrementAndGet();
            } else if (!closed) {
                sweep.set(true);
            }
        }
        if (keep) {
            q.settleIdle(true);
            return q;
        }
        retire(q);
        return null;
    }

    /** In the critical section: marks the idle {@code q} removed, its last token kept in the floor. */
    private void retire(LockQueue q) {
        q.settleIdle(false);
        long last = q.lastToken();
        if (tokenFloor.get() < last) {
            tokenFloor.accumulateAndGet(last, Math::max);
        }
    }

    private boolean retainOne() {
        for (;;) {
            int n = retained.get();
            if (n >= RETAINED_IDLE) {
                return false;
            }
            if (retained.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /**
     * When an idle entry could not be kept: drops the kept entries that are idle, so others can be kept, and
     * stops counting the kept entries that are busy (they are counted again if they are kept when they next
     * become idle). Otherwise names held for a long time would fill the budget, every idle name would miss
     * it, and each miss would sweep the whole map again.
     */
    private void sweepIfAsked() {
        if (!sweep.get() || !sweep.compareAndSet(true, false)) {
            return;
        }
        for (Map.Entry<String, LockQueue> e : queues.entrySet()) {
            LockQueue v = e.getValue();
            if (v.looksIdle() || v.retained) { // a hint read outside the critical section, checked inside it
                queues.computeIfPresent(e.getKey(), (k, q) -> {
                    q.takeOver();
                    if (q.retained) {
                        q.retained = false;
                        retained.decrementAndGet();
                    }
                    if (!q.idle()) {
                        return q;
                    }
                    retire(q);
                    return null;
                });
            }
        }
    }

    private static void reject(Acquisition a, byte reason) {
        if (a.casState(Acquisition.PENDING, Acquisition.CANCELLED)) {
            a.rejected = reason;
        }
    }

    /**
     * In the critical section of {@code q}: makes {@code a} a holder and schedules its delivery.
     *
     * @return whether it was granted (and pushed on this thread's trampoline)
     */
    boolean grantLocked(LockQueue q, Acquisition a) {
        if (a.grant(q.nextToken())) {
            q.hold(a);
            GrantTrampoline.push(a);
            return true;
        }
        return false;
    }

    /** A holder leaves: the next waiters are granted and signalled on this thread. */
    void release(Acquisition a) {
        queues.compute(a.name(), (name, q) -> {
            Objects.requireNonNull(q, "released a lock that has no entry");
            q.takeOver();
            q.forgetFastHolder(a);
            q.unhold(a.mode());
            a.releaseGrants = q.drain(this);
            return settle(q);
        });
        sweepIfAsked();
        if (a.releaseGrants) {
            GrantTrampoline.drain();
        }
    }

    /**
     * Replaces the exclusive grant {@code a} by a shared one in one step of the name's critical section: the
     * new grant's token is taken before the waiters it lets through are granted (they get larger ones).
     *
     * @throws IllegalLockStateException when {@code a} is not held any more
     */
    LockHandle downgrade(Acquisition a) {
        Acquisition[] shared = new Acquisition[1];
        queues.computeIfPresent(a.name(), (name, q) -> {
            q.takeOver();
            Acquisition s = a.downgradeLocked(q.nextToken());
            if (s != null) {
                shared[0] = s;
                q.unhold(LockMode.EXCLUSIVE);
                q.hold(s);
                q.drain(this);
            }
            return settle(q);
        });
        GrantTrampoline.drain();
        if (shared[0] == null) {
            throw Downgrades.notHeld(a);
        }
        return shared[0];
    }

    /** A waiter leaves the queue (cancel or timeout); waiters behind it may become grantable. */
    void remove(Acquisition a) {
        queues.computeIfPresent(a.name(), (name, q) -> {
            q.takeOver();
            a.removalGrants = q.unlink(a) && q.drain(this);
            return settle(q);
        });
        sweepIfAsked();
        if (a.removalGrants) {
            GrantTrampoline.drain();
        }
    }

    @Override
    public Mono<Void> disposeLater() {
        return Mono.fromRunnable(this::close);
    }

    private void close() {
        closed = true;
        List<Acquisition> failed = new ArrayList<>();
        for (String name : queues.keySet()) {
            queues.computeIfPresent(name, (k, q) -> {
                q.takeOver();
                q.removeAll(failed);
                return settle(q);
            });
        }
        for (Acquisition a : failed) {
            a.failClosed();
        }
    }

    @Override
    public boolean isDisposed() {
        return closed;
    }

    @Override
    public String toString() {
        return "InProcessLockService{names=" + queues.size() + ", closed=" + closed + "}";
    }
}
