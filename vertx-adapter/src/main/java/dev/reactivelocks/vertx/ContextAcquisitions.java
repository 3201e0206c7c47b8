package dev.reactivelocks.vertx;

import io.vertx.core.Closeable;
import io.vertx.core.Completable;
import io.vertx.core.internal.CloseFuture;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import reactor.core.publisher.Mono;

/**
 * The pending and held acquisitions made from the contexts of one {@link CloseFuture} (a deployment, or the
 * {@code Vertx} instance), registered as its close hook: closing it dequeues the pending acquisitions and
 * releases the held ones, and completes once those releases completed, and so have the releases the holders
 * started themselves and the downgrades under way ({@link VertxAcquisition#abandon()}). As for the
 * releases, the wrapped service bounds how long that takes (a distributed service's store calls time out);
 * a failed release does not fail the close.
 */
final class ContextAcquisitions implements Closeable {

    private final DefaultVertxLockService service;
    private final CloseFuture closeFuture;
    private final Set<VertxAcquisition> live = ConcurrentHashMap.newKeySet();
    private boolean closed; // guarded by this

    ContextAcquisitions(DefaultVertxLockService service, CloseFuture closeFuture) {
        this.service = service;
        this.closeFuture = closeFuture;
    }

    CloseFuture closeFuture() {
        return closeFuture;
    }

    /** @return {@code false} when the context is closed and the acquisition must not start */
    synchronized boolean add(VertxAcquisition acquisition) {
        if (closed) {
            return false;
        }
        live.add(acquisition);
        return true;
    }

    void remove(VertxAcquisition acquisition) {
        live.remove(acquisition);
    }

    /** @return the number of pending and held acquisitions (for tests) */
    int size() {
        return live.size();
    }

    @Override
    public void close(Completable<Void> completion) {
        List<VertxAcquisition> abandoned;
        synchronized (this) {
            closed = true;
            abandoned = new ArrayList<>(live);
            live.clear();
        }
        service.forget(this);
        List<Mono<Void>> releases = new ArrayList<>(abandoned.size());
        for (VertxAcquisition a : abandoned) {
            try {
                releases.add(a.abandon().onErrorResume(e -> Mono.empty()));
            } catch (RuntimeException e) {
                // a failing release of one lock must not keep the context from closing
            }
        }
        // the close completes once every release completed; a failed release does not fail the undeployment
        Mono.when(releases).subscribe(null, e -> completion.succeed(), completion::succeed);
    }
}
