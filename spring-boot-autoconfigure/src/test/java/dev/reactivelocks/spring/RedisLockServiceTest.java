package dev.reactivelocks.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.ForwardingLockService;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import reactor.test.StepVerifier;

/** reactive-locks.type=redis on the test server ({@link TestRedis}: configured, local or embedded). */
class RedisLockServiceTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private final String unique = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
    private final String name = "nightly-" + unique;
    private final List<ConfigurableApplicationContext> started = new ArrayList<>();

    @BeforeAll
    static void server() {
        TestRedis.get();   // looked for (or started) here, on the test thread
    }

    @AfterEach
    void close() {
        started.forEach(ConfigurableApplicationContext::close);
    }

    @Configuration(proxyBeanMethods = false)
    static class Client {
        @Bean(destroyMethod = "shutdown")
        RedisClient redisClient() {
            return RedisClient.create();
        }
    }

    /** An application with reactive-locks.type=redis, {@code properties} and the configuration {@code sources}. */
    private ConfigurableApplicationContext start(List<String> properties, Class<?>... sources) {
        Class<?>[] all = new Class<?>[sources.length + 1];
        all[0] = ReactiveLocksAutoConfiguration.class;
        System.arraycopy(sources, 0, all, 1, sources.length);
        List<String> settings = new ArrayList<>(List.of("reactive-locks.type=redis",
                // a fresh prefix: no grace for lost data, nothing to lose yet
                "reactive-locks.redis.key-prefix=rltest:spring:" + unique + ":", "reactive-locks.redis.restart-grace=0s",
                "reactive-locks.lease=3s", "reactive-locks.shutdown-timeout=100ms", "spring.main.banner-mode=off",
                "spring.main.log-startup-info=false"));
        settings.addAll(properties);
        ConfigurableApplicationContext context = new SpringApplicationBuilder(all).web(WebApplicationType.NONE)
                .properties(settings.toArray(String[]::new)).run();
        started.add(context);
        return context;
    }

    private ConfigurableApplicationContext startWithUrl(Class<?>... sources) {
        return start(List.of("reactive-locks.redis.url=" + TestRedis.get().url()), sources);
    }

    @Test
    void twoApplicationsExcludeEachOtherAndClosingOneReleasesItsLocks() {
        ConfigurableApplicationContext first = startWithUrl(Client.class);   // the application's RedisClient
        ConfigurableApplicationContext second = startWithUrl();              // a client of the library's own
        LockService a = first.getBean(LockService.class);
        LockService b = second.getBean(LockService.class);
        assertThat(ForwardingLockService.innermost(a)).isInstanceOf(DistributedLockService.class);
        LockHandle held = a.acquire(name).block(WAIT);
        StepVerifier.create(b.tryAcquire(name)).expectComplete().verify(WAIT);
        StepVerifier.create(LockServiceAutoConfigurationTest.health(first))
                .assertNext(h -> assertThat(h).isEqualTo(Health.up().withDetail("type", "redis")
                        .withDetail("held", 1).withDetail("failingRenewals", 0).build()))
                .expectComplete().verify(WAIT);

        first.close();
        assertThat(held.isHeld()).isFalse();
        StepVerifier.create(b.tryAcquire(name).flatMap(h -> h.release().thenReturn(h.fencingToken())))
                .assertNext(token -> assertThat(token).isGreaterThan(held.fencingToken()))
                .expectComplete().verify(WAIT);
    }

    @Test
    void withoutAUrlTheServerAndClientOfSpringDataRedisAreUsed() {
        String clientName = "rl-spring-data-" + unique;
        ConfigurableApplicationContext data = start(List.of("spring.data.redis.url=" + TestRedis.get().url(),
                "spring.data.redis.client-name=" + clientName), DataRedisAutoConfiguration.class);
        ConfigurableApplicationContext other = startWithUrl();
        LockService a = data.getBean(LockService.class);
        LockService b = other.getBean(LockService.class);
        LockHandle held = a.acquire(name).block(WAIT);
        StepVerifier.create(b.tryAcquire(name)).expectComplete().verify(WAIT);
        // the backend's connection carries the factory's settings (its client name), on the factory's client
        assertThat(clientNames()).contains(clientName);
        LettuceConnectionFactory factory = data.getBean(LettuceConnectionFactory.class);
        assertThat(factory.getNativeClient()).isInstanceOf(RedisClient.class);

        data.close();   // the lock service first (releasing), then the factory it depends on
        assertThat(held.isHeld()).isFalse();
        assertThat(factory.isRunning()).isFalse();
        StepVerifier.create(b.tryAcquire(name).flatMap(h -> h.release().thenReturn(h.fencingToken())))
                .assertNext(token -> assertThat(token).isGreaterThan(held.fencingToken()))
                .expectComplete().verify(WAIT);
    }

    /** The names of the test server's client connections ({@code CLIENT LIST}). */
    private static List<String> clientNames() {
        RedisClient admin = RedisClient.create();
        try (StatefulRedisConnection<String, String> c = admin.connect(TestRedis.get().uri("rl-spring-admin"))) {
            List<String> names = new ArrayList<>();
            for (String line : c.sync().clientList().split("\n")) {
                for (String field : line.trim().split(" ")) {
                    if (field.startsWith("name=")) {
                        names.add(field.substring(5));
                    }
                }
            }
            return names;
        } finally {
            TestRedis.shutdown(admin);
        }
    }
}
