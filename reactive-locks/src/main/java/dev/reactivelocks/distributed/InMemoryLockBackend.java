package dev.reactivelocks.distributed;

import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.HandOff;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.spi.Permits;
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
 * through. {@link #downgrade} turns an exclusive lease into a shared one and lets through whom that admits.
 * A backend made by {@link #createHandingOff} also grants those waiters in that same step and
 * emits the grants from {@link #handOffs()} first; each such lease lives until the waiter's queue entry would
 * have expired, unless renewed.
 *
 * <p><b>Threading</b>: thread-safe and non-blocking; each operation is atomic per name.
 */
public final class InMemoryLockBackend implements LockBackend {

    private final ConcurrentHashMap<String, NameState> names = new ConcurrentHashMap<>();
    private final AtomicLong fencing = new AtomicLong();
    private final CopyOnWriteArrayList<FluxSink<String>> listeners = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<FluxSink<HandOff>> handOffListeners = new CopyOnWriteArrayList<>();
    private final @Nullable Scheduler clock;
    private final boolean handsOff;

    private InMemoryLockBackend(@Nullable Scheduler clock, boolean handsOff) {
        this.clock = clock;
        this.handsOff = handsOff;
    }

    /** @return a new, empty backend on the clock of {@code Schedulers.parallel()} that wakes waiters */
    public static InMemoryLockBackend create() {
        return new InMemoryLockBackend(null, false);
    }

    /**
     * @param clock the scheduler whose {@code now} is the store's clock
     * @return a new, empty backend on that clock that wakes waiters
     */
    public static InMemoryLockBackend create(Scheduler clock) {
        return new InMemoryLockBackend(Objects.requireNonNull(clock, "clock"), false);
    }

    /**
     * @return a new, empty backend on the clock of {@code Schedulers.parallel()} that hands the lock off to
     *         the waiters a release lets through ({@link LockBackend#handOffs()})
     */
    public static InMemoryLockBackend createHandingOff() {
        return new InMemoryLockBackend(null, true);
    }

    /**
     * @param clock the scheduler whose {@code now} is the store's clock
     * @return a new, empty backend on that clock that hands the lock off to the waiters a release lets
     *         through ({@link LockBackend#handOffs()})
     */
    public static InMemoryLockBackend createHandingOff(Scheduler clock) {
        return new InMemoryLockBackend(Objects.requireNonNull(clock, "clock"), true);
    }

    private long now() {
        return (clock != null ? clock : Schedulers.parallel()).now(TimeUnit.NANOSECONDS);
    }

    @Override
    public Mono<BackendLease> tryAcquire(String name, LockMode mode, String token, Duration lease) {
        return acquire(name, mode, 0, token, lease, null);
    }

    @Override
    public Mono<BackendLease> acquireOrQueue(String name, LockMode mode, String token, Duration lease,
                                             Duration keepQueued) {
        Objects.requireNonNull(keepQueued, "keepQueued");
        return acquire(name, mode, 0, token, lease, keepQueued);
    }

    /** @return {@code true}: {@link LockOptions#permits(int)} names are semaphores across all clients */
    @Override
    public boolean countsPermits() {
        return true;
    }

    @Override
    public Mono<BackendLease> tryAcquirePermit(String name, int permits, String token, Duration lease) {
        return acquire(name, LockMode.SHARED, Permits.check(permits), token, lease, null);
    }

    @Override
    public Mono<BackendLease> acquireOrQueuePermit(String name, int permits, String token, Duration lease,
                                                   Duration keepQueued) {
        Objects.requireNonNull(keepQueued, "keepQueued");
        return acquire(name, LockMode.SHARED, Permits.check(permits), token, lease, keepQueued);
    }

    /**
     * Grants, or queues {@code token} when {@code keepQueued} is not null; wakes whom pruning let through.
     * {@code permits} 0: a plain lock.
     */
    private Mono<BackendLease> acquire(String name, LockMode mode, int permits, String token, Duration lease,
                                       @Nullable Duration keepQueued) {
        return Mono.fromSupplier(() -> {
            long now = now();
            Outcome out = new Outcome();
            names.compute(name, (k, existing) -> {
                NameState state = existing != null ? existing : new NameState();
                boolean pruned = state.prune(now);
                Row mine = state.leases.get(token);
                if (mine != null) {
                    state.leases.put(token, new Row(mine.mode, mine.permits, mine.fencing, now + lease.toNanos(),
                            mine.grantedAt));
                    out.grant = BackendLease.of(name, mine.mode, token, mine.fencing);
                } else if (state.disagreesWith(mode, permits)) {
                    out.error = Permits.disagreement(name, mode, permits, state.permitsInUse());
                } else if (state.admits(token, mode, permits)) {
                    long f = fencing.incrementAndGet();
                    state.queue.remove(token);
                    state.leases.put(token, new Row(mode, permits, f, now + lease.toNanos(), now));
                    out.grant = BackendLease.of(name, mode, token, f);
                } else if (keepQueued != null) {
                    state.queue.put(token, new Waiter(mode, permits, now + keepQueued.toNanos())); // keeps its place
                }
                if (pruned) {
                    letThrough(state, out, now);
                }
                return state.isEmpty() ? null : state;
            });
            signal(out);
            if (out.error != null) {
                throw out.error;
            }
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
                    state.leases.put(token, new Row(r.mode, r.permits, r.fencing, now + lease.toNanos(), r.grantedAt));
                }
                return state;
            });
            return renewed[0];
        });
    }

    @Override
    public Mono<BackendLease> downgrade(String name, String token, Duration lease) {
        return Mono.fromSupplier(() -> {
            long now = now();
            Outcome out = new Outcome();
            names.computeIfPresent(name, (k, state) -> {
                boolean pruned = state.prune(now);
                Row r = state.leases.get(token);
                if (r != null) {
                    long f = r.mode == LockMode.SHARED ? r.fencing : fencing.incrementAndGet();
                    state.leases.put(token, new Row(LockMode.SHARED, r.permits, f, now + lease.toNanos(),
                            r.mode == LockMode.SHARED ? r.grantedAt : now));
                    out.grant = BackendLease.of(name, LockMode.SHARED, token, f);
                }
                if (pruned || r != null) {
                    letThrough(state, out, now);
                }
                return state.isEmpty() ? null : state;
            });
            signal(out);
            return out.grant;
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
                    letThrough(state, out, now);
                }
                return state.isEmpty() ? null : state;
            });
            signal(out);
            return removed[0];
        });
    }

    /** Wakes, or grants, the queued waiters that may pass now (inside the name's atomic step). */
    private void letThrough(NameState state, Outcome out, long now) {
        List<String> passable = state.passable();
        out.wake = passable;
        if (!handsOff) {
            return;
        }
        List<HandOff> granted = new ArrayList<>(passable.size());
        for (String token : passable) {
            Waiter w = Objects.requireNonNull(state.queue.remove(token));
            long f = fencing.incrementAndGet();
            state.leases.put(token, new Row(w.mode, w.permits, f, w.expiresAt, now)); // lives as long as the entry would have
            granted.add(HandOff.of(token, w.mode, f));
        }
        out.handOffs = granted;
    }

    /** Announces the hand-offs, then wakes the same tokens (a client not taking hand-offs asks again). */
    private void signal(Outcome out) {
        for (HandOff h : out.handOffs) {
            for (FluxSink<HandOff> l : handOffListeners) {
                l.next(h);
            }
        }
        for (String token : out.wake) {
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

    @Override
    public Flux<HandOff> handOffs() {
        if (!handsOff) {
            return Flux.empty();
        }
        return Flux.create(sink -> {
            handOffListeners.add(sink);
            sink.onDispose(() -> handOffListeners.remove(sink));
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
        @Nullable LockConfigurationException error;
        List<String> wake = List.of();
        List<HandOff> handOffs = List.of();
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
         * entry queued ahead of it (all entries when it is not queued); with {@code permits}, also fewer
         * shared leases and entries ahead than permits.
         */
        boolean admits(String token, LockMode mode, int permits) {
            int taken = 0;
            for (Row r : leases.values()) {
                if (!mode.compatibleWith(r.mode)) {
                    return false;
                }
                taken++;
            }
            for (Map.Entry<String, Waiter> e : queue.entrySet()) {
                if (e.getKey().equals(token)) {
                    break;
                }
                if (!mode.compatibleWith(e.getValue().mode)) {
                    return false;
                }
                taken++;
            }
            return permits == 0 || taken < permits;
        }

        /** Whether a shared request disagrees with the live shared leases or entries on the permits. */
        boolean disagreesWith(LockMode mode, int permits) {
            if (mode != LockMode.SHARED) {
                return false;
            }
            int inUse = permitsInUse();
            return inUse >= 0 && inUse != permits;
        }

        /** The permits of the shared leases and entries (0: plain shared), -1 when there are none. */
        int permitsInUse() {
            for (Row r : leases.values()) {
                if (r.mode == LockMode.SHARED) {
                    return r.permits;
                }
            }
            for (Waiter w : queue.values()) {
                if (w.mode == LockMode.SHARED) {
                    return w.permits;
                }
            }
            return -1;
        }

        /** The queued tokens that {@link #admits} would grant now: the head, or a run of shared entries. */
        List<String> passable() {
            List<String> out = new ArrayList<>();
            for (Map.Entry<String, Waiter> e : queue.entrySet()) {
                if (!admits(e.getKey(), e.getValue().mode, e.getValue().permits)) {
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

    /** A lease; {@code permits} 0 unless granted as a permit of a semaphore; times of the clock scheduler. */
    private record Row(LockMode mode, int permits, long fencing, long expiresAt, long grantedAt) {
    }

    private record Waiter(LockMode mode, int permits, long expiresAt) {
    }
}
