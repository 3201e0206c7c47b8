package dev.reactivelocks.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.testkit.servers.TestPostgres;
import dev.reactivelocks.testkit.servers.TestServers;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.junit.jupiter.api.parallel.Resources;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * The examples of the testing guide ({@code docs/src/main/asciidoc/testing.adoc}), compiled and run; the
 * guide includes their tagged regions from this file.
 */
class TestingGuideExamplesTest {

    private static final Path GUIDE = Path.of("../docs/src/main/asciidoc/testing.adoc");
    private static final Path THIS_FILE =
            Path.of("src/test/java/dev/reactivelocks/testkit/TestingGuideExamplesTest.java");

    @Test
    void everyRegionTheGuideIncludesIsTaggedHere() throws IOException {
        Matcher include = Pattern.compile("include::\\{testkit-examples}/([^\\[]+)\\[tag=([^\\]]+)]")
                .matcher(Files.readString(GUIDE));
        String source = Files.readString(THIS_FILE);
        int includes = 0;
        while (include.find()) {
            includes++;
            assertThat(include.group(1)).isEqualTo(THIS_FILE.getFileName().toString());
            assertThat(source).contains("// tag::" + include.group(2) + "[]", "// end::" + include.group(2) + "[]");
        }
        assertThat(includes).isEqualTo(3);
    }

    // tag::temp-lock-dir[]
    @Nested
    @ResourceLock(Resources.SYSTEM_PROPERTIES) // exportProperty changes a System property
    class LockDirectoryPerTest {

        @TempLockDir(exportProperty = true)
        Path lockDir;

        @Test
        void eachTestGetsAPrivateLockDirectory(@TempLockDir Path sameDir) throws IOException {
            assertThat(sameDir).isEqualTo(lockDir);
            assertThat(Files.getPosixFilePermissions(lockDir))
                    .isEqualTo(PosixFilePermissions.fromString("rwx------"));
            assertThat(System.getProperty("reactivelocks.lock-dir")).isEqualTo(lockDir.toString());
        }
    }
    // end::temp-lock-dir[]

    // tag::lock-fixture[]
    @Nested
    class WhileAnotherRunHoldsTheReportLock {

        static final LockService locks = LockService.inProcess();

        @RegisterExtension
        final LockFixture reportLock = LockFixture.holding(locks, "report");

        /** The code under test: runs the report unless another run holds the lock. */
        Mono<String> runReportIfFree() {
            return locks.withLock("report", LockOptions.exclusive().timeout(Duration.ZERO), Mono.just("ran"))
                    .onErrorResume(LockTimeoutException.class, busy -> Mono.just("skipped"));
        }

        @Test
        void theReportIsSkipped() {
            StepVerifier.create(runReportIfFree())
                    .expectNext("skipped")
                    .expectComplete()
                    .verify(Duration.ofSeconds(5));
        }
    }
    // end::lock-fixture[]

    // tag::test-servers[]
    @Nested
    @ExtendWith(TestServers.class)
    class OnRealServers {

        @Test
        void theDatabaseAnswers(ConnectionFactory database) {
            Mono<Integer> one = Mono.usingWhen(database.create(),
                    c -> Mono.from(c.createStatement("SELECT 1").execute())
                            .flatMap(result -> Mono.from(result.map((row, meta) -> row.get(0, Integer.class)))),
                    Connection::close);
            StepVerifier.create(one).expectNext(1).expectComplete().verify(Duration.ofSeconds(10));
        }

        @Test
        void redisAnswers(RedisClient client, RedisURI server) {
            try (StatefulRedisConnection<String, String> connection = client.connect(server)) {
                StepVerifier.create(connection.reactive().ping())
                        .expectNext("PONG").expectComplete().verify(Duration.ofSeconds(10));
            }
        }

        @Test
        void whereTheServerComesFrom(TestPostgres postgres) {
            // CONFIGURED (REACTIVE_LOCKS_TEST_POSTGRES), LOCAL (127.0.0.1:5432) or EMBEDDED
            assertThat(postgres.r2dbcUrl()).startsWith("r2dbc:postgresql://");
        }
    }
    // end::test-servers[]
}
