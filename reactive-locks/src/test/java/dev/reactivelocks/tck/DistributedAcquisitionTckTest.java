package dev.reactivelocks.tck;

import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.distributed.InMemoryLockBackend;

/** The Reactive Streams TCK against {@link DistributedLockService} over the in-memory backend. */
public class DistributedAcquisitionTckTest extends LockAcquisitionVerification {

    private final InMemoryLockBackend backend = InMemoryLockBackend.create();

    @Override
    protected LockService newService() {
        return DistributedLockService.builder(backend).build();
    }
}
