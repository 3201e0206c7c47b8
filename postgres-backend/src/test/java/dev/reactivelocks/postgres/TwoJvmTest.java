package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.StoredLease;
import dev.reactivelocks.spi.StoredLock;
import dev.reactivelocks.testkit.servers.TestPostgres;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

/** Exclusion and takeover between this JVM and a child JVM ({@link LockHolderMain}) on one table. */
class TwoJvmTest {

    private static final Duration LEASE = Duration.ofMillis(1500);
    /** The child's lease: long enough to survive scheduling hiccups of a busy machine, renewed every tenth. */
    private static final Duration CHILD_LEASE = Duration.ofSeconds(4);
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    private static PostgresqlConnectionFactory admin;
    private static PostgresLockConfig config;
    private static ConnectionPool pool;
    private static PostgresLockBackend backend;
    private static DistributedLockService locks;

    private final List<Process> children = new ArrayList<>();

    @BeforeAll
    static void setUp() {
        admin = PostgresTestSupport.factory("rl-parent");
        config = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("jvm")).build();
        pool = PostgresTestSupport.pool(admin);
        backend = PostgresLockBackend.create(pool, config);
        locks = DistributedLockService.builder(backend).lease(LEASE).renewEvery(Duration.ofMillis(300))
                .pollInterval(Duration.ofMillis(200)).build();
    }

    @AfterAll
    static void tearDown() {
        locks.disposeLater().block(TIMEOUT);
        backend.close().block(TIMEOUT);
        pool.disposeLater().block(TIMEOUT);
        PostgresTestSupport.dropSchema(admin, config);
    }

    @AfterEach
    void killChildren() {
        children.forEach(Process::destroyForcibly);
    }

    private Process startHolder(String name) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder builder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                LockHolderMain.class.getName(), config.table(), name, Long.toString(CHILD_LEASE.toMillis()))
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        builder.environment().put(TestPostgres.VARIABLE, TestPostgres.get().r2dbcUrl());   // this JVM's server
        Process p = builder.start();
        children.add(p);
        return p;
    }

    private static String readLine(BufferedReader out) throws Exception {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return out.readLine();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, r -> new Thread(r, "child-stdout").start()).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    @Test
    void aLockHeldByAnotherJvmExcludesThisOneUntilItIsReleased() throws Exception {
        Process child = startHolder("shared-job");
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String acquired = readLine(out);
        assertThat(acquired).startsWith("ACQUIRED ");
        long childToken = Long.parseLong(acquired.substring("ACQUIRED ".length()));

        StepVerifier.create(locks.tryAcquire("shared-job")).expectComplete().verify(TIMEOUT);
        List<LockHandle> granted = new ArrayList<>();
        Writer in = new OutputStreamWriter(child.getOutputStream(), StandardCharsets.UTF_8);
        StepVerifier.create(locks.acquire("shared-job", LockOptions.exclusive().timeout(TIMEOUT)))
                .expectSubscription()
                .expectNoEvent(Duration.ofSeconds(2))   // the child keeps holding
                .then(() -> {
                    try {
                        in.write("release\n");
                        in.flush();
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                })
                .recordWith(() -> granted)
                .expectNextCount(1)
                .verifyComplete();
        assertThat(readLine(out)).isEqualTo("RELEASED false");
        assertThat(child.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(child.exitValue()).isZero();
        assertThat(granted.get(0).fencingToken()).isGreaterThan(childToken);
        granted.get(0).release().block(TIMEOUT);
    }

    @Test
    void aKilledJvmLosesItsLockOneLeaseLater() throws Exception {
        Process child = startHolder("crash-job");
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String acquired = readLine(out);
        long childToken = Long.parseLong(acquired.substring("ACQUIRED ".length()));

        List<LockHandle> granted = new ArrayList<>();
        Instant[] childExpiry = new Instant[1];
        StepVerifier.create(locks.acquire("crash-job", LockOptions.exclusive().timeout(TIMEOUT)))
                .expectSubscription()
                .expectNoEvent(Duration.ofMillis(500))
                .then(() -> {
                    // the child's lease as the server saw it just before the kill; a renewal in between only
                    // moves the real end later
                    childExpiry[0] = lease("crash-job").expiresAt();
                    child.destroyForcibly();
                })
                .recordWith(() -> granted)
                .expectNextCount(1)
                .verifyComplete();
        assertThat(child.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(granted.get(0).fencingToken()).isGreaterThan(childToken);
        // taken over only once the dead holder's lease had ended, by the server's clock (granted before the
        // waiter's own timeout, which would have failed the acquisition instead)
        StoredLease taken = lease("crash-job");
        assertThat(taken.fencingToken()).isEqualTo(granted.get(0).fencingToken());
        assertThat(taken.grantedAt()).hasValueSatisfying(at -> assertThat(at).isAfterOrEqualTo(childExpiry[0]));
        granted.get(0).release().block(TIMEOUT);
    }

    /** The one live lease of {@code name}, read from the table. */
    private static StoredLease lease(String name) {
        StoredLock lock = backend.inspect(name).block(TIMEOUT);
        assertThat(lock).isNotNull();
        assertThat(lock.leases()).hasSize(1);
        return lock.leases().get(0);
    }
}
