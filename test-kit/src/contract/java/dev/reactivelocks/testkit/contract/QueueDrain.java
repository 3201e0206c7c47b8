package dev.reactivelocks.testkit.contract;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.HandOff;
import dev.reactivelocks.spi.LockBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Drains a long wait queue of one name and measures it, for a backend's scale tests: many services
 * (one {@link DistributedLockService} each, as many processes would have, all over one backend), one
 * waiter each, queue behind a holder; the holder releases and every waiter is granted in turn and
 * releases at once. The same drain with all waiters in one service gives the reference rate.
 *
 * <p>FIFO is measured against the store's own queue: {@code queuedTokens} reads the owner tokens in queue
 * order once every waiter is queued, and the displacement of a grant is the distance between its place
 * in the grant order and its token's place in that snapshot (a token that is not in the snapshot, because
 * its entry expired and was queued again, counts as displaced by the whole queue).
 */
public final class QueueDrain {

    private static final Duration CLOSE_WAIT = Duration.ofSeconds(30);

    /**
     * What a drain achieved.
     *
     * @param waiters how many waiters asked
     * @param queued how many of them the store had queued when the holder released
     * @param granted how many of them were granted before the bound
     * @param elapsed from the holder's release to the last grant (or the bound)
     * @param maxDisplacement the largest distance between a grant's place and its place in the queue
     */
    public record Result(int waiters, int queued, int granted, Duration elapsed, int maxDisplacement) {

        /** @return grants per second */
        public double rate() {
            return granted * 1e9 / Math.max(1, elapsed.toNanos());
        }

        @Override
        public String toString() {
            return String.format("%d of %d granted in %d ms (%.0f grants/s), max displacement %d (%d queued at the release)",
                    granted, waiters, elapsed.toMillis(), rate(), maxDisplacement, queued);
        }
    }

    /**
     * A drain across services measured against the reference rate of one service.
     *
     * @param reference the one-service drains, in the order run
     * @param acrossServices the drain across services
     */
    public record Comparison(List<Result> reference, Result acrossServices) {

        /** @return the median rate of the one-service drains (the mean of the middle two of an even count) */
        public double referenceRate() {
            double[] rates = reference.stream().mapToDouble(Result::rate).sorted().toArray();
            int mid = rates.length / 2;
            return rates.length % 2 == 1 ? rates[mid] : (rates[mid - 1] + rates[mid]) / 2;
        }

        /** @return the rate across services divided by the median one-service rate */
        public double ratio() {
            return acrossServices.rate() / referenceRate();
        }

        @Override
        public String toString() {
            return String.format("%s; one service with %d waiters: %.0f grants/s (median of %s, in run order); ratio %.2f",
                    acrossServices, reference.get(0).waiters(), referenceRate(),
                    reference.stream().map(r -> String.format("%.0f", r.rate())).toList(), ratio());
        }
    }

    private final LockBackend backend;
    private final Duration lease;
    private final Duration pollInterval;
    private final Duration bound;

    /**
     * @param backend the store shared by every service of the drain
     * @param lease the services' lease
     * @param pollInterval the services' fallback poll interval (a queue entry lives three of them)
     * @param bound how long the queueing, and then the drain, may take at most
     */
    public QueueDrain(LockBackend backend, Duration lease, Duration pollInterval, Duration bound) {
        this.backend = backend;
        this.lease = lease;
        this.pollInterval = pollInterval;
        this.bound = bound;
    }

    private DistributedLockService service(LockBackend store) {
        return DistributedLockService.builder(store).lease(lease).renewEvery(lease.dividedBy(3))
                .pollInterval(pollInterval).build();
    }

