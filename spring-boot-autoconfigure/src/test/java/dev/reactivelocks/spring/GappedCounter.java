package dev.reactivelocks.spring;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Mono;

/**
 * A counter that reads, waits asynchronously, then writes: concurrent increments lose updates unless a lock
 * excludes them. Records the most increments ever inside at once.
 */
final class GappedCounter {

    private final AtomicInteger inside = new AtomicInteger();
    private final AtomicInteger maxInside = new AtomicInteger();
    private volatile int value;

    /** @return a cold {@code Mono} of the new value */
    Mono<Integer> increment() {
        return Mono.fromCallable(() -> {
            maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
            return value;
        }).delayElement(Duration.ofMillis(1)).map(v -> {
            value = v + 1;
            inside.decrementAndGet();
            return v + 1;
        });
    }

    int value() {
        return value;
    }

    int maxInside() {
        return maxInside.get();
    }
}
