package dev.reactivelocks.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockServiceClosedException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ConfigurableApplicationContext;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/** The bean's lifecycle beyond a plain start and close: a close on an event loop. */
class LockServiceLifecycleTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(ReactiveLocksAutoConfiguration.class))
            .withPropertyValues("reactive-locks.shutdown-timeout=50ms");

    @Test
    void closingTheContextOnANonBlockingThreadNeitherBlocksNorFailsAndStillReleases() {
        AtomicReference<LockHandle> held = new AtomicReference<>();
        AtomicReference<Throwable> pending = new AtomicReference<>();
        runner.run(context -> {
            LockService locks = context.getBean(LockService.class);
            locks.withLock("a", LockOptions.exclusive(), h -> {
                held.set(h);
                return Mono.never();
            }).subscribe();
            locks.acquire("a").subscribe(h -> { }, pending::set);
            ConfigurableApplicationContext closing = context.getSourceApplicationContext();
            StepVerifier.create(Mono.fromRunnable(closing::close).subscribeOn(Schedulers.parallel()))
                    .expectComplete().verify(WAIT);
            assertThat(pending.get()).isInstanceOf(LockServiceClosedException.class);
            StepVerifier.create(Mono.fromSupplier(() -> held.get().isHeld()).filter(h -> !h)
                            .repeatWhenEmpty(r -> r.delayElements(Duration.ofMillis(20))))
                    .expectNext(false).expectComplete().verify(WAIT);
        });
    }

    @Test
    void destroyOnANonBlockingThreadReturnsWithoutBlockingAndTheServiceCloses() {
        runner.run(context -> {
            ManagedLockService locks = context.getBean(ManagedLockService.class);
            LockHandle held = locks.acquire("a").block(WAIT);
            StepVerifier.create(Mono.fromRunnable(locks::destroy).subscribeOn(Schedulers.parallel()))
                    .expectComplete().verify(WAIT);
            StepVerifier.create(locks.disposeLater()).expectComplete().verify(WAIT);
            assertThat(held.isHeld()).isFalse();
            assertThat(locks.isDisposed()).isTrue();
        });
    }
}
