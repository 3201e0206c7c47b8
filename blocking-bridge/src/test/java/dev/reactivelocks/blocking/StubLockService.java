package dev.reactivelocks.blocking;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import reactor.core.publisher.Mono;

/** A {@link LockService} whose every acquisition is the given {@code Mono}: for answers no real service gives. */
final class StubLockService implements LockService {

    private final Mono<LockHandle> answer;

    StubLockService(Mono<LockHandle> answer) {
        this.answer = answer;
    }

    @Override
    public Mono<LockHandle> acquire(String name, LockOptions options) {
        return answer;
    }

    @Override
    public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
        return answer;
    }

    @Override
    public Mono<Void> disposeLater() {
        return Mono.empty();
    }

    @Override
    public boolean isDisposed() {
        return false;
    }
}
