package dev.reactivelocks.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockService;
import dev.reactivelocks.micrometer.MeteredLockService;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.ConnectionFactory;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.connection.RedisClusterConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/** Every missing or contradictory property fails the startup with a report that names it. */
@ExtendWith(OutputCaptureExtension.class)
class LockServiceConfigurationFailureTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(ReactiveLocksAutoConfiguration.class))
            .withUserConfiguration(Connections.class);

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
        reactive-locks.type=file                                           | reactive-locks.file.directory | is required with reactive-locks.type=file
        reactive-locks.type=file,reactive-locks.file.directory=/dev/null   | reactive-locks.file.directory | is not a directory: /dev/null
        reactive-locks.type=redis                                          | reactive-locks.redis.url | is required with reactive-locks.type=redis when the application has no Spring Data Redis LettuceConnectionFactory bean
        reactive-locks.type=redis,reactive-locks.redis.url=http://x:1      | reactive-locks.redis.url | is not a Redis URI
        reactive-locks.lease=10s                                           | reactive-locks.lease | applies only to reactive-locks.type=postgres or redis, but reactive-locks.type=in-process
        reactive-locks.renew-every=1s                                      | reactive-locks.renew-every | applies only to reactive-locks.type=postgres or redis
        reactive-locks.poll-interval=1s,reactive-locks.type=file           | reactive-locks.poll-interval | applies only to reactive-locks.type=postgres or redis, but reactive-locks.type=file
        reactive-locks.file.directory=/tmp                                 | reactive-locks.file.directory | applies only to reactive-locks.type=file, but reactive-locks.type=in-process
        reactive-locks.postgres.table=locks,reactive-locks.type=redis      | reactive-locks.postgres.table | applies only to reactive-locks.type=postgres, but reactive-locks.type=redis
        reactive-locks.postgres.create-table=false                         | reactive-locks.postgres.create-table | applies only to reactive-locks.type=postgres
        reactive-locks.redis.url=redis://127.0.0.1                         | reactive-locks.redis.url | applies only to reactive-locks.type=redis
        reactive-locks.redis.key-prefix=p:,reactive-locks.type=postgres    | reactive-locks.redis.key-prefix | applies only to reactive-locks.type=redis, but reactive-locks.type=postgres
        reactive-locks.redis.restart-grace=0s,reactive-locks.type=file,reactive-locks.file.directory=/tmp | reactive-locks.redis.restart-grace | applies only to reactive-locks.type=redis, but reactive-locks.type=file
        reactive-locks.type=redis,reactive-locks.redis.url=redis://127.0.0.1,reactive-locks.redis.restart-grace=-1s | reactive-locks.redis.restart-grace | must be >= 0, was PT-1S
        reactive-locks.max-pending=5,reactive-locks.type=redis             | reactive-locks.max-pending | applies only to reactive-locks.type=in-process, but reactive-locks.type=redis
        reactive-locks.max-pending=-1                                      | reactive-locks.max-pending | must be >= 0, was -1
        reactive-locks.default-timeout=-1s                                 | reactive-locks.default-timeout | must be >= 0, was PT-1S
        reactive-locks.shutdown-timeout=-1s                                | reactive-locks.shutdown-timeout | must be >= 0, was PT-1S
        reactive-locks.prefix=                                             | reactive-locks.prefix | must not be empty
        reactive-locks.prefix=-                                            | reactive-locks.prefix | prefix must not be empty, was '-'
        reactive-locks.type=postgres,reactive-locks.lease=30000d           | reactive-locks.lease | must be shorter than 73 years, was PT720000H
        reactive-locks.type=postgres,reactive-locks.lease=0s               | reactive-locks.lease | must be > 0, was PT0S
        reactive-locks.type=postgres,reactive-locks.lease=500us            | reactive-locks.lease | must be >= 1ms, was PT0.0005S
        reactive-locks.type=postgres,reactive-locks.poll-interval=-1s      | reactive-locks.poll-interval | must be > 0, was PT-1S
        reactive-locks.type=postgres,reactive-locks.renew-every=30s        | reactive-locks.renew-every | must be less than reactive-locks.lease (PT30S), was PT30S
        reactive-locks.type=postgres,reactive-locks.lease=5s,reactive-locks.renew-every=6s | reactive-locks.renew-every | must be less than reactive-locks.lease (PT5S), was PT6S
        reactive-locks.type=postgres,reactive-locks.renew-every=100us      | reactive-locks.renew-every | must be >= PT0.001S, was PT0.0001S
        reactive-locks.type=postgres,reactive-locks.postgres.table=Bad-Name | reactive-locks.postgres.table | table must be a lower-case identifier
        reactive-locks.type=redis,reactive-locks.redis.url=redis://127.0.0.1,reactive-locks.redis.key-prefix=' a b ' | reactive-locks.redis.key-prefix | keyPrefix must be
        reactive-locks.type=redis,reactive-locks.redis.url=redis://127.0.0.1,reactive-locks.metrics.service-name= | reactive-locks.metrics.service-name | serviceName
        """)
    void failsAtStartupNamingTheProperty(String properties, String property, String problem) {
        runner.withPropertyValues(properties.split(","))
                .withUserConfiguration(LockServiceAutoConfigurationTest.Registry.class)
                .run(context -> {
                    assertThat(context).hasFailed();
                    FailureAnalysis analysis = new ReactiveLocksFailureAnalyzer().analyze(context.getStartupFailure());
                    assertThat(analysis).as("analysed").isNotNull();
                    assertThat(analysis.getDescription()).startsWith("Invalid property '" + property + "': ")
                            .contains(problem);
                    assertThat(analysis.getAction()).isNotBlank();
                });
    }

    @Test
    void postgresWithoutAConnectionFactoryNamesTheTypeProperty() {
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(ReactiveLocksAutoConfiguration.class))
                .withPropertyValues("reactive-locks.type=postgres")
                .run(context -> {
                    FailureAnalysis analysis = new ReactiveLocksFailureAnalyzer().analyze(context.getStartupFailure());
                    assertThat(analysis.getDescription()).isEqualTo("Invalid property 'reactive-locks.type': is "
                            + "postgres, but the application has no single R2DBC ConnectionFactory bean");
                    assertThat(analysis.getAction()).contains("ConnectionFactory bean");
                });
    }

    @Test
    void aLettuceConnectionFactoryForARedisClusterNamesTheUrlProperty() {
        runner.withPropertyValues("reactive-locks.type=redis")
                .withBean(LettuceConnectionFactory.class,
                        () -> new LettuceConnectionFactory(new RedisClusterConfiguration(List.of("127.0.0.1:1"))))
                .run(context -> {
                    FailureAnalysis analysis = new ReactiveLocksFailureAnalyzer().analyze(context.getStartupFailure());
                    assertThat(analysis.getDescription()).isEqualTo("Invalid property 'reactive-locks.redis.url': "
                            + "is required with reactive-locks.type=redis: the application's LettuceConnectionFactory "
                            + "is for a Redis Cluster, which the Redis lock backend does not support");
                    assertThat(analysis.getAction()).contains("standalone or Sentinel-managed Redis server");
                });
    }

    @Test
    void aServiceNameAlreadyMeteredInTheRegistryNamesTheMetricsProperty() {
        runner.withBean(MeterRegistry.class, () -> {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            MeteredLockService.of(LockService.inProcess(), registry, "default"); // the application's own
            return registry;
        }).run(context -> {
            FailureAnalysis analysis = new ReactiveLocksFailureAnalyzer().analyze(context.getStartupFailure());
            assertThat(analysis).as("analysed").isNotNull();
            assertThat(analysis.getDescription()).isEqualTo("Invalid property 'reactive-locks.metrics.service-name': "
                    + "Lock service 'default' is already metered in this registry; give each instrumented service "
                    + "its own serviceName, or dispose the previous one");
        });
    }

    @Test
    void anInvalidRedisUrlIsReportedWithoutItsPassword() {
        runner.withPropertyValues("reactive-locks.type=redis", "reactive-locks.redis.url=redis://:my secret@127.0.0.1:1")
                .run(context -> {
                    FailureAnalysis analysis = new ReactiveLocksFailureAnalyzer().analyze(context.getStartupFailure());
                    assertThat(analysis.getDescription()).isEqualTo("Invalid property 'reactive-locks.redis.url': "
                            + "is not a Redis URI: Illegal character in authority at index 8");
                    for (Throwable t = context.getStartupFailure(); t != null; t = t.getCause()) {
                        assertThat(String.valueOf(t.getMessage())).as("%s", t.getClass()).doesNotContain("secret");
                    }
                });
        assertThat(RedisBackends.withoutUserInfo("redis://user:p@ss@host:1/2")).isEqualTo("redis://****@host:1/2");
        assertThat(RedisBackends.withoutUserInfo("redis://host:1")).isEqualTo("redis://host:1");
    }

    /** With the application's own LockService, only the @WithLock methods use reactive-locks.* (the timeout). */
    @Test
    void aNegativeDefaultTimeoutFailsTheStartupAlsoWithTheApplicationsOwnService() {
        runner.withUserConfiguration(LockServiceAutoConfigurationTest.OwnService.class)
                .withBean(WithLockTest.Counter.class)
                .withPropertyValues("reactive-locks.default-timeout=-1s")
                .run(context -> {
                    FailureAnalysis analysis = new ReactiveLocksFailureAnalyzer().analyze(context.getStartupFailure());
                    assertThat(analysis).as("analysed").isNotNull();
                    assertThat(analysis.getDescription())
                            .isEqualTo("Invalid property 'reactive-locks.default-timeout': must be >= 0, was PT-1S");
                });
    }

    @Test
    void anUnknownTypeFailsTheBinding() {
        runner.withPropertyValues("reactive-locks.type=zookeeper").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).rootCause().hasMessageContaining("zookeeper");
            assertThat(context.getStartupFailure()).hasMessageContaining("reactive-locks");
        });
    }

    @Test
    void aFailedApplicationPrintsTheAnalysis(CapturedOutput output) {
        assertThatThrownBy(() -> new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE)
                .properties("reactive-locks.type=file", "spring.main.banner-mode=off",
                        "spring.main.log-startup-info=false").run().close())
                .isNotNull();
        assertThat(output).contains("APPLICATION FAILED TO START",
                "Invalid property 'reactive-locks.file.directory': is required with reactive-locks.type=file",
                "Set reactive-locks.file.directory to the directory of the lock files");
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {
    }

    @Configuration(proxyBeanMethods = false)
    static class Connections {
        /** Never connects: the failures happen before any use. */
        @Bean
        ConnectionFactory connectionFactory() {
            return new PostgresqlConnectionFactory(PostgresqlConnectionConfiguration.builder()
                    .host("127.0.0.1").username("postgres").database("test").build());
        }
    }
}
