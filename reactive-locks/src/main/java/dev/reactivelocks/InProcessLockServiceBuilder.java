package dev.reactivelocks;

import reactor.core.scheduler.Scheduler;

/**
 * Builds an {@link InProcessLockService}. Obtain one from {@link LockService#builder()}.
 *
 * <pre>{@code
 * InProcessLockService locks = LockService.builder().maxPending(1_000).build();
 * }</pre>
 *
 * <p>Not thread-safe; the built service is. Implemented by this library only (new methods may be added).
 */
public interface InProcessLockServiceBuilder {

    /**
     * Limits the acquisitions that may wait for one lock name at the same time. Past the limit, an
     * acquisition errors at once with {@link LockUnavailableException}. Zero allows no waiting at all.
     * Defaults to unbounded.
     *
     * @param maxPending the limit per name, {@code >= 0}
     * @return this builder
     * @throws IllegalArgumentException if {@code maxPending < 0}
     */
    InProcessLockServiceBuilder maxPending(int maxPending);

    /**
     * Lets any number of acquisitions wait for a name. This is the default.
     *
     * @return this builder
     */
    InProcessLockServiceBuilder maxPendingUnbounded();

    /**
     * The scheduler on which pending timeouts fire (timeout errors are signalled on its threads). Defaults
     * to {@code Schedulers.parallel()}, looked up at each acquisition so that
     * {@code StepVerifier.withVirtualTime} replaces it.
     *
     * @param timer the timer scheduler; the service does not dispose it
     * @return this builder
     */
    InProcessLockServiceBuilder timer(Scheduler timer);

    /** @return a new service with this configuration */
    InProcessLockService build();
}
