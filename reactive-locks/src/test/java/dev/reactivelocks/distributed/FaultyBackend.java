package dev.reactivelocks.distributed;

import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.HandOff;
import dev.reactivelocks.spi.LockBackend;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/** Wraps a backend and injects failures, counts calls, or holds acquire calls until released by the test. */
final class FaultyBackend implements LockBackend {

    final LockBackend delegate;
    final AtomicInteger acquireFailures = new AtomicInteger();
    final AtomicInteger acquireCalls = new AtomicInteger();
    final AtomicInteger renewCalls = new AtomicInteger();
    volatile boolean renewFails;
    /** Renewals are sent and never answered. */
    volatile boolean renewHangs;
    final AtomicReference<Sinks.Empty<Void>> acquireGate = new AtomicReference<>();
    /** When set, renewals reach the store only once the gate completes (an answer still on its way). */
    final AtomicReference<Sinks.Empty<Void>> renewGate = new AtomicReference<>();

    FaultyBackend(LockBackend delegate) {
        this.delegate = delegate;
    }

    @Override
    public Mono<BackendLease> tryAcquire(String name, LockMode mode, String token, Duration lease) {
        return faulty(() -> delegate.tryAcquire(name, mode, token, lease));
    }

    @Override
    public Mono<BackendLease> acquireOrQueue(String name, LockMode mode, String token, Duration lease,
                                             Duration keepQueued) {
        return faulty(() -> delegate.acquireOrQueue(name, mode, token, lease, keepQueued));
    }

    /** Counts the acquisition call and applies the configured failures and gate to it. */
    private Mono<BackendLease> faulty(Supplier<Mono<BackendLease>> acquisition) {
        return Mono.defer(() -> {
            int number = acquireCalls.incrementAndGet();
            Mono<BackendLease> call = acquisition.get();
            if (acquireFailures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                // the store applied the call but the answer was lost
                return call.then(Mono.error(new IllegalStateException("connection reset at call " + number)));
            }
            Sinks.Empty<Void> gate = acquireGate.get();
            return gate == null ? call : gate.asMono().then(call);
        });
    }

    @Override
    public Mono<Boolean> renew(String name, String token, Duration lease) {
        return Mono.defer(() -> {
            renewCalls.incrementAndGet();
            if (renewHangs) {
                return Mono.never();
            }
            if (renewFails) {
                return Mono.error(new IllegalStateException("store unreachable"));
            }
            Sinks.Empty<Void> gate = renewGate.get();
            Mono<Boolean> call = delegate.renew(name, token, lease);
            return gate == null ? call : gate.asMono().then(call);
        });
    }

    /**
     * How {@link #downgrade} behaves; {@code null} (the default): as a backend that does not implement it.
     * Set before use.
     */
    volatile @Nullable Downgrade downgrade;

    /** A {@link LockBackend#downgrade} replacement. */
    interface Downgrade {
        Mono<BackendLease> downgrade(String name, String token, Duration lease);
    }

    @Override
    public Mono<BackendLease> downgrade(String name, String token, Duration lease) {
        Downgrade d = downgrade;
        return d != null ? d.downgrade(name, token, lease) : LockBackend.super.downgrade(name, token, lease);
    }

    /** When set, releases reach the store only once the gate completes (a release still on its way). */
    final AtomicReference<Sinks.Empty<Void>> releaseGate = new AtomicReference<>();

    @Override
    public Mono<Boolean> release(String name, String token) {
        return Mono.defer(() -> {
            Sinks.Empty<Void> gate = releaseGate.get();
            Mono<Boolean> call = delegate.release(name, token);
            return gate == null ? call : gate.asMono().then(call);
        });
    }

    /** What reaches the services of the store's wake-ups; set before building them. */
    volatile UnaryOperator<Flux<String>> releases = UnaryOperator.identity();

    @Override
    public Flux<String> releases() {
        return releases.apply(delegate.releases());
    }

    /** What reaches the services of the store's hand-offs; set before building them. */
    volatile UnaryOperator<Flux<HandOff>> handOffs = UnaryOperator.identity();

    @Override
    public Flux<HandOff> handOffs() {
        return handOffs.apply(delegate.handOffs());
    }

    @Override
    public String signalKey(String name) {
        return delegate.signalKey(name);
    }
}
