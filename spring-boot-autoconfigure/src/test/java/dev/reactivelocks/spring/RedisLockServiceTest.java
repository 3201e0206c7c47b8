package dev.reactivelocks.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.internal.LockServiceView;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.health.contributor.Health;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.test.StepVerifier;

/** reactive-locks.type=redis on Redis at 127.0.0.1:6379. */
class RedisLockServiceTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    /** Fixed: the first use of a key prefix waits one lease (the backend's restart grace). */
    private static final String PREFIX = "rltest:spring:";

    private final String name = "nightly-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);

    /** The one place that names the test server. */
    static String url() {
        return "redis://127.0.0.1:6379";
    }

    @Configuration(proxyBeanMethods = false)
    static class Client {
        @Bean(destroyMethod = "shutdown")
        RedisClient redisClient() {
            return RedisClient.create();
        }
    }

    private ConfigurableApplicationContext start(Class<?>... sources) {
        Class<?>[] all = new Class<?>[sources.length + 1];
        all[0] = ReactiveLocksAutoConfiguration.class;
        System.arraycopy(sources, 0, all, 1, sources.length);
        return new SpringApplicationBuilder(all).web(WebApplicationType.NONE)
                .properties("reactive-locks.type=redis", "reactive-locks.redis.url=" + url(),
                        "reactive-locks.redis.key-prefix=" + PREFIX, "reactive-locks.lease=3s",
                        "reactive-locks.shutdown-timeout=100ms", "spring.main.banner-mode=off",
                        "spring.main.log-startup-info=false")
                .run();
    }

    @Test
    void twoApplicationsExcludeEachOtherAndClosingOneReleasesItsLocks() {
        ConfigurableApplicationContext first = start(Client.class);   // the application's RedisClient
        try (ConfigurableApplicationContext second = start()) {       // a client of the library's own
            LockService a = first.getBean(LockService.class);
            LockService b = second.getBean(LockService.class);
            assertThat(LockServiceView.unwrap(a)).isInstanceOf(DistributedLockService.class);
            LockHandle held = a.acquire(name).block(WAIT);
            StepVerifier.create(b.tryAcquire(name)).expectComplete().verify(WAIT);
            StepVerifier.create(LockServiceAutoConfigurationTest.health(first))
                    .assertNext(h -> assertThat(h).isEqualTo(Health.up().withDetail("type", "redis")
                            .withDetail("held", 1).build()))
                    .expectComplete().verify(WAIT);

            first.close();
            assertThat(held.isHeld()).isFalse();
            StepVerifier.create(b.tryAcquire(name).flatMap(h -> h.release().thenReturn(h.fencingToken())))
                    .assertNext(token -> assertThat(token).isGreaterThan(held.fencingToken()))
                    .expectComplete().verify(WAIT);
        } finally {
            first.close();
        }
    }
}
