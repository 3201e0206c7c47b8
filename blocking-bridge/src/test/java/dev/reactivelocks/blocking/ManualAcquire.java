package dev.reactivelocks.blocking;

import dev.reactivelocks.LockHandle;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;

/**
 * An acquisition answered by the test, whose subscription records request and cancel but ignores the
 * cancel: lets a test deliver a grant after the subscriber cancelled, as a remote service may.
 */
final class ManualAcquire extends Mono<LockHandle> {

    final List<String> signals = new CopyOnWriteArrayList<>();
    volatile @Nullable CoreSubscriber<? super LockHandle> subscriber;

    @Override
    public void subscribe(CoreSubscriber<? super LockHandle> actual) {
        subscriber = actual;
        actual.onSubscribe(new Subscription() {
            @Override
            public void request(long n) {
                signals.add("request");
            }

            @Override
            public void cancel() {
                signals.add("cancel");
            }
        });
    }

    /** Emits the grant now, whatever the subscriber did before. */
    void grant(LockHandle handle) {
        CoreSubscriber<? super LockHandle> s = subscriber;
        if (s == null) {
            throw new AssertionError("not subscribed");
        }
        s.onNext(handle);
        s.onComplete();
    }
}
