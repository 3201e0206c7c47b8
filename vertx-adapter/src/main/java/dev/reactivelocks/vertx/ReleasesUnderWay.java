package dev.reactivelocks.vertx;

import java.util.ArrayList;
import java.util.List;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * The releases of one grant that its holder started and that have not completed yet (for a distributed lock,
 * a round trip to the store): the close of the grant's context waits for them, so that an undeployment never
 * completes while a lock acquired on its context is still held.
 *
 * <p>A release is {@link #begin() begun} before it can take effect and {@link #end ended} once it completed,
 * failed or was cancelled. {@link #completion()} taken after a release took effect therefore includes it.
 */
final class ReleasesUnderWay {

    private final List<Sinks.Empty<Void>> running = new ArrayList<>(1); // guarded by this

    /** @return the token of a release about to start; pass it to {@link #end} once the release ended */
    synchronized Sinks.Empty<Void> begin() {
        Sinks.Empty<Void> release = Sinks.empty();
        running.add(release);
        return release;
    }

    /** @param release a token of {@link #begin()}, whose release ended (completed, failed or cancelled) */
    void end(Sinks.Empty<Void> release) {
        synchronized (this) {
            running.remove(release);
        }
        release.tryEmitEmpty();
    }

    /**
     * @param release a release of the grant
     * @return {@code release}, each subscription of which is begun and ended here
     */
    Mono<Void> track(Mono<Void> release) {
        return Mono.defer(() -> ending(begin(), release, () -> { }));
    }

    /**
     * @param underWay the token of {@code release}, {@link #begin() begun} before it could take effect
     * @param release the release
     * @param first what to do once it ended, before its token ends and before its subscriber learns it ended
     * @return {@code release}, ending {@code underWay} when it terminates or is cancelled
     */
    Mono<Void> ending(Sinks.Empty<Void> underWay, Mono<Void> release, Runnable first) {
        Runnable ended = () -> {
            first.run();
            end(underWay);
        };
        return release.doOnTerminate(ended).doOnCancel(ended);
    }

    /**
     * @return a {@code Mono} that completes once no release is under way: those running at its subscription
     *         have ended, and so have those begun before they ended (a release that found another one making
     *         it completes at once, while the other one is still on its way)
     */
    Mono<Void> completion() {
        return Mono.defer(() -> {
            List<Mono<Void>> ends = new ArrayList<>();
            synchronized (this) {
                for (Sinks.Empty<Void> release : running) {
                    ends.add(release.asMono());
                }
            }
            return ends.isEmpty() ? Mono.empty() : Mono.when(ends).then(completion());
        });
    }
}
