package dev.reactivelocks.distributed;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.Disposable;
import reactor.core.scheduler.Scheduler;

/** A timer whose tasks are counted while scheduled: neither run nor disposed. */
final class CountingTimer implements Scheduler {
    private final Scheduler delegate;
    private final AtomicInteger live = new AtomicInteger();
    private final AtomicInteger scheduled = new AtomicInteger();

    CountingTimer(Scheduler delegate) {
        this.delegate = delegate;
    }

    /** @return the tasks scheduled and neither run nor disposed yet */
    int live() {
        return live.get();
    }

    /** @return the tasks scheduled so far */
    int scheduled() {
        return scheduled.get();
    }

    @Override
    public Disposable schedule(Runnable task) {
        return schedule(task, 0, TimeUnit.NANOSECONDS);
    }

    @Override
    public Disposable schedule(Runnable task, long delay, TimeUnit unit) {
        AtomicBoolean over = new AtomicBoolean();
        live.incrementAndGet();
        scheduled.incrementAndGet();
        Disposable scheduled = delegate.schedule(() -> {
            if (over.compareAndSet(false, true)) {
                live.decrementAndGet();
            }
            task.run();
        }, delay, unit);
        return () -> {
            if (over.compareAndSet(false, true)) {
                live.decrementAndGet();
            }
            scheduled.dispose();
        };
    }

    @Override
    public long now(TimeUnit unit) {
        return delegate.now(unit);
    }

    @Override
    public Worker createWorker() {
        return delegate.createWorker();
    }
}
