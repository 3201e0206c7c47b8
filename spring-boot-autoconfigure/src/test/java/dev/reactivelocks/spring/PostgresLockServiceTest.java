package dev.reactivelocks.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.ForwardingLockService;
import dev.reactivelocks.postgres.PostgresLockConfig;
import dev.reactivelocks.testkit.servers.TestPostgres;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Result;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/** reactive-locks.type=postgres on the test server ({@link TestPostgres}: configured, local or embedded). */
class PostgresLockServiceTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private final String table = "rl_spring_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);

    @BeforeAll
    static void server() {
        TestPostgres.get();   // looked for (or started) here, on the test thread
    }

    /** The one place that connects to the test server. */
    static ConnectionFactory connectionFactory() {
        return TestPostgres.get().connectionFactory("rl-spring-test");
    }

    @Configuration(proxyBeanMethods = false)
    static class Connections {
        @Bean
        ConnectionFactory connectionFactory() {
            return PostgresLockServiceTest.connectionFactory();
        }
    }

    private ConfigurableApplicationContext start() {
        return new SpringApplicationBuilder(ReactiveLocksAutoConfiguration.class, Connections.class)
                .web(WebApplicationType.NONE)
                .properties("spring.config.import=classpath:guide/postgres.properties",   // the guide's sample
                        "reactive-locks.postgres.table=" + table, "reactive-locks.shutdown-timeout=100ms",
                        "spring.main.banner-mode=off",
                        "spring.main.log-startup-info=false")
                .run();
    }

    @AfterEach
    void dropTable() {
        ConnectionFactory factory = connectionFactory();
        Mono.usingWhen(factory.create(),
                c -> Flux.fromIterable(PostgresLockConfig.builder().table(table).build().dropDdl())
                        .concatMap(sql -> Flux.from(c.createStatement(sql).execute()).flatMap(Result::getRowsUpdated))
                        .then(),
                Connection::close).block(WAIT);
    }

    @Test
    void twoApplicationsExcludeEachOtherAndClosingOneReleasesItsLocks() {
        ConfigurableApplicationContext first = start();
        try (ConfigurableApplicationContext second = start()) {
            LockService a = first.getBean(LockService.class);
            LockService b = second.getBean(LockService.class);
            assertThat(ForwardingLockService.innermost(a)).isInstanceOf(DistributedLockService.class);
            LockHandle held = a.acquire("nightly").block(WAIT);
            assertThat(held.fencingToken()).isPositive();
            StepVerifier.create(b.tryAcquire("nightly")).expectComplete().verify(WAIT);

            first.close();
            assertThat(held.isHeld()).isFalse();
            StepVerifier.create(b.tryAcquire("nightly").flatMap(h -> h.release().thenReturn(h.fencingToken())))
                    .assertNext(token -> assertThat(token).isGreaterThan(held.fencingToken()))
                    .expectComplete().verify(WAIT);
        } finally {
            first.close();
        }
    }
}
