package dev.reactivelocks.spring;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.AcquisitionMono;
import dev.reactivelocks.spi.ForwardingLockHandle;
import dev.reactivelocks.spi.ForwardingLockService;
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
import org.springframework.context.SmartLifecycle;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The auto-configured {@link LockService}: forwards to the configured service and remembers the grants it
 * handed out (and the shared grants their downgrades turned them into), for the {@code locks} endpoint and for
 * the shutdown rule. Its handles wrap the delegate's; its acquisitions keep the delegate's rules for a grant
 * nobody takes. Inspection is forwarded and records nothing.
 *
 * <p><b>Shutdown</b>, when the application context closes or stops ({@link #stop()}, else {@link #destroy()}):
 * the delegate is disposed, so pending and later acquisitions fail with {@code LockServiceClosedException};
 * scopes that hold a lock get {@code reactive-locks.shutdown-timeout} to finish and release it; whatever is
 * still held then is released (the scope's body is not cancelled, it just no longer holds the lock); finally
 * the backend is closed. The forced releases take at most {@link #RELEASE_TIMEOUT}: with an unreachable store
 * the leases left behind expire after their lease. On a non-blocking thread (a Reactor or Netty event loop) the
 * context does not wait for this: the disposal runs on its own, and the beans the backend is built on may close
 * before it ends (a lease it could not release then expires after its lease).
 *
 * <p><b>Restart</b>: a stopped service does not start again; {@link #start()} after a stop fails. A new service
 * could not keep the promises of the stopped one: an in-process or file service would hand out fencing tokens
 * from the beginning again, below those of the locks it released at the stop.
 *
 * <p><b>Threading</b>: thread-safe; grants are recorded on the thread that delivers them, without blocking.
 */
final class ManagedLockService extends ForwardingLockService implements SmartLifecycle, DisposableBean {

    private static final Duration RELEASE_POLL = Duration.ofMillis(20);
    /** How long the releases forced at shutdown may take, at most. */
    static final Duration RELEASE_TIMEOUT = Duration.ofSeconds(5);
    private static final String PROBE = "reactive-locks-health-probe";

    /**
     * The lifecycle phase: stopped after the web server (Spring Boot stops it in phase
     * {@code DEFAULT_PHASE - 2048}, after the graceful shutdown of the requests in flight) and before the
     * phase-0 beans, such as Spring Data Redis's {@code LettuceConnectionFactory}, which shuts its client down
     * when stopped. Beans the backend is built on are stopped after this one in any case (they are recorded
     * as its dependencies).
     */
    static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 4096;

    private final String type;
    private final @Nullable DistributedLockService distributed;
    private final @Nullable LockBackend backend;
    private final Mono<Void> closeBackend;
    private final Duration shutdownTimeout;
    private final Clock clock;
    private final Map<LockHandle, Instant> granted = new ConcurrentHashMap<>();
    private final AtomicInteger sweepAt = new AtomicInteger(64);
    private final Mono<Void> disposal = Mono.defer(this::disposeOnce).cache();
    private volatile boolean running;
    private volatile boolean disposing;

    ManagedLockService(LockService delegate, String type, @Nullable DistributedLockService distributed,
                       @Nullable LockBackend backend, Mono<Void> closeBackend, Duration shutdownTimeout, Clock clock) {
        super(delegate);
        this.type = Objects.requireNonNull(type, "type");
        this.distributed = distributed;
        this.backend = backend;
        this.closeBackend = Objects.requireNonNull(closeBackend, "closeBackend");
        this.shutdownTimeout = Objects.requireNonNull(shutdownTimeout, "shutdownTimeout");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * The delegate's acquisition, its handle recorded at the grant. An {@link AcquisitionMono}, so that the
     * delegate's rules for a grant nobody takes (a cancel before the emission, a lost {@code firstWithValue}
     * race, a {@code block(Duration)} that gives up) hold through this service too.
     */
    @Override
    public Mono<LockHandle> acquire(String name, LockOptions options) {
        return AcquisitionMono.map(delegate().acquire(name, options), this::track);
    }

    @Override
    public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
        return AcquisitionMono.map(delegate().tryAcquire(name, options), this::track);
    }

    @Override
    public <T> Mono<T> withLock(String name, LockOptions options,
                                Function<? super LockHandle, ? extends Mono<T>> body) {
        Objects.requireNonNull(body, "body");
        return delegate().withLock(name, options, handle -> body.apply(track(handle)));
    }

    @Override
    public <T> Flux<T> withLockMany(String name, LockOptions options,
                                    Function<? super LockHandle, ? extends Publisher<T>> body) {
        Objects.requireNonNull(body, "body");
        return delegate().withLockMany(name, options, handle -> body.apply(track(handle)));
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

    /** @return the distributed service inside the delegate, for {@code postgres} and {@code redis}; else null */
    @Nullable DistributedLockService distributed() {
        return distributed;
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

    /** Records a grant; the returned handle records the shared grant of its downgrade in turn. */
    private LockHandle track(LockHandle handle) {
        record(handle);
        return new TrackedHandle(handle);
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

    /**
     * Disposes the delegate, waits up to the shutdown timeout for held locks to be released, releases the
     * rest (within {@link #RELEASE_TIMEOUT}: leases an unreachable store did not release expire on their own),
     * then closes the backend. Runs once: every call returns the same disposal.
     */
    @Override
    public Mono<Void> disposeLater() {
        return disposal;
    }

    private Mono<Void> disposeOnce() {
        disposing = true;
        return delegate().disposeLater()
                .then(Flux.interval(Duration.ZERO, RELEASE_POLL, Schedulers.parallel())
                        .takeUntil(tick -> sweep() == 0)
                        .then()
                        .timeout(shutdownTimeout, Mono.empty(), Schedulers.parallel()))
                .then(Flux.defer(() -> Flux.fromIterable(new ArrayList<>(granted.keySet())))
                        .flatMap(h -> h.release().onErrorResume(e -> Mono.empty()))
                        .then()
                        .timeout(RELEASE_TIMEOUT, Mono.empty(), Schedulers.parallel()))
                .then(Mono.fromRunnable(granted::clear))
                .then(closeBackend.onErrorResume(e -> Mono.empty()));
    }

    /**
     * Marks the service running; it was usable before.
     *
     * @throws IllegalStateException when the service was stopped or disposed: it cannot start again
     */
    @Override
    public void start() {
        if (disposing) {
            throw new IllegalStateException("The lock service of reactive-locks was stopped and cannot start again: "
                    + "its locks were released and its backend closed when the context stopped. Close this context "
                    + "and start a new one.");
        }
        running = true;
    }

    /**
     * Called when the context stops its lifecycle beans, in phase {@link #PHASE}, and before the beans the
     * backend is built on: {@link #disposeLater()}, waited for on the stopping thread unless it is a
     * non-blocking one (see {@link #destroy()}). The service cannot {@linkplain #start() start} again.
     */
    @Override
    public void stop() {
        running = false;
        destroy();
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    /**
     * Called by the context on close (after {@link #stop()} unless the context was never started): waits for
     * {@link #disposeLater()}, except on a non-blocking thread, where it only starts it.
     */
    @Override
    public void destroy() {
        await(disposeLater(), shutdownTimeout.plus(RELEASE_TIMEOUT).plusSeconds(10));
    }

    /**
     * Waits up to {@code bound} for {@code work}, or, on a non-blocking thread (which must not wait), subscribes
     * to it and returns at once.
     */
    static void await(Mono<Void> work, Duration bound) {
        if (Schedulers.isInNonBlockingThread()) {
            work.onErrorComplete().subscribe();   // nobody is left to receive an error
        } else {
            work.block(bound);
        }
    }

    @Override
    public String toString() {
        return "ManagedLockService{delegate=" + delegate() + "}";
    }

    /**
     * A handle handed out by this service: a downgrade replaces the grant (the exclusive handle is no longer
     * held), so the shared grant is recorded too, for the endpoint and for the releases at shutdown.
     */
    private final class TrackedHandle extends ForwardingLockHandle {

        TrackedHandle(LockHandle delegate) {
            super(delegate);
        }

        @Override
        public Mono<LockHandle> downgrade() {
            return AcquisitionMono.map(delegate().downgrade(), ManagedLockService.this::track);
        }
    }
}
