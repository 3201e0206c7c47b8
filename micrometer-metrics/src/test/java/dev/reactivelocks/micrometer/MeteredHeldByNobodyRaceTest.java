package dev.reactivelocks.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockService;
import dev.reactivelocks.testkit.contract.HeldByNobodyRaces;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** No name is left held by nobody through the metering view, and its gauges end at zero. */
class MeteredHeldByNobodyRaceTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final LockService locks = MeteredLockService.of(LockService.inProcess(), registry, "races");
    private final HeldByNobodyRaces races = new HeldByNobodyRaces();

    @AfterEach
    void tearDown() {
        races.close();
        locks.dispose();
    }

    @Test
    void meteredViewLeavesNoNameHeldByNobodyAndGaugesAtZero() {
        assertThat(races.run(locks, 10_000, HeldByNobodyRaces.Pattern.values())).isEmpty();
        assertThat(registry.find(LockMeters.HELD).gauge().value()).as("held").isZero();
        assertThat(registry.find(LockMeters.PENDING).gauge().value()).as("pending").isZero();
    }

    @Test
    @Tag("loops")
    void meteredViewLeavesNoNameHeldByNobody_loop() {
        assertThat(races.run(locks, 1_000_000, HeldByNobodyRaces.Pattern.values())).isEmpty();
    }
}