    /**
     * {@code services} services with one waiter each queue on {@code name} behind a holder, which then
     * releases.
     *
     * @param name a name nobody else uses
     * @param services how many services (and waiters)
     * @param queuedTokens the owner tokens queued for the name in the store, in queue order
     * @return the drain's result; all services are disposed
     */
    public Result acrossServices(String name, int services, Supplier<List<String>> queuedTokens) {
        Queue<String> grants = new ConcurrentLinkedQueue<>();
        GrantRecorder tap = new GrantRecorder(backend, grants);
        Disposable handOffs = backend.handOffs().subscribe(h -> tap.granted(h.token()));
        List<DistributedLockService> all = new ArrayList<>();
        DistributedLockService holderService = service(backend);
        all.add(holderService);
        try {
            LockHandle holder = holderService.acquire(name).block(bound);
            AtomicInteger granted = new AtomicInteger();
            for (int i = 0; i < services; i++) {
                DistributedLockService s = service(tap);
                all.add(s);
                waitAndRelease(s, name, 1, granted);
            }
            awaitAtMost(() -> queuedTokens.get().size() >= services);
            List<String> queue = queuedTokens.get();
            checkQueued(holder, granted, queue.size() >= services, queue.size() + " of " + services + " queued");
            return release(holder, granted, services, grants, queue);
        } finally {
            handOffs.dispose();
            Flux.fromIterable(all).flatMap(DistributedLockService::disposeLater, 64).then().block(CLOSE_WAIT);
        }
    }

    /**
     * Compares a drain across {@code services} services with the rate of one service with {@code referenceWaiters}
     * waiters, in steady state: one unmeasured drain of each shape runs first (on a small machine the JIT
     * compiler otherwise takes a core from whichever drain runs first), then two one-service drains, the drain
     * across services and two one-service drains again (a short drain's rate varies from run to run, and still
     * rises while the JIT compiles: the reference surrounds the measured drain).
     *
     * @param services how many services drain across services
     * @param referenceWaiters how many waiters the one-service drains have, and each shape's warm-up
     * @param newName a name nobody else uses, at each call
     * @param queuedTokens the owner tokens queued for a name in the store, in queue order
     * @return both measurements; every service is disposed
     */
    public Comparison compare(int services, int referenceWaiters, Supplier<String> newName,
                              Function<String, List<String>> queuedTokens) {
        inOneService(referenceWaiters, newName, queuedTokens);
        across(referenceWaiters, newName, queuedTokens);
        List<Result> reference = new ArrayList<>();
        reference.add(inOneService(referenceWaiters, newName, queuedTokens));
        reference.add(inOneService(referenceWaiters, newName, queuedTokens));
        Result measured = across(services, newName, queuedTokens);
        reference.add(inOneService(referenceWaiters, newName, queuedTokens));
        reference.add(inOneService(referenceWaiters, newName, queuedTokens));
        return new Comparison(reference, measured);
    }

    private Result inOneService(int waiters, Supplier<String> newName, Function<String, List<String>> queuedTokens) {
        String name = newName.get();
        return inOneService(name, waiters, () -> queuedTokens.apply(name));
    }

    private Result across(int services, Supplier<String> newName, Function<String, List<String>> queuedTokens) {
        String name = newName.get();
        return acrossServices(name, services, () -> queuedTokens.apply(name));
    }

    /**
     * {@code waiters} waiters of one service queue on {@code name} behind a holder of another service,
     * which then releases: the service's in-process queue hands the name on, one store grant each.
     *
     * @param name a name nobody else uses
     * @param waiters how many waiters
     * @param queuedTokens the owner tokens queued for the name in the store, in queue order
     * @return the drain's result (displacement is not measured: 0)
     */
    public Result inOneService(String name, int waiters, Supplier<List<String>> queuedTokens) {
        DistributedLockService holderService = service(backend);
        DistributedLockService waiting = service(backend);
        try {
            LockHandle holder = holderService.acquire(name).block(bound);
            AtomicInteger granted = new AtomicInteger();
            waitAndRelease(waiting, name, waiters, granted);
            awaitAtMost(() -> !queuedTokens.get().isEmpty());
            checkQueued(holder, granted, !queuedTokens.get().isEmpty(), "nothing queued");
            return release(holder, granted, waiters, null, List.of());
        } finally {
            Flux.just(holderService, waiting).flatMap(DistributedLockService::disposeLater).then().block(CLOSE_WAIT);
        }
    }

