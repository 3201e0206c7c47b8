package dev.reactivelocks.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockServiceClosedException;
import dev.reactivelocks.testkit.servers.TestRedis;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ApplicationContextException;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/** The bean beyond a plain start and close: a stop and a start, a failed startup, a close on an event loop. */
class LockServiceLifecycleTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String PREFIX = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(ReactiveLocksAutoConfiguration.class))
            .withPropertyValues("reactive-locks.shutdown-timeout=50ms");

    @BeforeAll
    static void server() {
        TestRedis.get();   // looked for (or started) here, on the test thread
    }

    @Test
    void startAfterStopFailsNamingTheServiceAndLocksHeldAcrossTheStopWereReleased() {
        AtomicReference<LockHandle> held = new AtomicReference<>();
        runner.run(context -> {
            LockService locks = context.getBean(LockService.class);
            held.set(locks.acquire("a").block(WAIT));
            context.stop();
            assertThat(held.get().isHeld()).as("released by the stop").isFalse();
            assertThatThrownBy(context::start)
                    .isInstanceOf(ApplicationContextException.class)
                    .rootCause()
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("The lock service of reactive-locks was stopped and cannot start again: its locks "
                            + "were released and its backend closed when the context stopped. Close this context "
                            + "and start a new one.");
            StepVerifier.create(locks.acquire("a")).expectError(LockServiceClosedException.class).verify(WAIT);
        });
    }

    @Test
    void aLockHeldInRedisAcrossAStopIsReleasedInTheStoreForOtherApplications() {
        String name = "stopped";
        redisRunner().withPropertyValues("reactive-locks.shutdown-timeout=50ms").run(first -> {
            LockHandle held = first.getBean(LockService.class).acquire(name).block(WAIT);
            first.stop();
            assertThat(held.isHeld()).isFalse();
            assertThatThrownBy(first::start).isInstanceOf(ApplicationContextException.class);
            redisRunner().run(second -> StepVerifier.create(second.getBean(LockService.class).tryAcquire(name)
                            .flatMap(h -> h.release().thenReturn(h.fencingToken())))
                    .assertNext(token -> assertThat(token).isGreaterThan(held.fencingToken()))
                    .expectComplete().verify(WAIT));
        });
    }

    @Test
    void startingARunningContextAgainKeepsTheServiceUsable() {
        runner.run(context -> {
            context.start();   // already running: nothing to do
            LockService locks = context.getBean(LockService.class);
            StepVerifier.create(locks.withLock("a", Mono.just(1))).expectNext(1).expectComplete().verify(WAIT);
        });
    }

    /** Each property is checked after the library created its Redis client for reactive-locks.redis.url. */
    @ParameterizedTest
    @ValueSource(strings = {"reactive-locks.lease=0s", "reactive-locks.renew-every=1h", "reactive-locks.prefix=-",
            "reactive-locks.metrics.service-name="})
    void aFailedStartupShutsDownTheRedisClientItCreated(String property) {
        Set<String> before = lettuceThreads();
        redisRunner().withPropertyValues(property).run(context -> assertThat(context).hasFailed());
        assertNoThreadLeftBesides(before);
    }

    @Test
    void aStartupThatFailsAfterTheServiceWasCreatedShutsDownItsRedisClient() {
        Set<String> before = lettuceThreads();
        redisRunner().withUserConfiguration(FailingBean.class).run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).rootCause().hasMessage("a bean of the application failed");
        });
        assertNoThreadLeftBesides(before);
    }

    @Configuration(proxyBeanMethods = false)
    static class FailingBean {
        @Bean
        Object failing(LockService locks) {
            throw new IllegalStateException("a bean of the application failed");
        }
    }

    private static ApplicationContextRunner redisRunner() {
        return new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(ReactiveLocksAutoConfiguration.class))
                .withUserConfiguration(LockServiceAutoConfigurationTest.Registry.class)
                .withPropertyValues("reactive-locks.type=redis", "reactive-locks.redis.url=" + TestRedis.get().url(),
                        // a fresh prefix: no grace for lost data, nothing to lose yet
                        "reactive-locks.redis.key-prefix=rltest:spring-lifecycle:" + PREFIX + ":",
                        "reactive-locks.redis.restart-grace=0s");
    }

    /** Waits up to 10 s for the Lettuce threads started since {@code before} to end. */
    private static void assertNoThreadLeftBesides(Set<String> before) {
        Mono.fromCallable(() -> newLettuceThreads(before))
                .filter(Set::isEmpty)
                .repeatWhenEmpty(r -> r.delayElements(Duration.ofMillis(50)))
                .timeout(WAIT, Mono.fromCallable(() -> newLettuceThreads(before)))
                .as(StepVerifier::create)
                .assertNext(left -> assertThat(left).as("Lettuce threads left by the failed startup").isEmpty())
                .expectComplete()
                .verify(WAIT.multipliedBy(2));
    }

    private static Set<String> newLettuceThreads(Set<String> before) {
        Set<String> threads = lettuceThreads();
        threads.removeAll(before);
        return threads;
    }

    private static Set<String> lettuceThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> n.startsWith("lettuce-")).collect(Collectors.toSet());
    }

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
