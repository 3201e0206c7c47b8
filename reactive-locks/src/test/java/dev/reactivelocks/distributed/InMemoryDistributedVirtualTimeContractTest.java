package dev.reactivelocks.distributed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.testkit.contract.DistributedLockServiceContract;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import reactor.core.scheduler.Scheduler;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * The distributed contract over the in-memory backend that hands the lock off, in virtual time: a
 * {@link VirtualTimeScheduler} of the test (not installed globally) is the store's clock and the timer of
 * every service, and the contract's waits advance it instead of sleeping, so that leases of seconds expire
 * in milliseconds. {@link InMemoryDistributedContractTest} runs the same suite on the real schedulers,
 * where the timers fire on Reactor's threads under BlockHound.
 */
class InMemoryDistributedVirtualTimeContractTest extends DistributedLockServiceContract {

    private final VirtualTimeScheduler clock = VirtualTimeScheduler.create();
    private final InMemoryLockBackend store = InMemoryLockBackend.createHandingOff(clock);

    InMemoryDistributedVirtualTimeContractTest() {
        closeAfterTest(clock::dispose); // runs last, after the services were disposed on this clock
    }

    @Override
    protected Scheduler timer() {
        return clock;
    }

    @Override
    protected LockBackend newBackend(String clientName) {
        return store; // shared by the services of the test, as one server is by its clients
    }

    @Override
    protected long liveLeases(String name) {
        return store.liveFencingTokens(name).size();
    }

    /**
     * The contract's waits move the virtual clock, not the wall clock: a lease of two seconds runs out
     * and is taken over while far less real time passes, and Reactor's schedulers are left as they were.
     */
    @Test
    void anExpiredLeaseIsTakenOverAfterVirtualTimeNotWallClockTime() {
        // first in a new JVM, loading the classes would take a second of wall-clock time: not measured
        await(acquire(serviceA(), "warm-up").release());
        long virtualStart = clock.now(TimeUnit.NANOSECONDS);
        long wallStart = System.nanoTime();
        tryAcquireTakesOverAnExpiredLease();
        Duration virtual = Duration.ofNanos(clock.now(TimeUnit.NANOSECONDS) - virtualStart);
        Duration wall = Duration.ofNanos(System.nanoTime() - wallStart);
        assertThat(virtual).as("virtual time passed").isGreaterThan(LEASE);
        assertThat(wall).as("wall-clock time passed, against %s of virtual time", virtual).isLessThan(virtual);
        assertThat(VirtualTimeScheduler.isFactoryEnabled()).as("Schedulers replaced globally").isFalse();
    }
}
