package dev.reactivelocks.distributed;

import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.spi.StoredLease;
import dev.reactivelocks.spi.StoredLock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * The reference {@link LockBackend}: leases and wait queues kept in this JVM's memory, with the clock of a
 * scheduler, so that tests of {@link DistributedLockService} can run in virtual time. Several services
 * sharing one instance behave like clients of one store.
 *
 * <p>Expiry uses {@code Scheduler.now} of the clock scheduler (default {@code Schedulers.parallel()},
 * looked up at each call so that {@code StepVerifier.withVirtualTime} replaces it). Fencing tokens come
 * from one counter for all names.
 *
 * <p><b>Fairness</b>: each name has a FIFO wait queue ({@link #acquireOrQueue}), so waiters of all the
 * services sharing this backend are granted in the order they first asked; {@link #tryAcquire} never
 * barges past a queued waiter. {@link #releases()} emits the tokens of the queued waiters that may pass
 * (the head, or a run of shared entries at the head), synchronously on the thread whose call let them
 * through.
 *
 * <p><b>Threading</b>: thread-safe and non-blocking; each operation is atomic per name.
 */
public final class InMemoryLockBackend implements LockBackend {

    private final ConcurrentHashMap<String, NameState> names = new ConcurrentHashMap<>();
    private final AtomicLong fencing = new AtomicLong();
    private final CopyOnWriteArrayList<FluxSink<String>> listeners = new CopyOnWriteArrayList<>();
    private final @Nullable Scheduler clock;

    private InMemoryLockBackend(@Nullable Scheduler clock) {
        this.clock = clock;
    }

    /** @return a new, empty backend on the clock of {@code Schedulers.parallel()} */
    public static InMemoryLockBackend create() {
        return new InMemoryLockBackend(null);
    }

    /**
     * @param clock the scheduler whose {@code now} is the store's clock
     * @return a new, empty backend on that clock
     */
    public static InMemoryLockBackend create(Scheduler clock) {
        return new InMemoryLockBackend(Objects.requireNonNull(clock, "clock"));
    }

    private long now() {
        return (clock != null ? clock : Schedulers.parallel()).now(TimeUnit.NANOSECONDS);
    }

    @Override
    public Mono<BackendLease> tryAcquire(String name, LockMode mode, String token, Duration lease) {
        return acquire(name, mode, token, lease, null);
    }

    @Override
    public Mono<BackendLease> acquireOrQueue(String name, LockMode mode, String token, Duration lease,
                                             Duration keepQueued) {
        Objects.requireNonNull(keepQueued, "keepQueued");
        return acquire(name, mode, token, lease, keepQueued);
    }

    /** Grants, or queues {@code token} when {@code keepQueued} is not null; wakes whom pruning let through. */
    private Mono<BackendLease> acquire(String name, LockMode mode, String token, Duration lease,
                                       @Nullable Duration keepQueued) {
        return Mono.fromSupplier(() -> {
            long now = now();
            Outcome out = new Outcome();
            names.compute(name, (k, existing) -> {
                NameState state = existing != null ? existing : new NameState();
                boolean pruned = state.prune(now);
                Row mine = state.leases.get(token);
                if (mine != null) {
                    state.leases.put(token, new Row(mine.mode, mine.fencing, now + lease.toNanos(), mine.grantedAt));
                    out.grant = BackendLease.of(name, mine.mode, token, mine.fencing);
                } else if (state.admits(token, mode)) {
                    long f = fencing.incrementAndGet();
                    state.queue.remove(token);
                    state.leases.put(token, new Row(mode, f, now + lease.toNanos(), now));
                    out.grant = BackendLease.of(name, mode, token, f);
                } else if (keepQueued != null) {
                    state.queue.put(token, new Waiter(mode, now + keepQueued.toNanos())); // keeps its place
                }
                if (pruned) {
                    out.wake = state.passable();
                }
                return state.isEmpty() ? null : state;
            });
            signal(out.wake);
            return out.grant;
        });
    }

    @Override
    public Mono<Boolean> renew(String name, String token, Duration lease) {
        return Mono.fromSupplier(() -> {
            boolean[] renewed = new boolean[1];
            long now = now();
            names.computeIfPresent(name, (k, state) -> {
                Row r = state.leases.get(token);
                if (r != null && r.expiresAt > now) {
                    renewed[0] = true;
                    state.leases.put(token, new Row(r.mode, r.fencing, now + lease.toNanos(), r.grantedAt));
                }
                return state;
            });
            return renewed[0];
        });
    }

    @Override
    public Mono<Boolean> release(String name, String token) {
        return Mono.fromSupplier(() -> {
            boolean[] removed = new boolean[1];
            Outcome out = new Outcome();
            long now = now();
            names.computeIfPresent(name, (k, state) -> {
                removed[0] = state.leases.remove(token) != null;
                boolean dequeued = state.queue.remove(token) != null;
                if (state.prune(now) || removed[0] || dequeued) {
                    out.wake = state.passable();
                }
                return state.isEmpty() ? null : state;
            });
            signal(out.wake);
            return removed[0];
        });
    }

    private void signal(List<String> tokens) {
        for (String token : tokens) {
            for (FluxSink<String> l : listeners) {
                l.next(token);
            }
        }
    }

    @Override
    public Flux<String> releases() {
        return Flux.create(sink -> {
            listeners.add(sink);
            sink.onDispose(() -> listeners.remove(sink));
        });
    }

    /**
     * The live leases of {@code name}, for tests and diagnostics.
     *
     * @param name the lock name
     * @return the fencing tokens of the live leases, oldest grant first
     */
    public List<Long> liveFencingTokens(String name) {
        long now = now();
        List<Long> out = new ArrayList<>();
        names.computeIfPresent(name, (k, state) -> {
            state.leases.values().stream().filter(r -> r.expiresAt > now).forEach(r -> out.add(r.fencing));
            return state;
        });
        out.sort(null);
        return out;
    }

    /**
     * The live entries of {@code name}'s wait queue, for tests and diagnostics.
     *
     * @param name the lock name
     * @return the tokens of the queued waiters whose entries have not expired, head first
     */
    public List<String> queuedTokens(String name) {
        long now = now();
        List<String> out = new ArrayList<>();
        names.computeIfPresent(name, (k, state) -> {
            state.queue.forEach((token, w) -> {
                if (w.expiresAt > now) {
                    out.add(token);
                }
            });
            return state;
        });
        return out;
    }

    /**
     * {@inheritDoc} Times are measured by the clock scheduler and reported as wall-clock instants (the
     * wall-clock time now, moved by their distance from the clock's now).
     */
    @Override
    public Flux<StoredLock> locks(String namePrefix) {
        Objects.requireNonNull(namePrefix, "namePrefix");
        return Flux.defer(() -> {
            List<StoredLock> out = new ArrayList<>();
            for (String name : names.keySet()) {
                if (name.startsWith(namePrefix)) {
                    StoredLock lock = stored(name);
                    if (lock != null) {
                        out.add(lock);
                    }
                }
            }
            return Flux.fromIterable(out);
        });
    }

    @Override
    public Mono<StoredLock> inspect(String name) {
        Objects.requireNonNull(name, "name");
        return Mono.fromSupplier(() -> stored(name));
    }

    private @Nullable StoredLock stored(String name) {
        long now = now();
        StoredLock[] out = new StoredLock[1];
        names.computeIfPresent(name, (k, state) -> {
            List<StoredLease> live = new ArrayList<>();
            state.leases.forEach((token, r) -> {
                if (r.expiresAt > now) {
                    live.add(StoredLease.of(r.mode, token, r.fencing, instant(r.expiresAt, now),
                            instant(r.grantedAt, now)));
                }
            });
            int queued = (int) state.queue.values().stream().filter(w -> w.expiresAt > now).count();
            out[0] = live.isEmpty() ? null : StoredLock.of(k, live, queued);
            return state;
        });
        return out[0];
    }

    /** The wall-clock time of the clock reading {@code clockNanos}, given the reading {@code now}. */
    private static Instant instant(long clockNanos, long now) {
        return Instant.ofEpochMilli(System.currentTimeMillis()).plusNanos(clockNanos - now);
    }

    @Override
    public String toString() {
        return "InMemoryLockBackend{names=" + names.size() + "}";
    }

    /** What one call decided, carried out of the atomic step. */
    private static final class Outcome {
        @Nullable BackendLease grant;
        List<String> wake = List.of();
    }

    /**
     * The leases and the wait queue of one name; read and changed only inside the map's atomic
     * {@code compute} of the name.
     */
    private static final class NameState {
        final Map<String, Row> leases = new HashMap<>();
        /** token → entry, in queue order; {@code put} of a queued token keeps its place. */
        final LinkedHashMap<String, Waiter> queue = new LinkedHashMap<>();

        /** Removes expired leases and queue entries; returns whether anything was removed. */
        boolean prune(long now) {
            boolean leasesPruned = leases.values().removeIf(r -> r.expiresAt <= now);
            boolean entriesPruned = queue.values().removeIf(w -> w.expiresAt <= now);
            return leasesPruned || entriesPruned;
        }

        /**
         * Whether {@code token} may be granted {@code mode} now: compatible with every lease and with every
         * entry queued ahead of it (all entries when it is not queued).
         */
        boolean admits(String token, LockMode mode) {
            for (Row r : leases.values()) {
                if (!mode.compatibleWith(r.mode)) {
                    return false;
                }
            }
            for (Map.Entry<String, Waiter> e : queue.entrySet()) {
                if (e.getKey().equals(token)) {
                    return true;
                }
                if (!mode.compatibleWith(e.getValue().mode)) {
                    return false;
                }
            }
            return true;
        }

        /** The queued tokens that {@link #admits} would grant now: the head, or a run of shared entries. */
        List<String> passable() {
            List<String> out = new ArrayList<>();
            for (Map.Entry<String, Waiter> e : queue.entrySet()) {
                if (!admits(e.getKey(), e.getValue().mode)) {
                    break;
                }
                out.add(e.getKey());
            }
            return out;
        }

        boolean isEmpty() {
            return leases.isEmpty() && queue.isEmpty();
        }
    }

    /** Times in nanoseconds of the clock scheduler. */
    private record Row(LockMode mode, long fencing, long expiresAt, long grantedAt) {
    }

    private record Waiter(LockMode mode, long expiresAt) {
    }
}
