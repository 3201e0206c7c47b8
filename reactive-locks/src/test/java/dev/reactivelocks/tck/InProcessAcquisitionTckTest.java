package dev.reactivelocks.tck;

import dev.reactivelocks.LockService;

/** The Reactive Streams TCK against {@link LockService#inProcess()}. */
public class InProcessAcquisitionTckTest extends LockAcquisitionVerification {

    @Override
    protected LockService newService() {
        return LockService.inProcess();
    }
}
