package dev.reactivelocks;

import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import reactor.core.CoreSubscriber;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;

/**
 * {@link Acquisition#release()}: releases on subscription and completes empty; idempotent, as the
 * acquisition's state allows one release. One object per call ({@code Mono.fromRunnable} with a method
 * reference takes two); a {@link Callable}, so that {@code flatMap(LockHandle::release)} calls it in place
 * without subscribing to it.
 */
final class Release extends Mono<Void> implements Callable<@Nullable Void> {

    private final Acquisition acquisition;

    private Release(Acquisition acquisition) {
        this.acquisition = acquisition;
    }

    /** @return the release of {@code acquisition}, through Reactor's assembly hooks as every operator */
    static Mono<Void> of(Acquisition acquisition) {
        return onAssembly(new Release(acquisition));
    }

    @Override
    public void subscribe(CoreSubscriber<? super Void> actual) {
        try {
            acquisition.releaseNow();
        } catch (Throwable e) {
            Operators.error(actual, Operators.onOperatorError(e, actual.currentContext()));
            return;
        }
        Operators.complete(actual);
    }

    @Override
    public @Nullable Void call() {
        try {
            acquisition.releaseNow();
        } catch (Throwable e) {
            throw Exceptions.propagate(e);
        }
        return null;
    }
}
