package dev.reactivelocks.spring;

import static org.assertj.core.api.Assertions.assertThat;

import com.jayway.jsonpath.JsonPath;
import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockServiceClosedException;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import dev.reactivelocks.spi.ForwardingLockService;
import dev.reactivelocks.micrometer.MeteredLockService;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/** Which service each property combination creates, and what closing the context does to it. */
class LockServiceAutoConfigurationTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(ReactiveLocksAutoConfiguration.class));

    static Object innermost(LockService service) {
        return ForwardingLockService.innermost(service);
    }

    @Test
    void defaultIsAnInProcessServiceThatLocks() {
        runner.run(context -> {
            LockService locks = context.getBean(LockService.class);
            assertThat(locks).isInstanceOf(ManagedLockService.class);
            assertThat(innermost(locks)).isInstanceOf(InProcessLockService.class);
            LockHandle held = locks.acquire("a").block(WAIT);
            StepVerifier.create(locks.tryAcquire("a")).expectComplete().verify(WAIT);
            held.release().block(WAIT);
            StepVerifier.create(locks.tryAcquire("a").flatMap(h -> h.release().thenReturn(h.name())))
                    .expectNext("a").expectComplete().verify(WAIT);
        });
    }

    @Test
    void backsOffWhenTheApplicationDefinesItsOwnService() {
        runner.withUserConfiguration(OwnService.class).run(context -> {
            assertThat(context).hasSingleBean(LockService.class);
            assertThat(context.getBean(LockService.class)).isSameAs(context.getBean(OwnService.class).service);
        });
    }

    @Test
    void disabledCreatesNothing() {
        runner.withPropertyValues("reactive-locks.enabled=false")
                .run(context -> assertThat(context).doesNotHaveBean(LockService.class));
    }

    @Test
    void maxPendingLimitsTheInProcessQueue() {
        runner.withPropertyValues("reactive-locks.max-pending=1").run(context -> {
            LockService locks = context.getBean(LockService.class);
            LockHandle held = locks.acquire("a").block(WAIT);
            locks.acquire("a").flatMap(LockHandle::release).subscribe();
            StepVerifier.create(locks.acquire("a"))
                    .expectErrorSatisfies(e -> assertThat(e.getClass().getSimpleName())
                            .isEqualTo("LockUnavailableException"))
                    .verify(WAIT);
            held.release().block(WAIT);
        });
    }

    @Test
    void maxPendingZeroLetsNoAcquisitionWait() {
        runner.withPropertyValues("reactive-locks.max-pending=0").run(context -> {
            LockService locks = context.getBean(LockService.class);
            LockHandle held = locks.acquire("a").block(WAIT);
            StepVerifier.create(locks.acquire("a"))
                    .expectErrorSatisfies(e -> assertThat(e.getClass().getSimpleName())
                            .isEqualTo("LockUnavailableException"))
                    .verify(WAIT);
            held.release().block(WAIT);
            LockHandle again = locks.acquire("a").block(WAIT); // a free name is granted as ever
            assertThat(again.isHeld()).isTrue();
            again.release().block(WAIT);
        });
    }

    @Test
    void prefixIsPutBeforeEveryName() {
        runner.withPropertyValues("reactive-locks.prefix=app").run(context -> {
            LockService locks = context.getBean(LockService.class);
            LockHandle held = locks.acquire("a").block(WAIT);
            assertThat(held.name()).isEqualTo("app-a");
            held.release().block(WAIT);
        });
    }

    @Test
    void fileTypeLocksFilesInTheDirectoryAndClosingTheContextReleasesThem(@TempDir Path dir) {
        AtomicReference<LockHandle> held = new AtomicReference<>();
        runner.withPropertyValues("reactive-locks.type=file", "reactive-locks.file.directory=" + dir,
                "reactive-locks.shutdown-timeout=50ms").run(context -> {
            LockService locks = context.getBean(LockService.class);
            assertThat(innermost(locks)).isInstanceOf(FileLockService.class);
            held.set(locks.acquire("report").block(WAIT));
            assertThat(dir.resolve("report")).exists();
        });
        assertThat(held.get().isHeld()).isFalse();
        FileLockService other = FileLockService.create(FileLockConfig.builder().lockDirectory(dir).build());
        try {
            StepVerifier.create(other.tryAcquire("report").flatMap(h -> h.release().thenReturn(h.name())))
                    .expectNext("report").expectComplete().verify(WAIT);
        } finally {
            other.disposeLater().block(WAIT);
        }
    }

    @Test
    void redisTypeBuildsADistributedServiceWithTheLeaseSettings() {
        runner.withPropertyValues("reactive-locks.type=redis", "reactive-locks.redis.url=redis://127.0.0.1:6379",
                "reactive-locks.lease=12s", "reactive-locks.renew-every=3s").run(context -> {
            Object service = innermost(context.getBean(LockService.class));
            assertThat(service).isInstanceOf(DistributedLockService.class);
            assertThat(service.toString()).contains("lease=PT12S", "renewEvery=PT3S");
        });
    }

    @Test
    void metersAreBoundWhenAMeterRegistryExists() {
        runner.withUserConfiguration(Registry.class).run(context -> {
            LockService locks = context.getBean(LockService.class);
            assertThat(((ForwardingLockService) locks).delegate()).isInstanceOf(MeteredLockService.class);
            locks.withLock("a", Mono.just(1)).block(WAIT);
            assertThat(context.getBean(MeterRegistry.class).getMeters()).isNotEmpty();
        });
    }

    @Test
    void metersCanBeSwitchedOff() {
        runner.withUserConfiguration(Registry.class).withPropertyValues("reactive-locks.metrics.enabled=false")
                .run(context -> assertThat(((ForwardingLockService) context.getBean(LockService.class)).delegate())
                        .isNotInstanceOf(MeteredLockService.class));
    }

    @Test
    void closingTheContextFailsPendingAcquisitionsAndReleasesHeldLocksAfterTheShutdownTimeout() {
        AtomicReference<LockHandle> held = new AtomicReference<>();
        AtomicReference<Throwable> pending = new AtomicReference<>();
        runner.withPropertyValues("reactive-locks.shutdown-timeout=100ms").run(context -> {
            LockService locks = context.getBean(LockService.class);
            // a scope that never ends on its own
            locks.withLock("a", LockOptions.exclusive(), h -> {
                held.set(h);
                return Mono.never();
            }).subscribe();
            locks.acquire("a").subscribe(h -> { }, pending::set);
            assertThat(held.get().isHeld()).isTrue();
        });
        assertThat(pending.get()).isInstanceOf(LockServiceClosedException.class);
        assertThat(held.get().isHeld()).isFalse();
    }

    @Test
    void aDowngradedLockIsListedAndReleasedWhenTheContextCloses() {
        AtomicReference<LockHandle> shared = new AtomicReference<>();
        AtomicReference<LockHandle> scopedShared = new AtomicReference<>();
        runner.withPropertyValues("reactive-locks.shutdown-timeout=50ms").run(context -> {
            LockService locks = context.getBean(LockService.class);
            shared.set(locks.acquire("a").flatMap(LockHandle::downgrade).block(WAIT));
            locks.withLock("b", LockOptions.exclusive(),
                    h -> h.downgrade().doOnNext(scopedShared::set).then(Mono.never())).subscribe();
            assertThat(context.getBean(LocksEndpoint.class).locks().locks())
                    .extracting(HeldLock::name, HeldLock::mode, HeldLock::fencingToken)
                    .containsExactlyInAnyOrder(
                            org.assertj.core.groups.Tuple.tuple("a", LockMode.SHARED, shared.get().fencingToken()),
                            org.assertj.core.groups.Tuple.tuple("b", LockMode.SHARED, scopedShared.get().fencingToken()));
        });
        assertThat(shared.get().isHeld()).as("downgraded handle released at close").isFalse();
        assertThat(scopedShared.get().isHeld()).as("a scope's downgraded grant released at close").isFalse();
    }

    @Test
    void closingTheContextLetsAScopeFinishWithinTheShutdownTimeout() {
        AtomicReference<LockHandle> held = new AtomicReference<>();
        AtomicReference<String> result = new AtomicReference<>();
        runner.withPropertyValues("reactive-locks.shutdown-timeout=30s").run(context -> {
            LockService locks = context.getBean(LockService.class);
            locks.withLock("a", LockOptions.exclusive(), h -> {
                held.set(h);
                return Mono.delay(Duration.ofMillis(200)).map(x -> "done while held: " + h.isHeld());
            }).subscribe(result::set);
        });
        assertThat(result.get()).isEqualTo("done while held: true");
        assertThat(held.get().isHeld()).isFalse();
    }

    @Test
    void theLocksEndpointListsTheHeldLocks() {
        runner.run(context -> {
            LockService locks = context.getBean(LockService.class);
            Instant before = Instant.now();
            LockHandle a = locks.acquire("a").block(WAIT);
            LockHandle b = locks.acquire("b", LockOptions.shared()).block(WAIT);
            Instant after = Instant.now();
            LocksEndpoint endpoint = context.getBean(LocksEndpoint.class);
            assertThat(endpoint.locks().locks()).extracting(HeldLock::since)
                    .allSatisfy(since -> assertThat(since).isBetween(before, after))
                    .isSorted();
            assertThat(endpoint.locks().locks())
                    .extracting(HeldLock::name, HeldLock::mode, HeldLock::fencingToken)
                    .containsExactlyInAnyOrder(
                            org.assertj.core.groups.Tuple.tuple("a", LockMode.EXCLUSIVE, a.fencingToken()),
                            org.assertj.core.groups.Tuple.tuple("b", LockMode.SHARED, b.fencingToken()));
            a.release().block(WAIT);
            assertThat(endpoint.locks().locks()).extracting(HeldLock::name).containsExactly("b");
            b.release().block(WAIT);
            assertThat(endpoint.locks().locks()).isEmpty();
        });
    }

    @Test
    void healthIsUpInProcessAndDownWhenTheRedisServerDoesNotAnswer() {
        runner.run(context -> StepVerifier.create(health(context))
                .assertNext(h -> assertThat(h).isEqualTo(Health.up().withDetail("type", "in-process")
                        .withDetail("held", 0).build()))
                .expectComplete().verify(WAIT));
        runner.withPropertyValues("reactive-locks.type=redis", "reactive-locks.redis.url=redis://127.0.0.1:1")
                .run(context -> StepVerifier.create(health(context))
                        .assertNext(h -> {
                            assertThat(h.getStatus()).isEqualTo(Status.DOWN);
                            assertThat(h.getDetails()).containsEntry("type", "redis").containsKey("error");
                        })
                        .expectComplete().verify(WAIT));
    }

    @Test
    void everyPropertyIsDescribedInTheMetadataForIdes() throws Exception {
        String json;
        try (var in = ReactiveLocksProperties.class.getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
            json = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        List<Map<String, Object>> properties = JsonPath.read(json, "$.properties[*]");
        assertThat(properties).extracting(p -> p.get("name")).contains("reactive-locks.type",
                "reactive-locks.default-timeout", "reactive-locks.lease", "reactive-locks.renew-every",
                "reactive-locks.file.directory", "reactive-locks.postgres.table", "reactive-locks.redis.url",
                "reactive-locks.redis.key-prefix", "reactive-locks.redis.restart-grace",
                "reactive-locks.shutdown-timeout", "reactive-locks.metrics.enabled");
        assertThat(properties).allSatisfy(p -> assertThat((String) p.get("description")).as("%s", p.get("name"))
                .isNotBlank());
    }

    static Mono<Health> health(org.springframework.context.ApplicationContext context) {
        return context.getBean("lockServiceHealthIndicator", ReactiveHealthIndicator.class).health();
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnService {
        final LockService service = LockService.inProcess();

        @Bean
        LockService myLocks() {
            return service;
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class Registry {
        @Bean
        MeterRegistry registry() {
            return new SimpleMeterRegistry();
        }
    }
}
