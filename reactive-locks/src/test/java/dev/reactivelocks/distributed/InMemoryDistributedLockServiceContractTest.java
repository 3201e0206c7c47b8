package dev.reactivelocks.distributed;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.contract.LockServiceContract;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The core contract, run by {@link DistributedLockService} over the in-memory reference backend. */
class InMemoryDistributedLockServiceContractTest extends LockServiceContract {

    @Override
    protected LockService createService() {
        return DistributedLockService.builder(InMemoryLockBackend.create())
                .lease(Duration.ofSeconds(2)).renewEvery(Duration.ofMillis(500)).build();
    }

    @Test
    void namedSemaphoresAreRejectedNamingTheOptions() {
        assertThatThrownBy(() -> locks.acquire("s", LockOptions.permits(3)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("DistributedLockService does not count holders: LockOptions.permits(3) is not supported,"
                        + " was LockOptions{SHARED, permits=3}");
    }
}
