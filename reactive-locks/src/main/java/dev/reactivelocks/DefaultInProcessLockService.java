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
 * The implementation of {@link InProcessLockService} (its guarantees are documented there). Built by
 * {@link DefaultInProcessLockServiceBuilder}.
 */
final class DefaultInProcessLockService implements InProcessLockService {

    private final ConcurrentHashMap<String, LockQueue> queues = new ConcurrentHashMap<>();
    private final AtomicLong fencing = new AtomicLong();
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

    private static void checkName(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("name must not be empty");
        }
    }

    @Override
    public int size() {
        return queues.size();
    }

    @Override
    public Optional<LockStats> stats(String name) {
        LockStats[] out = new LockStats[1];
        queues.computeIfPresent(name, (k, q) -> {
            out[0] = q.stats(k);
            return q;
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
