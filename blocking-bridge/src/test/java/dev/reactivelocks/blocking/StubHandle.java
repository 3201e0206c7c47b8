package dev.reactivelocks.blocking;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/** A handle that counts its releases and may fail them. */
final class StubHandle implements LockHandle {

    private final String name;
    private final @Nullable RuntimeException releaseError;
    private final AtomicInteger releases = new AtomicInteger();

    StubHandle(String name) {
        this(name, null);
    }

    StubHandle(String name, @Nullable RuntimeException releaseError) {
        this.name = name;
        this.releaseError = releaseError;
    }

    int releases() {
        return releases.get();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public LockMode mode() {
        return LockMode.EXCLUSIVE;
    }

    @Override
    public long fencingToken() {
        return 1;
    }

    @Override
    public boolean isHeld() {
        return releases.get() == 0;
    }

    @Override
    public Mono<Void> release() {
        return Mono.defer(() -> {
            releases.incrementAndGet();
            return releaseError == null ? Mono.empty() : Mono.error(releaseError);
        });
    }

    @Override
    public Mono<Void> lost() {
        return Mono.never();
    }
}
