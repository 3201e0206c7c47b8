package dev.reactivelocks.benchmarks;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs asynchronous operations one after another, each started when the previous one completed, in
 * constant stack depth whether the operations complete synchronously or on another thread (a
 * work-in-progress trampoline). The same driver is used for every candidate of a comparison, so its
 * cost (two atomic operations per step) is the same on both sides of a ratio.
 */
abstract class AsyncLoop {

    private final AtomicInteger wip = new AtomicInteger();

    /**
     * Starts one operation that calls {@link #next()} when it completed, or returns {@code false} when the
     * loop is over (and then must not call {@link #next()}); a finished loop can be started again.
     */
    protected abstract boolean startOne();

    /** Called once the loop is over and can be started again (signal round completion here, not earlier). */
    protected void finished() {
    }

    /** Starts the next operation: call once to start the loop and once from each operation's completion. */
    final void next() {
        if (wip.getAndIncrement() != 0) {
            return;
        }
        do {
            if (!startOne()) {
                wip.set(0); // nothing is in flight: the loop may be started again for the next round
                finished();
                return;
            }
        } while (wip.decrementAndGet() != 0);
    }
}
