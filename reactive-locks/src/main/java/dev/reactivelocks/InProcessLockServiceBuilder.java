package dev.reactivelocks;

import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.scheduler.Scheduler;

/**
 * Builds an {@link InProcessLockService}. Obtain one from {@link LockService#builder()}.
 *
 * <pre>{@code
 * InProcessLockService locks = LockService.builder().maxPending(1_000).build();
 * }</pre>
 *
 * <p>Not thread-safe; the built service is.
 */
public final class InProcessLockServiceBuilder {

    private int maxPending = Integer.MAX_VALUE;
    private @Nullable Scheduler timer;

    InProcessLockServiceBuilder() {
    }

    /**
     * Limits the acquisitions that may wait for one lock name at the same time. Past the limit, an
     * acquisition errors at once with {@link LockUnavailableException}. Zero allows no waiting at all.
     * Defaults to unbounded.
     *
     * @param maxPending the limit per name, {@code >= 0}
     * @return this builder
     * @throws IllegalArgumentException if {@code maxPending < 0}
     */
    public InProcessLockServiceBuilder maxPending(int maxPending) {
        if (maxPending < 0) {
            throw new IllegalArgumentException("maxPending must be >= 0, was " + maxPending);
        }
        this.maxPending = maxPending;
        return this;
    }

    /**
     * Lets any number of acquisitions wait for a name. This is the default.
     *
     * @return this builder
     */
    public InProcessLockServiceBuilder maxPendingUnbounded() {
        this.maxPending = Integer.MAX_VALUE;
        return this;
    }

    /**
     * The scheduler on which pending timeouts fire (timeout errors are signalled on its threads). Defaults
     * to {@code Schedulers.parallel()}, looked up at each acquisition so that
     * {@code StepVerifier.withVirtualTime} replaces it.
     *
     * @param timer the timer scheduler; the service does not dispose it
     * @return this builder
     */
    public InProcessLockServiceBuilder timer(Scheduler timer) {
        this.timer = Objects.requireNonNull(timer, "timer");
        return this;
    }

    /** @return a new service with this configuration */
    public InProcessLockService build() {
        return new InProcessLockService(maxPending, timer);
    }
}