    /**
     * Fails unless the queue formed behind a holder that still holds: a drain measured otherwise (the holder's
     * lease lost on an overloaded machine, its waiters granted while they queued) would pass without
     * draining anything.
     */
    private void checkQueued(LockHandle holder, AtomicInteger granted, boolean queued, String queue) {
        if (!queued || !holder.isHeld() || granted.get() > 0) {
            throw new AssertionError("the waiters did not all queue behind the holder within " + bound + ": "
                    + queue + ", " + granted.get() + " granted before the release, holder "
                    + (holder.isHeld() ? "holding" : "no longer holding (lease lost?)"));
        }
    }

    private void waitAndRelease(DistributedLockService s, String name, int waiters, AtomicInteger granted) {
        for (int i = 0; i < waiters; i++) {
            s.acquire(name, LockOptions.exclusive().timeout(bound.multipliedBy(3)))
                    .flatMap(h -> h.release().doOnSuccess(v -> granted.incrementAndGet()))
                    .subscribe(null, error -> { });
        }
    }

    private Result release(LockHandle holder, AtomicInteger granted, int waiters, @Nullable Queue<String> grants,
                           List<String> queue) {
        long start = System.nanoTime();
        holder.release().block(bound);
        long end = awaitAtMost(() -> granted.get() >= waiters);
        Duration elapsed = Duration.ofNanos(end - start);
        return new Result(waiters, grants == null ? waiters : queue.size(), granted.get(), elapsed,
                grants == null ? 0 : displacement(grants, queue));
    }

    private static int displacement(Queue<String> grants, List<String> queue) {
        Map<String, Integer> place = new HashMap<>();
        for (int i = 0; i < queue.size(); i++) {
            place.put(queue.get(i), i);
        }
        int max = 0;
        int i = 0;
        for (String token : grants) {
            Integer p = place.get(token);
            max = Math.max(max, p == null ? queue.size() : Math.abs(p - i));
            i++;
        }
        return max;
    }

    /** Waits on the calling (test) thread until {@code done} or the bound; returns the time it ended. */
    private long awaitAtMost(BooleanSupplier done) {
        long deadline = System.nanoTime() + bound.toNanos();
        while (!done.getAsBoolean() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(1_000_000);
        }
        return System.nanoTime();
    }

    /** Passes every call to the shared backend, and notes the token of each grant to a waiting caller. */
    private static final class GrantRecorder implements LockBackend {
        private final LockBackend backend;
        private final Queue<String> grants;
        private final Set<String> seen = ConcurrentHashMap.newKeySet();

        GrantRecorder(LockBackend backend, Queue<String> grants) {
            this.backend = backend;
            this.grants = grants;
        }

        /** Notes a grant, once per token (a hand-off, then the call that found it, count once). */
        void granted(String token) {
            if (seen.add(token)) {
                grants.add(token);
            }
        }

        @Override
        public Mono<BackendLease> tryAcquire(String name, LockMode mode, String token, Duration lease) {
            return backend.tryAcquire(name, mode, token, lease);
        }

        @Override
        public Mono<BackendLease> acquireOrQueue(String name, LockMode mode, String token, Duration lease,
                                                 Duration keepQueued) {
            return backend.acquireOrQueue(name, mode, token, lease, keepQueued).doOnNext(l -> granted(token));
        }

        @Override
        public Mono<Boolean> renew(String name, String token, Duration lease) {
            return backend.renew(name, token, lease);
        }

        @Override
        public Mono<Boolean> release(String name, String token) {
            return backend.release(name, token);
        }

        @Override
        public Flux<HandOff> handOffs() {
            return backend.handOffs();
        }

        @Override
        public Flux<String> releases() {
            return backend.releases();
        }

        @Override
        public String signalKey(String name) {
            return backend.signalKey(name);
        }
    }

    @Override
    public String toString() {
        return "QueueDrain{backend=" + backend + ", pollInterval=" + pollInterval + "}";
    }
}
