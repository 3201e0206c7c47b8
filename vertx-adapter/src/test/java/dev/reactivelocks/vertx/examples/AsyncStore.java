package dev.reactivelocks.vertx.examples;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stand-in for a remote key-value store: reads and writes complete asynchronously, one event-loop turn
 * (a 1 ms timer) later, so an unguarded read-modify-write can interleave with another one and lose an update.
 * It counts how many read-modify-write cycles were in flight at once.
 */
// tag::store[]
public final class AsyncStore {

    private final Vertx vertx;
    private volatile long value;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger maxInFlight = new AtomicInteger();

    public AsyncStore(Vertx vertx) {
        this.vertx = vertx;
    }

    /** Reads the value; starts a read-modify-write cycle. */
    public Future<Long> read() {
        maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
        return vertx.timer(1).map(t -> value);
    }

    /** Writes the value; ends the cycle that {@link #read()} started. */
    public Future<Void> write(long newValue) {
        return vertx.timer(1).map(t -> {
            value = newValue;
            inFlight.decrementAndGet();
            return null;
        });
    }

    public long value() {
        return value;
    }

    public int maxInFlight() {
        return maxInFlight.get();
    }
}
// end::store[]
