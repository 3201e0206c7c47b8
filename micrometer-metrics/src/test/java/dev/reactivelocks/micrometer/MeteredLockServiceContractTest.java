package dev.reactivelocks.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockService;
import dev.reactivelocks.testkit.contract.LockServiceContract;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;

/** The whole core contract, run against an in-process service seen through the metering decorator. */
class MeteredLockServiceContractTest extends LockServiceContract {

    private SimpleMeterRegistry registry;

    @Override
    protected LockService createService() {
        registry = new SimpleMeterRegistry();
        return MeteredLockService.of(LockService.inProcess(), registry, "contract");
    }

    /**
     * Runs before the contract disposes the service: every test must leave the gauges at zero. A test that
     * disposed the service itself has removed them.
     */
    @AfterEach
    void gaugesReturnToZero() {
        Gauge pending = registry.find(LockMeters.PENDING).gauge();
        Gauge held = registry.find(LockMeters.HELD).gauge();
        if (locks.isDisposed()) {
            assertThat(pending).as("gauges removed on dispose").isNull();
            return;
        }
        assertThat(pending.value()).as("pending").isZero();
        assertThat(held.value()).as("held").isZero();
    }
}
