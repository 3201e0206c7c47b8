package dev.reactivelocks;

import dev.reactivelocks.internal.Downgrades;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * The in-JVM {@link LockService}: named shared/exclusive locks whose waiters are subscriptions, not
 * threads. Create one with {@link LockService#inProcess()} or {@link LockService#builder()}.
 *
 * <p><b>Reentrancy</b>: not reentrant. Re-entry through the Reactor {@code Context} that {@code withLock}
 * writes, and shared-to-exclusive upgrades, fail at once with {@link IllegalLockStateException}.
 *
 * <p><b>Fairness</b>: FIFO per name in subscription-request order, with writer preference: a waiting
 * exclusive acquisition blocks later shared ones even while the lock is held shared, so writers never
 * starve; consecutive shared waiters at the head of the queue are granted together. {@code tryAcquire}
 * never overtakes waiters.
 *
 * <p><b>Memory effects</b>: actions of a holder before its release happen-before the actions of every
 * holder granted after that release.
 *
 * <p><b>Cancellation</b>: cancelling a pending acquisition removes it from the queue in O(1); a grant that
 * races a cancellation or a timeout is released at once, so the lock is never left held by nobody.
 *
 * <p><b>Threading</b>: nothing blocks or parks. A grant is signalled on the thread that made it possible:
 * the subscribing thread when the lock is free, otherwise the thread that released the previous holder
 * (or cancelled the waiter ahead). Nothing hops schedulers; hand-offs run iteratively, so long chains of
 * synchronous releases do not grow the stack. Timeout errors are signalled on the timer scheduler,
 * closing errors on the thread that disposes the service.
 *
 * <p><b>Semaphores</b>: {@link LockOptions#permits(int)} turns a name into a fair counting semaphore with
 * the same guarantees.
 *
 * <p><b>Logging</b>: at debug level through Reactor's {@code Loggers} (SLF4J when present), logger
 * {@code dev.reactivelocks.InProcessLockService}: acquiring, acquired (with the wait), released (with the
 * hold time). Nothing is logged at info or above.
 *
 * <p><b>Memory</b>: a name's entry exists only while it has holders or waiters; {@link #size()} reports how
 * many exist.
 */
public final class InProcessLockService implements LockService {

    private final ConcurrentHashMap<String, LockQueue> queues = new ConcurrentHashMap<>();
    private final AtomicLong fencing = new AtomicLong();
    private final int maxPending;
    private final @Nullable Scheduler timer;
    private final Logger log = Loggers.getLogger(InProcessLockService.class);
    private volatile boolean closed;

    InProcessLockService(int maxPending, @Nullable Scheduler timer) {
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

    private static void checkName(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("name must not be empty");
        }
    }

    /**
     * @return the number of lock names that currently have holders or waiters
     */
    public int size() {
        return queues.size();
    }

    /**
     * @param name a lock name
     * @return the current holders and waiters of {@code name}, empty when it has none
     */
    public Optional<LockStats> stats(String name) {
        LockStats[] out = new LockStats[1];
        queues.computeIfPresent(name, (k, q) -> {
            out[0] = q.stats(k);
            return q;
        });
        return Optional.ofNullable(out[0]);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Reads the name's state in its critical section, on the subscribing thread.
     * {@link LockInfo#heldSince()} is wall-clock time ({@code System.currentTimeMillis()}); every holder is
     * in this JVM, so {@link LockInfo#owners()} is empty.
     */
    @Override
    public Mono<LockInfo> inspect(String name) {
        checkName(name);
        return Mono.fromSupplier(() -> info(name));
    }

    /**
     * {@inheritDoc}
     *
     * <p>Visits every name that has holders or waiters, each in its critical section.
     */
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
            out[0] = q.info(k);
            return q;
        });
        return out[0];
    }

    /** Wall-clock time in milliseconds, for {@link LockInfo#heldSince()}. */
    long clockMillis() {
        return System.currentTimeMillis();
    }

    int maxPending() {
        return maxPending;
    }

    Scheduler timer() {
        return timer != null ? timer : Schedulers.parallel();
    }

    void enqueue(Acquisition a) {
        queues.compute(a.name, (name, existing) -> {
            LockQueue q = existing != null ? existing : new LockQueue();
            if (a.state() != Acquisition.PENDING) {
                return existing; // cancelled before it could queue
            }
            if (closed) {
                reject(a, Acquisition.REJECTED_CLOSED);
            } else if (q.admitsNewcomer(a)) {
                if (a.grant(fencing.incrementAndGet())) {
                    q.hold(a);
                    a.grantedOnEnqueue = true; // delivered below, on this thread
                }
            } else if (a.tryOnly || Duration.ZERO.equals(a.timeout)) {
                reject(a, Acquisition.REJECTED_BUSY);
            } else if (q.pending() >= maxPending) {
                reject(a, Acquisition.REJECTED_FULL);
            } else {
                q.link(a);
            }
            return q.idle() ? null : q;
        });
        if (a.grantedOnEnqueue) {
            // Not through the trampoline: a subscriber that waits for a free lock inside another grant's
            // onNext must get it. The stack grows only with the caller's own nesting of acquisitions.
            a.deliver();
            return;
        }
        a.afterEnqueue();
    }

    private static void reject(Acquisition a, byte reason) {
        if (a.casState(Acquisition.PENDING, Acquisition.CANCELLED)) {
            a.rejected = reason;
        }
    }

    /** In the critical section of {@code q}: makes {@code a} a holder and schedules its delivery. */
    void grantLocked(LockQueue q, Acquisition a) {
        if (a.grant(fencing.incrementAndGet())) {
            q.hold(a);
            GrantTrampoline.push(a);
        }
    }

    /** A holder leaves: the next waiters are granted and signalled on this thread. */
    void release(Acquisition a) {
        queues.compute(a.name, (name, q) -> {
            Objects.requireNonNull(q, "released a lock that has no entry");
            q.unhold(a.mode);
            q.drain(this);
            return q.idle() ? null : q;
        });
        GrantTrampoline.drain();
    }

    /**
     * Replaces the exclusive grant {@code a} by a shared one in one step of the name's critical section: the
     * new grant's token is taken before the waiters it lets through are granted (they get larger ones).
     *
     * @throws IllegalLockStateException when {@code a} is not held any more
     */
    LockHandle downgrade(Acquisition a) {
        Acquisition[] shared = new Acquisition[1];
        queues.computeIfPresent(a.name, (name, q) -> {
            Acquisition s = a.downgradeLocked(fencing.incrementAndGet());
            if (s != null) {
                shared[0] = s;
                q.unhold(LockMode.EXCLUSIVE);
                q.hold(s);
                q.drain(this);
            }
            return q.idle() ? null : q;
        });
        GrantTrampoline.drain();
        if (shared[0] == null) {
            throw Downgrades.notHeld(a);
        }
        return shared[0];
    }

    /** A waiter leaves the queue (cancel or timeout); waiters behind it may become grantable. */
    void remove(Acquisition a) {
        queues.computeIfPresent(a.name, (name, q) -> {
            if (q.unlink(a)) {
                q.drain(this);
            }
            return q.idle() ? null : q;
        });
        GrantTrampoline.drain();
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
                q.removeAll(failed);
                return q.idle() ? null : q;
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
