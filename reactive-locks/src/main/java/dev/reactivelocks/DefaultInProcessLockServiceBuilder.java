package dev.reactivelocks;

import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.scheduler.Scheduler;

/** The implementation of {@link InProcessLockServiceBuilder}. */
final class DefaultInProcessLockServiceBuilder implements InProcessLockServiceBuilder {

    private int maxPending = Integer.MAX_VALUE;
    private @Nullable Scheduler timer;

    DefaultInProcessLockServiceBuilder() {
    }

    @Override
    public InProcessLockServiceBuilder maxPending(int maxPending) {
        if (maxPending < 0) {
            throw new IllegalArgumentException("maxPending must be >= 0, was " + maxPending);
        }
        this.maxPending = maxPending;
        return this;
    }

    @Override
    public InProcessLockServiceBuilder maxPendingUnbounded() {
        this.maxPending = Integer.MAX_VALUE;
        return this;
    }

    @Override
    public InProcessLockServiceBuilder timer(Scheduler timer) {
        this.timer = Objects.requireNonNull(timer, "timer");
        return this;
    }

    @Override
    public InProcessLockService build() {
        return new DefaultInProcessLockService(maxPending, timer);
    }
}
