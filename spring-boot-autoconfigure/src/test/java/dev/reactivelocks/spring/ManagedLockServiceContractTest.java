package dev.reactivelocks.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockService;
import dev.reactivelocks.testkit.contract.HeldByNobodyRaces;
import dev.reactivelocks.testkit.contract.LockServiceContract;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/**
 * The whole core contract, run against the auto-configured bean's wrapper of an in-process service; and the
 * race loops that count names left held by nobody (a {@code block(Duration)} giving up, or a lost
 * {@code Mono.firstWithValue} race, once left the grant with nobody through this wrapper).
 */
class ManagedLockServiceContractTest extends LockServiceContract {

    @Override
    protected LockService createService() {
        return managed(LockService.inProcess());
    }

    static ManagedLockService managed(LockService delegate) {
        return new ManagedLockService(delegate, "in-process", null, null, Mono.empty(), Duration.ofSeconds(1),
                Clock.systemUTC());
    }

    @Test
    void leavesNoNameHeldByNobody() {
        try (HeldByNobodyRaces races = new HeldByNobodyRaces()) {
            assertThat(races.run(locks, 10_000, HeldByNobodyRaces.Pattern.values())).isEmpty();
        }
        assertThat(((ManagedLockService) locks).held()).isEmpty();
    }

    @Test
    @Tag("loops")
    void leavesNoNameHeldByNobody_loop() {
        try (HeldByNobodyRaces races = new HeldByNobodyRaces()) {
            assertThat(races.run(locks, 1_000_000, HeldByNobodyRaces.Pattern.values())).isEmpty();
        }
    }
}
