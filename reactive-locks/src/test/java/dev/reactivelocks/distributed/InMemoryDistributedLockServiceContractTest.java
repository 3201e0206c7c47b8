package dev.reactivelocks.distributed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.testkit.contract.LockServiceContract;
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
    void namedSemaphoresAreRejectedNamingTheOptionsOnABackendThatDoesNotCountPermits() {
        LockBackend plain = new FaultyBackend(InMemoryLockBackend.create());
        LockService service = DistributedLockService.builder(plain).build();
        try {
            assertThatThrownBy(() -> service.acquire("s", LockOptions.permits(3)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("DistributedLockService does not count holders on " + plain
                            + ": LockOptions.permits(3) is not supported, was LockOptions{SHARED, permits=3}");
        } finally {
            service.dispose();
        }
    }

    @Test
    void namedSemaphoresCountPermitsInTheStore() {
        LockHandle first = locks.acquire("s", LockOptions.permits(2)).block();
        LockHandle second = locks.acquire("s", LockOptions.permits(2)).block();
        assertThat(locks.tryAcquire("s", LockOptions.permits(2)).block()).isNull();
        first.release().block();
        second.release().block();
    }
}
