package dev.reactivelocks.internal;

import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * Work that a cancel must not stop halfway, such as a release: a handle that stopped holding before its
 * store call and its local release ran would leave the lock held by nobody.
 */
public final class RunToEnd {

    private RunToEnd() {
    }

    /**
     * Subscribes {@code work} now, on the calling thread, and returns a {@code Mono} that completes or errors
     * as {@code work} does. Cancelling the returned {@code Mono} only stops telling its subscriber: {@code work}
     * still runs to its end. Call it where the work is to start (inside {@code Mono.defer} for a cold
     * {@code Mono}); it does not block.
     *
     * @param work the work, subscribed exactly once
     * @return its completion or error, for any number of subscribers
     */
    public static Mono<Void> start(Mono<Void> work) {
        Sinks.Empty<Void> ended = Sinks.empty();
        work.subscribe(null, ended::tryEmitError, ended::tryEmitEmpty);
        return ended.asMono();
    }
}
