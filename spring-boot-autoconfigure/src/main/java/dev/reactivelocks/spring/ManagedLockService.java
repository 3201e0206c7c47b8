package dev.reactivelocks.spring;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.internal.LockServiceView;
import dev.reactivelocks.spi.LockBackend;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import org.springframework.beans.factory.DisposableBean;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The auto-configured {@link LockService}: forwards to the configured service and remembers the grants it
 * handed out, for the {@code locks} endpoint and for the shutdown rule.
 *
 * <p><b>Shutdown</b>, when the application context closes ({@link #destroy()}): the delegate is disposed, so
 * pending and later acquisitions fail with {@code LockServiceClosedException}; scopes that hold a lock get
 * {@code reactive-locks.shutdown-timeout} to finish and release it; whatever is still held then is released
 * (the scope's body is not cancelled, it just no longer holds the lock); finally the backend is closed.
 *
 * <p><b>Threading</b>: thread-safe; grants are recorded on the thread that delivers them, without blocking.
 */
final class ManagedLockService implements LockService, LockServiceView, DisposableBean {

    private static final Duration RELEASE_POLL = Duration.ofMillis(20);
    private static final String PROBE = "reactive-locks-health-probe";

    private final LockService delegate;
    private final String type;
    private final @Nullable LockBackend backend;
    private final Mono<Void> closeBackend;
    private final Duration shutdownTimeout;
    private final Clock clock;
    private final Map<LockHandle, Instant> granted = new ConcurrentHashMap<>();
    private final AtomicInteger sweepAt = new AtomicInteger(64);

    ManagedLockService(LockService delegate, String type, @Nullable LockBackend backend, Mono<Void> closeBackend,
                       Duration shutdownTimeout, Clock clock) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.type = Objects.requireNonNull(type, "type");
        this.backend = backend;
        this.closeBackend = Objects.requireNonNull(closeBackend, "closeBackend");
        this.shutdownTimeout = Objects.requireNonNull(shutdownTimeout, "shutdownTimeout");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public LockService delegate() {
        return delegate;
    }

    @Override
    public Mono<LockHandle> acquire(String name, LockOptions options) {
        return delegate.acquire(name, options).doOnNext(this::record);
    }

    @Override
    public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
        return delegate.tryAcquire(name, options).doOnNext(this::record);
    }

    @Override
    public <T> Mono<T> withLock(String name, LockOptions options,
                                Function<? super LockHandle, ? extends Mono<T>> body) {
        Objects.requireNonNull(body, "body");
        return delegate.withLock(name, options, handle -> {
            record(handle);
            return body.apply(handle);
        });
    }

    @Override
    public <T> Flux<T> withLockMany(String name, LockOptions options,
                                    Function<? super LockHandle, ? extends Publisher<T>> body) {
        Objects.requireNonNull(body, "body");
        return delegate.withLockMany(name, options, handle -> {
            record(handle);
            return body.apply(handle);
        });
    }

    /** @return the locks held now through this service, oldest grant first */
    List<HeldLock> held() {
        sweep();
        List<HeldLock> locks = new ArrayList<>();
        granted.forEach((h, since) -> locks.add(new HeldLock(h.name(), h.mode(), since, h.fencingToken())));
        locks.sort(Comparator.comparing(HeldLock::since));
        return locks;
    }

    /** @return the {@code reactive-locks.type} value of this service */
    String type() {
        return type;
    }

    /**
     * One round trip to the backend without side effects (a renewal of a lease nobody holds).
     *
     * @return a {@code Mono} completing when the backend answered; empty at once without a backend
     */
    Mono<Void> probe() {
        return backend == null ? Mono.empty()
                : backend.renew(PROBE, PROBE, Duration.ofSeconds(1)).then();
    }

    private void record(LockHandle handle) {
        granted.put(handle, clock.instant());
        int size = granted.size();
        int limit = sweepAt.get();
        if (size >= limit && sweepAt.compareAndSet(limit, Integer.MAX_VALUE)) {
            // amortised: a sweep costs O(recorded) and runs when the map doubled since the last one
            sweep();
            sweepAt.set(Math.max(64, granted.size() * 2));
        }
    }

    private int sweep() {
        granted.keySet().removeIf(h -> !h.isHeld());
        return granted.size();
    }

    /** Forwards to the delegate; inspection records nothing. */
    @Override
    public Mono<LockInfo> inspect(String name) {
        return delegate.inspect(name);
    }

    /** Forwards to the delegate; inspection records nothing. */
    @Override
    public Flux<LockInfo> locks(String prefix) {
        return delegate.locks(prefix);
    }

    /**
     * Disposes the delegate, waits up to the shutdown timeout for held locks to be released, releases the
     * rest, then closes the backend.
     */
    @Override
    public Mono<Void> disposeLater() {
        return delegate.disposeLater()
                .then(Flux.interval(Duration.ZERO, RELEASE_POLL, Schedulers.parallel())
                        .takeUntil(tick -> sweep() == 0)
                        .then()
                        .timeout(shutdownTimeout, Mono.empty(), Schedulers.parallel()))
                .then(Flux.fromIterable(new ArrayList<>(granted.keySet()))
                        .flatMap(h -> h.release().onErrorResume(e -> Mono.empty()))
                        .then(Mono.fromRunnable(granted::clear)))
                .then(closeBackend);
    }

    @Override
    public boolean isDisposed() {
        return delegate.isDisposed();
    }

    /** Called by the context on close: {@link #disposeLater()}, waited for on the closing thread. */
    @Override
    public void destroy() {
        disposeLater().block(shutdownTimeout.plusSeconds(30));
    }

    @Override
    public String toString() {
        return "ManagedLockService{delegate=" + delegate + "}";
    }
}
