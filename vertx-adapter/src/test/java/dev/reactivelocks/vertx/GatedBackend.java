package dev.reactivelocks.vertx;

import dev.reactivelocks.LockMode;
import dev.reactivelocks.distributed.InMemoryLockBackend;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.LockBackend;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

/**
 * An in-memory store whose releases and downgrades are round trips: they reach the store only once the test
 * opens their gate, or, with {@link #answeredOn}, are answered on another thread, as a network store's are.
 * Stands in for a distributed lock's backend (PostgreSQL, Redis) where a test needs a release still in flight.
 */
final class GatedBackend implements LockBackend {

    private final InMemoryLockBackend store = InMemoryLockBackend.create();
    private final AtomicReference<Sinks.@Nullable Empty<Void>> releaseGate = new AtomicReference<>();
    private final AtomicReference<Sinks.@Nullable Empty<Void>> downgradeGate = new AtomicReference<>();
    private volatile @Nullable Scheduler answers;

    /** @return a gate that the releases sent from now on wait for; complete it to let them through */
    Sinks.Empty<Void> holdReleases() {
        Sinks.Empty<Void> gate = Sinks.empty();
        releaseGate.set(gate);
        return gate;
    }

    /** @return a gate that the downgrades sent from now on wait for; complete it to let them through */
    Sinks.Empty<Void> holdDowngrades() {
        Sinks.Empty<Void> gate = Sinks.empty();
        downgradeGate.set(gate);
        return gate;
    }

    /**
     * @param scheduler the thread that answers releases and downgrades from now on
     * @return this backend
     */
    GatedBackend answeredOn(Scheduler scheduler) {
        answers = scheduler;
        return this;
    }

    /** @return whether the store holds a live lease of {@code name} */
    boolean holds(String name) {
        return !store.liveFencingTokens(name).isEmpty();
    }

    private <T> Mono<T> roundTrip(AtomicReference<Sinks.@Nullable Empty<Void>> gate, Mono<T> call) {
        return Mono.defer(() -> {
            Sinks.Empty<Void> g = gate.get();
            Mono<T> sent = g == null ? call : g.asMono().then(call);
            Scheduler s = answers;
            return s == null ? sent : sent.publishOn(s);
        });
    }

    @Override
    public Mono<Boolean> release(String name, String token) {
        return roundTrip(releaseGate, store.release(name, token));
    }

    @Override
    public Mono<BackendLease> downgrade(String name, String token, Duration lease) {
        return roundTrip(downgradeGate, store.downgrade(name, token, lease));
    }

    @Override
    public Mono<BackendLease> tryAcquire(String name, LockMode mode, String token, Duration lease) {
        return store.tryAcquire(name, mode, token, lease);
    }

    @Override
    public Mono<Boolean> renew(String name, String token, Duration lease) {
        return store.renew(name, token, lease);
    }

    @Override
    public Flux<String> releases() {
        return store.releases();
    }
}
