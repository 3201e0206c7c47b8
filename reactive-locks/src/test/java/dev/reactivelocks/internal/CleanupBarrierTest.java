package dev.reactivelocks.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;

/**
 * The barrier of a {@code withLock} scope is made when its body starts and found on cancel from the scope's
 * handle: a cancelled scope releases only once the body's registered cleanup settled, and settled scopes
 * leave nothing in the table of unsettled ones.
 */
class CleanupBarrierTest {

    private final LockService locks = LockService.inProcess();

    @AfterEach
    void tearDown() {
        locks.dispose();
    }

    @Test
    void cancelledScopeReleasesOnceTheCleanupSettledAndLeavesNothingBehind() {
        AtomicReference<Runnable> cleanup = new AtomicReference<>();
        Disposable scope = locks.withLock("b", LockOptions.exclusive(), h -> Mono.deferContextual(ctx -> {
            cleanup.set(CleanupBarrier.register(ctx)); // work whose cleanup outlives the cancel
            return Mono.never();
        })).subscribe();
        assertThat(cleanup.get()).isNotNull();
        assertThat(CleanupBarrier.unsettledScopes()).isEqualTo(1);

        scope.dispose();
        assertThat(locks.tryAcquire("b").block(Duration.ofSeconds(5))).as("held until the cleanup settled").isNull();

        cleanup.get().run();
        cleanup.get().run(); // later calls are ignored
        assertThat(CleanupBarrier.unsettledScopes()).isZero();
        LockHandle next = locks.tryAcquire("b").block(Duration.ofSeconds(5));
        assertThat(next).as("released once the cleanup settled").isNotNull();
        next.release().block(Duration.ofSeconds(5));
    }

    @Test
    void scopesWhoseBodiesRegisterNothingLeaveNothingBehind() {
        for (int i = 0; i < 1_000; i++) {
            assertThat(locks.withLock("n", Mono.just(i)).block(Duration.ofSeconds(5))).isEqualTo(i);
            Disposable cancelled = locks.withLock("n", Mono.never()).subscribe();
            cancelled.dispose();
        }
        assertThat(CleanupBarrier.unsettledScopes()).isZero();
        assertThat(locks.tryAcquire("n").block(Duration.ofSeconds(5))).isNotNull();
    }
}
