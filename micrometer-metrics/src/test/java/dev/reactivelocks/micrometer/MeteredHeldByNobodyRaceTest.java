package dev.reactivelocks.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockService;
import dev.reactivelocks.testkit.contract.HeldByNobodyRaces;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.testkit.contract.SpinRacer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** No name is left held by nobody through the metering view, and its gauges end at zero. */
class MeteredHeldByNobodyRaceTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final LockService locks = MeteredLockService.of(LockService.inProcess(), registry, "races");
    private final HeldByNobodyRaces races = new HeldByNobodyRaces();
    private static final Duration WAIT = Duration.ofSeconds(10);

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

    /**
     * A release racing a downgrade of the same handle, the downgraded handle never released by the caller:
     * the name is freed whichever comes first, and the held gauge must say so after every race (it once
     * went on counting a lock the delegate had freed when the release fell between the downgrade's end of
     * the exclusive hold and its hand-over to the shared grant).
     */
    @Test
    void releaseRacingDowngradeLeavesTheHeldGaugeAtZero() throws Exception {
        try (SpinRacer racer = new SpinRacer()) {
            for (int i = 0; i < 5_000; i++) {
                LockHandle exclusive = locks.acquire("dg-gauge-" + i).block(WAIT);
                CompletableFuture<Object> downgraded = new CompletableFuture<>();
                racer.race(() -> exclusive.downgrade().subscribe(downgraded::complete, downgraded::complete),
                        () -> exclusive.release().block(WAIT));
                downgraded.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertThat(locks.tryAcquire("dg-gauge-" + i).block(WAIT)).as("the name is free").isNotNull()
                        .satisfies(h -> h.release().block(WAIT));
                Gauge held = registry.find(LockMeters.HELD).gauge();
                assertThat(held.value()).as("held after race %d", i).isZero();
            }
        }
    }

    @Test
    @Tag("loops")
    void meteredViewLeavesNoNameHeldByNobody_loop() {
        assertThat(races.run(locks, 1_000_000, HeldByNobodyRaces.Pattern.values())).isEmpty();
    }
}
