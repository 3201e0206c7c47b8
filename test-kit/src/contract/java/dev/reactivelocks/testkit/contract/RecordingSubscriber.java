package dev.reactivelocks.testkit.contract;

import dev.reactivelocks.LockHandle;
import java.util.concurrent.atomic.AtomicReference;
import reactor.core.publisher.BaseSubscriber;

/**
 * Records what an acquisition signalled. Unlike a lambda subscriber, it never drops an {@code onNext} that
 * races its own cancellation, so race tests can tell "delivered" from "released".
 */
public final class RecordingSubscriber extends BaseSubscriber<LockHandle> {

    private final AtomicReference<Object> outcome = new AtomicReference<>();

    @Override
    protected void hookOnNext(LockHandle value) {
        outcome.compareAndSet(null, value);
    }

    @Override
    protected void hookOnError(Throwable throwable) {
        outcome.compareAndSet(null, throwable);
    }

    /** @return the handle received, or {@code null} */
    public LockHandle handle() {
        return outcome.get() instanceof LockHandle h ? h : null;
    }

    /** @return the handle or error received, or {@code null} */
    public Object outcome() {
        return outcome.get();
    }
}
