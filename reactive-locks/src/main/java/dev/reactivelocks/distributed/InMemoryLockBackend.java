package dev.reactivelocks.distributed;

import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.LockBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
 * The reference {@link LockBackend}: leases kept in this JVM's memory, with the clock of a scheduler, so
 * that tests of {@link DistributedLockService} can run in virtual time. Several services sharing one
 * instance behave like clients of one store.
 *
 * <p>Expiry uses {@code Scheduler.now} of the clock scheduler (default {@code Schedulers.parallel()},
 * looked up at each call so that {@code StepVerifier.withVirtualTime} replaces it). Fencing tokens come
 * from one counter for all names. Release signals are delivered synchronously on the releasing thread.
 *
 * <p><b>Threading</b>: thread-safe and non-blocking; each operation is atomic per name.
 */
public final class InMemoryLockBackend implements LockBackend {

    private final ConcurrentHashMap<String, List<Row>> rows = new ConcurrentHashMap<>();
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
        return Mono.fromSupplier(() -> {
            BackendLease[] out = new BackendLease[1];
            long now = now();
            long expires = now + lease.toNanos();
            rows.compute(name, (k, list) -> {
                List<Row> live = new ArrayList<>();
                if (list != null) {
                    for (Row r : list) {
                        if (r.token.equals(token)) {
                            out[0] = BackendLease.of(name, r.mode, token, r.fencing);
                            live.add(new Row(token, r.mode, r.fencing, expires));
                        } else if (r.expiresAt > now) {
                            live.add(r);
                        }
                    }
                }
                if (out[0] == null && live.stream().allMatch(r -> mode.compatibleWith(r.mode))) {
                    long f = fencing.incrementAndGet();
                    live.add(new Row(token, mode, f, expires));
                    out[0] = BackendLease.of(name, mode, token, f);
                }
                return live.isEmpty() ? null : live;
            });
            return out[0];
        });
    }

    @Override
    public Mono<Boolean> renew(String name, String token, Duration lease) {
        return Mono.fromSupplier(() -> {
            boolean[] renewed = new boolean[1];
            long now = now();
            rows.computeIfPresent(name, (k, list) -> {
                List<Row> next = new ArrayList<>(list.size());
                for (Row r : list) {
                    if (r.token.equals(token) && r.expiresAt > now) {
                        renewed[0] = true;
                        next.add(new Row(token, r.mode, r.fencing, now + lease.toNanos()));
                    } else {
                        next.add(r);
                    }
                }
                return next;
            });
            return renewed[0];
        });
    }

    @Override
    public Mono<Boolean> release(String name, String token) {
        return Mono.fromSupplier(() -> {
            boolean[] removed = new boolean[1];
            rows.computeIfPresent(name, (k, list) -> {
                List<Row> next = new ArrayList<>(list.size());
                for (Row r : list) {
                    if (r.token.equals(token)) {
                        removed[0] = true;
                    } else {
                        next.add(r);
                    }
                }
                return next.isEmpty() ? null : next;
            });
            if (removed[0]) {
                for (FluxSink<String> l : listeners) {
                    l.next(name);
                }
            }
            return removed[0];
        });
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
        List<Row> list = rows.get(name);
        List<Long> out = new ArrayList<>();
        if (list != null) {
            for (Row r : list) {
                if (r.expiresAt > now) {
                    out.add(r.fencing);
                }
            }
        }
        out.sort(null);
        return out;
    }

    @Override
    public String toString() {
        return "InMemoryLockBackend{names=" + rows.size() + "}";
    }

    private static final class Row {
        final String token;
        final LockMode mode;
        final long fencing;
        final long expiresAt;

        Row(String token, LockMode mode, long fencing, long expiresAt) {
            this.token = token;
            this.mode = mode;
            this.fencing = fencing;
            this.expiresAt = expiresAt;
        }
    }
}
