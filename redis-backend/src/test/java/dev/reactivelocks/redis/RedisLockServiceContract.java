package dev.reactivelocks.redis;

import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.contract.LockServiceContract;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;

/** The core contract, run by {@link DistributedLockService} over a backend on a standalone server or a cluster. */
abstract class RedisLockServiceContract extends LockServiceContract {

    private RedisLockBackend backend;

    /** A new backend on the store of the test class, for one service. */
    protected abstract RedisLockBackend newBackend();

    @AfterEach
    void closeBackend() {
        backend.close().block(WAIT);
    }

    @Override
    protected LockService createService() {
        backend = newBackend();
        return DistributedLockService.builder(backend)
                .lease(Duration.ofSeconds(2)).renewEvery(Duration.ofMillis(500)).build();
    }

    /** Redis records no grant times. */
    @Override
    public boolean inspectionReportsHeldSince() {
        return false;
    }

    @Override
    protected Duration quietPeriod() {
        return Duration.ofMillis(300);
    }

    @Override
    protected int raceIterations() {
        return 40;
    }

    @Override
    protected int contentionOps() {
        return 60;
    }
}
