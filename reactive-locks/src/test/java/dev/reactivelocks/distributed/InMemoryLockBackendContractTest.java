package dev.reactivelocks.distributed;

import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.testkit.contract.WaitQueueContract;
import org.junit.jupiter.api.Nested;

/** The rules of the SPI, kept by the in-memory reference backend in both of its kinds. */
class InMemoryLockBackendContractTest {

    /** {@link InMemoryLockBackend#create()}: wakes the waiters a release lets through. */
    @Nested
    class Waking extends WaitQueueContract {
        private final InMemoryLockBackend backend = InMemoryLockBackend.create();

        @Override
        protected LockBackend backend() {
            return backend;
        }

        @Override
        protected boolean handsOff() {
            return false;
        }
    }

    /** {@link InMemoryLockBackend#createHandingOff()}: grants them in the release's own step. */
    @Nested
    class HandingOff extends WaitQueueContract {
        private final InMemoryLockBackend backend = InMemoryLockBackend.createHandingOff();

        @Override
        protected LockBackend backend() {
            return backend;
        }
    }
}
